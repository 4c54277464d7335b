import { and, count, desc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import { QUESTION_STATUSES, questions } from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { conflict, notFound } from "../../lib/errors.ts";
import { bearerAuth, MessageResponse, responses } from "../../lib/openapi.ts";
import {
  offsetOf,
  pageQuery,
  paginate,
  PaginationSchema,
} from "../../lib/pagination.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import { requireRole } from "../../middleware/require_role.ts";
import type { AppEnv } from "../../types.ts";
import { type Actor, getEditableProgram } from "../programs/service.ts";
import { bankQuestionView, inCategory } from "./bank.ts";
import { generateDraftQuestions } from "./generate.ts";
import { DIFFICULTIES } from "./question_model.ts";

const tags = ["Question bank"];
const id = v.pipe(v.string(), v.minLength(1), v.maxLength(200));
const BankQuestion = v.looseObject({
  id: v.string(),
  status: v.string(),
  type: v.string(),
  text: v.string(),
});
const BankListResponse = v.object({
  success: v.literal(true),
  questions: v.array(BankQuestion),
  pagination: PaginationSchema,
});

/** A program's question bank for its owner: list, review AI drafts, generate drafts. */
export function bankRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const signedIn = requireAuth(deps);
  const authors = requireRole("instructor", "admin");

  /** The question and its program, if the actor may change that program. */
  async function editableQuestion(
    actor: Actor,
    questionId: string,
  ) {
    const [row] = await deps.db.select().from(questions).where(
      eq(questions.id, questionId),
    );
    if (!row) throw notFound("Question");
    await getEditableProgram(deps, actor, row.programId).catch(() => {
      throw notFound("Question");
    });
    return row;
  }

  app.get(
    "/questions",
    describeRoute({
      tags,
      summary:
        "A program's question bank with answers (owner or admin); filter by status (draft for AI drafts), category (and its subcategories), difficulty",
      security: bearerAuth,
      responses: responses({
        status: 200,
        description: "Questions, newest first",
        schema: BankListResponse,
      }, [401, 403, 404, 422]),
    }),
    signedIn,
    authors,
    validate(
      "query",
      v.object({
        ...pageQuery(20),
        programId: id,
        status: v.optional(v.picklist(QUESTION_STATUSES)),
        category: v.optional(v.pipe(v.string(), v.maxLength(500))),
        difficulty: v.optional(v.picklist(DIFFICULTIES)),
      }),
    ),
    async (c) => {
      const query = c.req.valid("query");
      const program = await getEditableProgram(
        deps,
        c.get("auth").user,
        query.programId,
      );
      const conditions = [eq(questions.programId, program.id)];
      if (query.status) conditions.push(eq(questions.status, query.status));
      if (query.difficulty) {
        conditions.push(eq(questions.difficulty, query.difficulty));
      }
      if (query.category) {
        conditions.push(inCategory(query.category));
      }
      const where = and(...conditions);
      const [rows, [total]] = await Promise.all([
        deps.db.select().from(questions).where(where)
          .orderBy(desc(questions.createdAt), desc(questions.id))
          .limit(query.limit).offset(offsetOf(query)),
        deps.db.select({ n: count() }).from(questions).where(where),
      ]);
      return c.json({
        success: true as const,
        questions: rows.map(bankQuestionView),
        pagination: paginate(c, query, total?.n ?? 0),
      });
    },
  );

  app.put(
    "/questions/:questionId",
    describeRoute({
      tags,
      summary:
        "Accept a draft into the bank (status active) or set a question aside (draft: no new attempt shows it)",
      security: bearerAuth,
      responses: responses({
        status: 200,
        description: "The question",
        schema: v.object({ success: v.literal(true), question: BankQuestion }),
      }, [401, 403, 404, 422]),
    }),
    signedIn,
    authors,
    validate("param", v.object({ questionId: id })),
    validate("json", v.object({ status: v.picklist(QUESTION_STATUSES) })),
    async (c) => {
      const row = await editableQuestion(
        c.get("auth").user,
        c.req.valid("param").questionId,
      );
      const status = c.req.valid("json").status;
      await deps.db.update(questions).set({ status, updatedAt: new Date() })
        .where(eq(questions.id, row.id));
      return c.json({
        success: true as const,
        question: bankQuestionView({ ...row, status }),
      });
    },
  );

  app.delete(
    "/questions/:questionId",
    describeRoute({
      tags,
      summary:
        "Discard a draft question (active questions are set aside, not deleted)",
      security: bearerAuth,
      responses: responses({
        status: 200,
        description: "Deleted",
        schema: MessageResponse,
      }, [401, 403, 404, 409]),
    }),
    signedIn,
    authors,
    validate("param", v.object({ questionId: id })),
    async (c) => {
      const row = await editableQuestion(
        c.get("auth").user,
        c.req.valid("param").questionId,
      );
      if (row.status !== "draft") {
        throw conflict(
          "QUESTION_ACTIVE",
          "Only drafts can be deleted; set an active question to draft to keep it out of new attempts",
        );
      }
      await deps.db.delete(questions).where(eq(questions.id, row.id));
      return c.json({ success: true as const, message: "Draft deleted" });
    },
  );

  app.post(
    "/generate",
    describeRoute({
      tags,
      summary:
        "Draft questions with the AI provider, stored as drafts for review (owner or admin)",
      description:
        "The provider's JSON is checked with the JSON import's schema; invalid items are reported in warnings. 503 AI_NOT_CONFIGURED names the variables to set; 502/504 when the provider fails.",
      security: bearerAuth,
      responses: responses({
        status: 201,
        description: "Drafts created",
        schema: v.object({
          success: v.literal(true),
          questions: v.array(BankQuestion),
          warnings: v.array(
            v.object({ location: v.string(), message: v.string() }),
          ),
        }),
      }, [401, 403, 404, 422, 502, 503, 504]),
    }),
    signedIn,
    authors,
    validate(
      "json",
      v.object({
        programId: id,
        topic: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(500)),
        difficulty: v.optional(
          v.picklist(DIFFICULTIES, "Must be easy, medium or hard"),
          "medium",
        ),
        count: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(1, "count is at least 1"),
            v.maxValue(20, "count is at most 20"),
          ),
          5,
        ),
      }),
    ),
    async (c) => {
      const drafts = await generateDraftQuestions(
        deps,
        c.get("auth").user,
        c.req.valid("json"),
      );
      return c.json({ success: true as const, ...drafts }, 201);
    },
  );

  return app;
}
