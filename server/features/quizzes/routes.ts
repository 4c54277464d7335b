import { type Context, Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { Deps } from "../../deps.ts";
import { AppError, validationFailed } from "../../lib/errors.ts";
import { bearerAuth, responses } from "../../lib/openapi.ts";
import { issuesToFields } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import { requireRole } from "../../middleware/require_role.ts";
import type { AppEnv } from "../../types.ts";
import { importQuestions, MAX_IMPORT_BYTES } from "./import.ts";
import { IMPORT_FORMATS } from "./question_model.ts";
import { paginate } from "../../lib/pagination.ts";
import { validate } from "../../lib/validation.ts";
import { MessageResponse } from "../../lib/openapi.ts";
import {
  CreateQuizBody,
  ListQuizzesQuery,
  QuizListResponse,
  QuizResponse,
  UpdateQuizBody,
} from "./schemas.ts";
import {
  createQuiz,
  deleteQuiz,
  listQuizzes,
  quizDetail,
  updateQuiz,
} from "./service.ts";

import { exportQuiz } from "./export.ts";
import { EXPORT_FORMATS } from "./exporters/mod.ts";

const QuizId = v.pipe(v.string(), v.minLength(1), v.maxLength(200));

const tags = ["Quizzes"];
const MULTIPART = /^multipart\/form-data/i;

const ImportOptionsSchema = v.object({
  programId: v.pipe(
    v.string("Name the program"),
    v.minLength(1, "Name the program"),
    v.maxLength(200),
  ),
  quizId: v.optional(v.pipe(v.string(), v.maxLength(200))),
  newQuizTitle: v.optional(
    v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(200)),
  ),
  format: v.optional(
    v.picklist(
      IMPORT_FORMATS,
      `format must be one of ${IMPORT_FORMATS.join(", ")}`,
    ),
  ),
  dryRun: v.optional(
    v.pipe(
      v.picklist(["true", "false", "1", "0"]),
      v.transform((s) => s === "true" || s === "1"),
    ),
  ),
});

const IssueSchema = v.object({ location: v.string(), message: v.string() });
const ImportResponse = v.object({
  success: v.literal(true),
  dryRun: v.boolean(),
  format: v.string(),
  quiz: v.nullable(v.object({ id: v.nullable(v.string()), title: v.string() })),
  created: v.number(),
  skipped: v.number(),
  warnings: v.array(IssueSchema),
  errors: v.array(IssueSchema),
});

/** The bank file and the options: multipart (`file` plus fields) or the raw body with query options. */
async function readImportRequest(c: Context<AppEnv>) {
  const type = c.req.header("content-type") ?? "";
  let fields: Record<string, string> = c.req.query();
  let bytes: Uint8Array;
  if (MULTIPART.test(type)) {
    const form = await c.req.formData().catch(() => {
      throw new AppError(
        400,
        "INVALID_FORM",
        "The multipart body could not be read",
      );
    });
    const file = form.get("file");
    if (!file || typeof file === "string") {
      throw validationFailed({
        file: "Attach the bank file in a field named file",
      });
    }
    bytes = new Uint8Array(await file.arrayBuffer());
    fields = { ...fields };
    for (const [key, value] of form.entries()) {
      if (typeof value === "string") fields[key] = value;
    }
  } else {
    bytes = new Uint8Array(await c.req.arrayBuffer());
  }
  if (bytes.byteLength > MAX_IMPORT_BYTES) {
    throw new AppError(
      413,
      "PAYLOAD_TOO_LARGE",
      `A bank file may be at most ${MAX_IMPORT_BYTES} bytes`,
      { maxBytes: MAX_IMPORT_BYTES },
    );
  }
  if (bytes.byteLength === 0) {
    throw validationFailed({ file: "The file is empty" });
  }
  let source: string;
  try {
    source = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new AppError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      "A bank file must be UTF-8 text",
    );
  }
  const options = v.safeParse(ImportOptionsSchema, fields);
  if (!options.success) {
    throw validationFailed(issuesToFields(options.issues as never));
  }
  return { source, options: options.output };
}

