import { eq } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import { media } from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { AppError, notFound, validationFailed } from "../../lib/errors.ts";
import { readUpload } from "../../lib/forms.ts";
import { MEDIA_LIMITS } from "../../lib/media_limits.ts";
import { bearerAuth, MessageResponse, responses } from "../../lib/openapi.ts";
import { paginate } from "../../lib/pagination.ts";
import { sendStoredFile } from "../../lib/range.ts";
import { checkSignature } from "../../lib/signed_urls.ts";
import { issuesToFields, validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import type { AppEnv } from "../../types.ts";
import { requestActor } from "../audit/service.ts";
import { addComment, listComments, toCommentResponse } from "./comments.ts";
import { scoreSubmission, toRecordResponse } from "./records.ts";
import {
  CommentBody,
  CommentQuery,
  CommentSchema,
  Id,
  ListQuery,
  RecordBody,
  RecordSchema,
  ShareBody,
  SubmissionSchema,
  UpdateBody,
  UploadFields,
} from "./schemas.ts";
import * as practice from "./service.ts";

const tags = ["Practice recordings"];
const SubmissionResponse = v.object({
  success: v.literal(true),
  video: SubmissionSchema,
});
const SubmissionList = v.object({
  success: v.literal(true),
  videos: v.array(SubmissionSchema),
});

/** 004's video endpoints, for audio and video practice recordings, under /api/videos. */
export function practiceRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.use("*", requireAuth(deps));
  const one = async (c: Context<AppEnv>, id: string) => {
    const viewer = c.get("auth").user;
    const { submission } = await practice.getSubmission(deps, viewer, id);
    const [shaped] = await practice.toSubmissionResponses(deps, viewer, [
      submission,
    ]);
    const sharedWith = submission.ownerId === viewer.id
      ? (await practice.sharesOf(deps.db, submission.id)).map((share) => ({
        ...share,
        sharedAt: share.sharedAt.toISOString(),
      }))
      : undefined;
    return { ...shaped!, ...(sharedWith ? { sharedWith } : {}) };
  };

  app.post(
    "/",
    describeRoute({
      tags,
      summary:
        "Upload a practice recording (multipart `file`: audio or video, sniffed; private unless isPublic=true)",
      description:
        `Fields: title (required), description, pieceName, composer, practiceGoals, programId, isPublic. Audio up to ${
          MEDIA_LIMITS.audio / 1048576
        } MiB, video up to ${
          MEDIA_LIMITS.video / 1048576
        } MiB (and UPLOAD_LIMIT_BYTES). Processing (duration, thumbnail) runs in the background: status goes processing -> ready | error.`,
      security: bearerAuth,
      requestBody: {
        required: true,
        content: {
          "multipart/form-data": {
            schema: {
              type: "object",
              required: ["file", "title"],
              properties: {
                file: { type: "string", format: "binary" },
                title: { type: "string" },
                description: { type: "string" },
                pieceName: { type: "string" },
                composer: { type: "string" },
                practiceGoals: { type: "string" },
                programId: { type: "string" },
                isPublic: { type: "string", enum: ["true", "false"] },
              },
            },
          },
        },
      },
      responses: responses({
        status: 201,
        description: "Stored; processing",
        schema: SubmissionResponse,
      }, [400, 401, 404, 413, 415, 422]),
    }),
    async (c) => {
      const { file, fields } = await readUpload(c);
      const parsed = v.safeParse(UploadFields, fields);
      if (!parsed.success) {
        throw validationFailed(issuesToFields(parsed.issues));
      }
      const created = await practice.createSubmission(
        deps,
        c.get("auth").user,
        file,
        parsed.output,
      );
      return c.json({ success: true, video: await one(c, created.id) }, 201);
    },
  );

  const list = (shared: boolean) => async (c: Context<AppEnv>) => {
    const query = v.parse(ListQuery, c.req.query());
    const viewer = c.get("auth").user;
    const result = shared
      ? await practice.listSharedWithMe(deps, viewer, query)
      : await practice.listOwnSubmissions(deps, viewer, query);
    return c.json({
      success: true,
      videos: await practice.toSubmissionResponses(deps, viewer, result.items),
      pagination: paginate(c, query, result.total),
    });
  };
  app.get(
    "/",
    describeRoute({
      tags,
      summary: "Your recordings, newest first",
      security: bearerAuth,
      responses: responses({
        description: "Recordings",
        schema: SubmissionList,
      }, [
        401,
        422,
      ]),
    }),
    validate("query", ListQuery),
    list(false),
  );
  app.get(
    "/shared",
    describeRoute({
      tags,
      summary: "Recordings others shared with you",
      security: bearerAuth,
      responses: responses({
        description: "Recordings",
        schema: SubmissionList,
      }, [
        401,
        422,
      ]),
    }),
    validate("query", ListQuery),
    list(true),
  );

  app.get(
    "/:id",
    describeRoute({
      tags,
      summary:
        "A recording with signed, expiring playback links (owner, shared, teacher, public, admin)",
      security: bearerAuth,
      responses: responses({
        description: "The recording",
        schema: SubmissionResponse,
      }, [401, 404]),
    }),
    validate("param", v.object({ id: Id })),
    async (c) =>
      c.json({ success: true, video: await one(c, c.req.valid("param").id) }),
  );

  app.put(
    "/:id",
    describeRoute({
      tags,
      summary: "Edit a recording's details (owner)",
      security: bearerAuth,
      responses: responses({
        description: "Updated",
        schema: SubmissionResponse,
      }, [401, 403, 404, 415, 422]),
    }),
    validate("param", v.object({ id: Id })),
    validate("json", UpdateBody),
    async (c) => {
      const { id } = c.req.valid("param");
      await practice.updateSubmission(
        deps,
        c.get("auth").user,
        id,
        c.req.valid("json"),
      );
      return c.json({ success: true, video: await one(c, id) });
    },
  );

  app.delete(
    "/:id",
    describeRoute({
      tags,
      summary:
        "Delete a recording with its comments and scores (owner or admin)",
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
    validate("param", v.object({ id: Id })),
    async (c) => {
      await practice.deleteSubmission(
        deps,
        requestActor(c, deps),
        c.req.valid("param").id,
      );
      return c.json({ success: true, message: "Recording deleted" });
    },
  );

  app.post(
    "/:id/share",
    describeRoute({
      tags,
      summary:
        "Share a recording with one person (owner); they may view and comment",
      security: bearerAuth,
      responses: responses({ description: "Shared", schema: MessageResponse }, [
        401,
        403,
        404,
        409,
        415,
        422,
      ]),
    }),
    validate("param", v.object({ id: Id })),
    validate("json", ShareBody),
    async (c) => {
      const { shared } = await practice.shareSubmission(
        deps,
        c.get("auth").user,
        c.req.valid("param").id,
        c.req.valid("json").userId,
      );
      return c.json({
        success: true,
        message: shared
          ? "Recording shared"
          : "Already shared with this person",
      });
    },
  );

  app.delete(
    "/:id/share/:userId",
    describeRoute({
      tags,
      summary: "Stop sharing a recording with someone (owner)",
      security: bearerAuth,
      responses: responses(
        { description: "Unshared", schema: MessageResponse },
        [
          401,
          403,
          404,
        ],
      ),
    }),
    validate("param", v.object({ id: Id, userId: Id })),
    async (c) => {
      const { id, userId } = c.req.valid("param");
      await practice.unshareSubmission(deps, c.get("auth").user, id, userId);
      return c.json({ success: true, message: "No longer shared" });
    },
  );

  app.post(
    "/:id/comments",
    describeRoute({
      tags,
      summary:
        "Comment at a moment of the recording (timestamp in seconds, 0 to its duration)",
      security: bearerAuth,
      responses: responses({
        status: 201,
        description: "Created",
        schema: v.object({ success: v.literal(true), comment: CommentSchema }),
      }, [401, 403, 404, 415, 422, 429]),
    }),
    validate("param", v.object({ id: Id })),
    validate("json", CommentBody),
    async (c) => {
      const comment = await addComment(
        deps,
        c.get("auth").user,
        c.req.valid("param").id,
        c.req.valid("json"),
      );
      return c.json(
        { success: true, comment: toCommentResponse(comment) },
        201,
      );
    },
  );

  app.get(
    "/:id/comments",
    describeRoute({
      tags,
      summary:
        "A recording's comments in the order of the recording, each with its replies",
      security: bearerAuth,
      responses: responses({
        description: "Threads",
        schema: v.object({
          success: v.literal(true),
          comments: v.array(CommentSchema),
          total: v.number(),
        }),
      }, [401, 404, 422]),
    }),
    validate("param", v.object({ id: Id })),
    validate("query", CommentQuery),
    async (c) => {
      const result = await listComments(
        deps,
        c.get("auth").user,
        c.req.valid("param").id,
        c.req.valid("query"),
      );
      return c.json({ success: true, ...result });
    },
  );

  app.post(
    "/:id/progress-records",
    describeRoute({
      tags,
      summary:
        "Score a recording (an active teacher of its owner who can see it): rating 1-5, scores 1-100, notes",
      security: bearerAuth,
      responses: responses({
        status: 201,
        description: "Recorded",
        schema: v.object({ success: v.literal(true), record: RecordSchema }),
      }, [401, 403, 404, 415, 422]),
    }),
    validate("param", v.object({ id: Id })),
    validate("json", RecordBody),
    async (c) => {
      const record = await scoreSubmission(
        deps,
        c.get("auth").user,
        c.req.valid("param").id,
        c.req.valid("json"),
      );
      return c.json({ success: true, record: toRecordResponse(record) }, 201);
    },
  );
  return app;
}

/**
 * /media/signed/:mediaId[/thumbnail]: the bytes behind a signed link, with range requests. The
 * signature is the permission, so players (which send no Authorization header) can fetch it.
 */
export function signedMediaRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const serve = (variant?: "thumbnail") => async (c: Context<AppEnv>) => {
    const mediaId = c.req.param("id") ?? "";
    const path = `/media/signed/${mediaId}${variant ? `/${variant}` : ""}`;
    const check = checkSignature(deps.config.jwtSecret, path, {
      expires: c.req.query("expires"),
      signature: c.req.query("signature"),
    });
    if (check === "expired") {
      throw new AppError(
        403,
        "LINK_EXPIRED",
        "This link has expired; ask the API for the recording again for a fresh one",
      );
    }
    if (check === "invalid") throw notFound("Media");
    const [item] = await deps.db.select().from(media).where(
      eq(media.id, mediaId),
    );
    if (!item || item.deletedAt) throw notFound("Media");
    const chosen = variant ? item.variants[variant] : undefined;
    if (variant && !chosen) throw notFound("Media variant");
    const expires = Number(c.req.query("expires"));
    const maxAge = Math.max(0, expires - Math.floor(Date.now() / 1000));
    return await sendStoredFile(c, deps.storage, {
      key: chosen?.key ?? item.storageKey,
      mime: chosen?.mime ?? item.mime,
      etag: `"${chosen ? chosen.key.split("/").pop() : item.sha256}"`,
      cacheControl: `private, max-age=${maxAge}`,
    });
  };
  const describe = (summary: string) =>
    describeRoute({
      tags,
      summary,
      responses: {
        200: { description: "The whole file" },
        206: { description: "The requested byte range" },
        403: { description: "The link has expired (LINK_EXPIRED)" },
        404: { description: "No such file, or the signature does not match" },
        416: { description: "The range starts past the end of the file" },
      },
    });
  app.get(
    "/media/signed/:id",
    describe("A recording through a signed link (Range supported)"),
    serve(),
  );
  app.get(
    "/media/signed/:id/thumbnail",
    describe("A recording's thumbnail through a signed link"),
    serve("thumbnail"),
  );
  return app;
}
