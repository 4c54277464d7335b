import { Hono } from "hono";
import { requestActor } from "../audit/service.ts";
import { describeRoute } from "hono-openapi";
import type { Deps } from "../../deps.ts";
import { parseJsonOrForm } from "../../lib/forms.ts";
import { GenerationCache } from "../../lib/generation_cache.ts";
import {
  bearerAuth,
  MessageResponse,
  requestBody,
  responses,
} from "../../lib/openapi.ts";
import { paginate } from "../../lib/pagination.ts";
import { validate } from "../../lib/validation.ts";
import { optionalAuth, requireAuth, viewerOf } from "../../middleware/auth.ts";
import { clientIp } from "../../lib/client_ip.ts";
import { viewRecorderFor } from "../analytics/views.ts";
import { requireRole } from "../../middleware/require_role.ts";
import type { AppEnv } from "../../types.ts";
import { storeUpload } from "../media/service.ts";
import { programDetail, programPage } from "./detail.ts";
import {
  CreateProgramBody,
  IdOrSlugParam,
  IdParam,
  ListProgramsQuery,
  ProgramDetailResponse,
  ProgramListResponse,
  ProgramResponse,
  UpdateProgramBody,
} from "./schemas.ts";
import * as programs from "./service.ts";

const tags = ["Programs"];
const FORM_FIELDS = {
  json: [
    "pricing",
    "prerequisites",
    "features",
    "certificateRule",
    "certificateValidityDays",
  ],
  number: ["freeQuestionsCount"],
  boolean: ["featured"],
} as const;

export function programRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const views = viewRecorderFor(deps);
  // Anonymous catalog pages are the hottest read; they are cached until the next write.
  const publicPages = new GenerationCache<{ body: unknown; link: string }>(
    deps.writes,
    { ttlMs: 30_000, maxEntries: 2_000 },
  );
  const signedIn = requireAuth(deps);
  const author = requireRole("instructor", "admin");

  /** A multipart `thumbnail` file becomes an image upload whose id the program then points at. */
  const withThumbnail = async <
    T extends {
      thumbnailMediaId?: string | null | undefined;
      category?: string | undefined;
      featured?: boolean | undefined;
    },
  >(
    actor: programs.Actor,
    parsed: {
      input: T;
      files: Record<string, { bytes: Uint8Array; name: string }>;
    },
  ): Promise<T> => {
    const file = parsed.files.thumbnail;
    if (!file) return parsed.input;
    await programs.precheckProgramInput(deps, actor, parsed.input);
    const stored = await storeUpload(deps, actor, file, {
      visibility: "public",
      imagesOnly: true,
    });
    return { ...parsed.input, thumbnailMediaId: stored.id };
  };

  app.get(
    "/",
    describeRoute({
      tags,
      summary:
        "List programs: filters, search, sort and pagination (published ones; own drafts for instructors; everything for admins)",
      responses: responses({
        description: "A page of programs",
        schema: ProgramListResponse,
      }, [400, 401, 422]),
    }),
    optionalAuth(deps),
    validate("query", ListProgramsQuery),
    async (c) => {
      const viewer = viewerOf(c);
      const filter = c.req.valid("query");
      const anonymous = !viewer || viewer.role === "student";
      const key = anonymous ? JSON.stringify(filter) : undefined;
      const cached = key ? publicPages.get(key) : undefined;
      if (cached) {
        c.header("Link", cached.link);
        return c.json(cached.body as never);
      }
      const generation = publicPages.generation;
      const { rows, total } = await programs.listPrograms(deps, viewer, filter);
      const pagination = paginate(c, filter, total);
      const body = {
        success: true as const,
        programs: rows.map((row) =>
          programs.toProgramSummary(deps.config.appUrl, row)
        ),
        pagination: { ...pagination, totalPrograms: total },
      };
      if (key) {
        publicPages.set(
          key,
          { body, link: c.res.headers.get("Link") ?? "" },
          generation,
        );
      }
      return c.json(body);
    },
  );

  app.get(
    "/:idOrSlug",
    describeRoute({
      tags,
      summary: "One program by id or slug, with its curriculum outline",
      responses: responses({
        description: "The program",
        schema: ProgramDetailResponse,
      }, [401, 404]),
    }),
    optionalAuth(deps),
    validate("param", IdOrSlugParam),
    async (c) => {
      const viewer = viewerOf(c);
      const page = await programPage(
        deps,
        viewer,
        c.req.valid("param").idOrSlug,
      );
      // Neither the program's instructor nor an administrator is a prospective learner.
      if (
        page.program.status === "published" &&
        viewer?.role !== "admin" && viewer?.id !== page.program.instructor.id
      ) {
        views.record(page.program.id, {
          ...(viewer ? { userId: viewer.id } : {}),
          ip: clientIp(c, deps.config.trustProxy),
        });
      }
      return c.json({ success: true, ...page });
    },
  );

  app.post(
    "/",
    describeRoute({
      tags,
      summary:
        "Create a program (JSON, or multipart with a `thumbnail` image file)",
      security: bearerAuth,
      requestBody: requestBody(CreateProgramBody, {
        files: {
          thumbnail: "Image for the catalog card (sniffed, EXIF stripped)",
        },
      }),
      responses: responses({
        status: 201,
        description: "Created",
        schema: ProgramResponse,
      }, [400, 401, 403, 413, 415, 422]),
    }),
    signedIn,
    author,
    async (c) => {
      const actor = requestActor(c, deps);
      const parsed = await parseJsonOrForm(c, CreateProgramBody, FORM_FIELDS);
      const created = await programs.createProgram(
        deps,
        actor,
        await withThumbnail(actor, parsed),
      );
      return c.json({
        success: true,
        program: await programDetail(deps, created),
      }, 201);
    },
  );

  app.put(
    "/:id",
    describeRoute({
      tags,
      summary:
        "Update a program (owner or admin; JSON, or multipart with a `thumbnail`)",
      security: bearerAuth,
      requestBody: requestBody(UpdateProgramBody, {
        files: { thumbnail: "A new catalog image" },
      }),
      responses: responses({
        description: "Updated",
        schema: ProgramResponse,
      }, [400, 401, 403, 404, 413, 415, 422]),
    }),
    signedIn,
    author,
    validate("param", IdParam),
    async (c) => {
      const actor = requestActor(c, deps);
      const { id } = c.req.valid("param");
      // Ownership first, so nobody's upload is stored for a program they cannot change.
      await programs.getEditableProgram(deps, actor, id);
      const parsed = await parseJsonOrForm(c, UpdateProgramBody, FORM_FIELDS);
      const updated = await programs.updateProgram(
        deps,
        actor,
        id,
        await withThumbnail(actor, parsed),
      );
      return c.json({
        success: true,
        program: await programDetail(deps, updated),
      });
    },
  );

  app.delete(
    "/:id",
    describeRoute({
      tags,
      summary:
        "Soft-delete a program: it leaves the catalog; enrollments, certificates and history stay",
      security: bearerAuth,
      responses: responses(
        { description: "Deleted", schema: MessageResponse },
        [
          401,
          403,
          404,
        ],
      ),
    }),
    signedIn,
    author,
    validate("param", IdParam),
    async (c) => {
      await programs.deleteProgram(
        deps,
        requestActor(c, deps),
        c.req.valid("param").id,
      );
      return c.json({ success: true, message: "Program deleted" });
    },
  );

  return app;
}