export function quizRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const signedIn = requireAuth(deps);
  const authors = requireRole("instructor", "admin");

  app.get(
    "/",
    describeRoute({
      tags,
      summary:
        "List quizzes: a program's (programId), or for admins all, instructors their programs', learners their enrolled programs'",
      security: bearerAuth,
      responses: responses({
        status: 200,
        description: "Quizzes, newest first",
        schema: QuizListResponse,
      }, [401, 404, 422]),
    }),
    signedIn,
    validate("query", ListQuizzesQuery),
    async (c) => {
      const query = c.req.valid("query");
      const { quizzes, total } = await listQuizzes(
        deps,
        c.get("auth").user,
        {
          ...(query.programId ? { programId: query.programId } : {}),
          ...(query.difficulty ? { difficulty: query.difficulty } : {}),
        },
        query,
      );
      return c.json({
        success: true as const,
        quizzes,
        pagination: paginate(c, query, total),
      });
    },
  );

  app.post(
    "/",
    describeRoute({
      tags,
      summary:
        "Create a quiz (program owner or admin) with inline questions (002's shape or the native one), bank questionIds, or a random draw",
      security: bearerAuth,
      responses: responses({
        status: 201,
        description: "Created",
        schema: QuizResponse,
      }, [401, 403, 404, 422]),
    }),
    signedIn,
    authors,
    validate("json", CreateQuizBody),
    async (c) => {
      const quiz = await createQuiz(
        deps,
        c.get("auth").user,
        c.req.valid("json"),
      );
      return c.json({ success: true as const, quiz }, 201);
    },
  );

  app.post(
    "/import",
    describeRoute({
      tags,
      summary:
        "Import a question bank (GIFT, Moodle XML, Aiken, CSV or JSON) into a program, and optionally a quiz",
      description:
        "Multipart with a `file` field and the options as fields, or the file as the raw body with the options in the query (`programId`, `quizId` | `newQuizTitle`, `format`, `dryRun`). All or nothing: any error is 422 IMPORT_FAILED listing every error with its line or question. Questions already in the program are skipped.",
      security: bearerAuth,
      responses: responses({
        status: 201,
        description: "Imported (200 for a dry run)",
        schema: ImportResponse,
      }, [400, 401, 403, 404, 413, 415, 422]),
    }),
    requireAuth(deps),
    requireRole("instructor", "admin"),
    async (c) => {
      const { source, options } = await readImportRequest(c);
      const report = await importQuestions(deps, c.get("auth").user, {
        programRef: options.programId,
        source,
        ...(options.quizId ? { quizId: options.quizId } : {}),
        ...(options.newQuizTitle ? { newQuizTitle: options.newQuizTitle } : {}),
        ...(options.format ? { format: options.format } : {}),
        ...(options.dryRun ? { dryRun: true } : {}),
      });
      if (!report.ok) {
        throw new AppError(
          422,
          "IMPORT_FAILED",
          `The file has ${report.errors.length} error${
            report.errors.length === 1 ? "" : "s"
          }; nothing was imported`,
          {
            format: report.format,
            errors: report.errors,
            warnings: report.warnings,
          },
        );
      }
      const { ok: _ok, ...body } = report;
      return c.json(
        { success: true as const, ...body },
        report.dryRun ? 200 : 201,
      );
    },
  );

  return app;
}

/** Reading, changing and deleting one quiz; registered after the static paths. */
export function quizItemRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const signedIn = requireAuth(deps);
  const param = validate("param", v.object({ id: QuizId }));

  app.get(
    "/:id/export",
    describeRoute({
      tags,
      summary:
        "Export a quiz's questions as GIFT or the native JSON (owner or admin); importing the file reproduces them",
      description:
        "GIFT cannot carry difficulty, points, tags, explanations or case-sensitive short answers; JSON carries everything.",
      security: bearerAuth,
      responses: {
        ...responses({ status: 200, description: "", schema: v.any() }, [
          401,
          403,
          404,
          422,
        ]),
        200: {
          description: "The bank file, as an attachment",
          content: {
            "text/plain": { schema: { type: "string" } },
            "application/json": { schema: { type: "object" } },
          },
        },
      },
    }),
    signedIn,
    param,
    validate(
      "query",
      v.object({
        format: v.optional(
          v.picklist(
            EXPORT_FORMATS,
            `format must be ${EXPORT_FORMATS.join(" or ")}`,
          ),
          "json",
        ),
      }),
    ),
    async (c) => {
      const file = await exportQuiz(
        deps,
        c.get("auth").user,
        c.req.valid("param").id,
        c.req.valid("query").format,
      );
      return c.body(file.body, 200, {
        "Content-Type": file.contentType,
        "Content-Disposition": `attachment; filename="${file.filename}"`,
      });
    },
  );

  app.get(
    "/:id",
    describeRoute({
      tags,
      summary: "A quiz's settings, without answers",
      security: bearerAuth,
      responses: responses({
        status: 200,
        description: "The quiz",
        schema: QuizResponse,
      }, [401, 404]),
    }),
    signedIn,
    param,
    async (c) =>
      c.json({
        success: true as const,
        quiz: await quizDetail(
          deps,
          c.get("auth").user,
          c.req.valid("param").id,
        ),
      }),
  );

  app.put(
    "/:id",
    describeRoute({
      tags,
      summary:
        "Change a quiz (owner or admin); questions/questionIds replace the fixed list, draw switches to random draws",
      description:
        "Attempts already started keep the questions they showed; changes apply to new attempts.",
      security: bearerAuth,
      responses: responses({
        status: 200,
        description: "The quiz",
        schema: QuizResponse,
      }, [401, 403, 404, 422]),
    }),
    signedIn,
    param,
    validate("json", UpdateQuizBody),
    async (c) =>
      c.json({
        success: true as const,
        quiz: await updateQuiz(
          deps,
          c.get("auth").user,
          c.req.valid("param").id,
          c.req.valid("json"),
        ),
      }),
  );

  app.delete(
    "/:id",
    describeRoute({
      tags,
      summary:
        "Delete a quiz (owner or admin); attempts and grades stay, it can no longer be started",
      security: bearerAuth,
      responses: responses({
        status: 200,
        description: "Deleted",
        schema: MessageResponse,
      }, [401, 403, 404]),
    }),
    signedIn,
    param,
    async (c) => {
      await deleteQuiz(deps, c.get("auth").user, c.req.valid("param").id);
      return c.json({ success: true as const, message: "Quiz deleted" });
    },
  );

  return app;
}
