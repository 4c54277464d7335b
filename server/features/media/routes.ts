import { type Context, Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import { MEDIA_VISIBILITIES } from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { readUpload } from "../../lib/forms.ts";
import { sendStoredFile } from "../../lib/range.ts";
import { validationFailed } from "../../lib/errors.ts";
import { bearerAuth, MessageResponse, responses } from "../../lib/openapi.ts";
import { validate } from "../../lib/validation.ts";
import { optionalAuth, requireAuth, viewerOf } from "../../middleware/auth.ts";
import { requireRole } from "../../middleware/require_role.ts";
import type { AppEnv } from "../../types.ts";
import { findProgram } from "../programs/service.ts";
import * as mediaService from "./service.ts";

const tags = ["Media"];
const id = v.pipe(v.string(), v.maxLength(40));
const MediaSchema = v.object({
  id: v.string(),
  kind: v.string(),
  mime: v.string(),
  size: v.number(),
  title: v.nullable(v.string()),
  originalName: v.nullable(v.string()),
  visibility: v.string(),
  width: v.nullable(v.number()),
  height: v.nullable(v.number()),
  url: v.string(),
  variants: v.record(
    v.string(),
    v.object({ url: v.string(), width: v.number(), height: v.number() }),
  ),
  createdAt: v.string(),
});
const YEAR_SECONDS = 365 * 24 * 3600;

/** If-None-Match as RFC 9110 reads it: a list of tags, weak comparison, `*` for any. */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, "");
  return header.split(",").some((tag) =>
    tag.trim() === "*" || bare(tag) === bare(etag)
  );
}

/** Program media under /api/programs/:id/media. */
export function programMediaRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const signedIn = requireAuth(deps);
  const author = requireRole("instructor", "admin");
  const appUrl = deps.config.appUrl;

  app.post(
    "/:id/media",
    describeRoute({
      tags,
      summary:
        "Upload a program file (multipart `file`; images, PDF, audio, video; private unless visibility=public)",
      security: bearerAuth,
      requestBody: {
        required: true,
        content: {
          "multipart/form-data": {
            schema: {
              type: "object",
              required: ["file"],
              properties: {
                file: { type: "string", format: "binary" },
                title: { type: "string" },
                visibility: { type: "string", enum: [...MEDIA_VISIBILITIES] },
              },
            },
          },
        },
      },
      responses: responses({
        status: 201,
        description: "Stored",
        schema: v.object({ success: v.literal(true), media: MediaSchema }),
      }, [400, 401, 403, 404, 413, 415, 422]),
    }),
    signedIn,
    author,
    validate("param", v.object({ id })),
    async (c) => {
      const actor = c.get("auth").user;
      const programId = c.req.valid("param").id;
      const { file, fields } = await readUpload(c);
      const visibility = fields.visibility ?? "private";
      if (!(MEDIA_VISIBILITIES as readonly string[]).includes(visibility)) {
        throw validationFailed({ visibility: "Must be public or private" });
      }
      if ((fields.title ?? "").length > 200) {
        throw validationFailed({ title: "Must be at most 200 characters" });
      }
      const stored = await mediaService.uploadProgramMedia(
        deps,
        actor,
        programId,
        file,
        {
          visibility: visibility as "public" | "private",
          title: fields.title?.trim() || undefined,
        },
      );
      return c.json({
        success: true,
        media: mediaService.toMediaResponse(appUrl, stored),
      }, 201);
    },
  );

  app.get(
    "/:id/media",
    describeRoute({
      tags,
      summary: "A program's files (owner and admins)",
      security: bearerAuth,
      responses: responses({
        description: "Files",
        schema: v.object({
          success: v.literal(true),
          media: v.array(MediaSchema),
        }),
      }, [401, 403, 404]),
    }),
    signedIn,
    author,
    validate("param", v.object({ id })),
    async (c) => {
      const items = await mediaService.listProgramMedia(
        deps,
        c.get("auth").user,
        c.req.valid("param").id,
      );
      return c.json({
        success: true,
        media: items.map((item) => mediaService.toMediaResponse(appUrl, item)),
      });
    },
  );

  app.delete(
    "/:id/media/:mediaId",
    describeRoute({
      tags,
      summary: "Remove a program file (lessons that showed it lose it)",
      security: bearerAuth,
      responses: responses(
        { description: "Removed", schema: MessageResponse },
        [
          401,
          403,
          404,
        ],
      ),
    }),
    signedIn,
    author,
    validate("param", v.object({ id, mediaId: id })),
    async (c) => {
      const { id, mediaId } = c.req.valid("param");
      await mediaService.deleteProgramMedia(
        deps,
        c.get("auth").user,
        id,
        mediaId,
      );
      return c.json({ success: true, message: "Media removed" });
    },
  );

  return app;
}

/** The files themselves: /media/:id and /media/:id/thumbnail|display. */
export function mediaFileRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const serve =
    (variant?: "thumbnail" | "display") => async (c: Context<AppEnv>) => {
      const file = await mediaService.openMedia(
        deps,
        viewerOf(c),
        c.req.param("id") ?? "",
        variant,
        (programId) => findProgram(deps, programId),
      );
      const isPublic = file.item.visibility === "public";
      // A media record's bytes never change (content-addressed), so caches may keep them.
      const cacheControl = isPublic
        ? `public, max-age=${YEAR_SECONDS}, immutable`
        : "private, max-age=3600";
      if (matchesEtag(c.req.header("if-none-match"), file.etag)) {
        return c.body(null, 304, {
          ETag: file.etag,
          "Cache-Control": cacheControl,
        });
      }
      return await sendStoredFile(c, deps.storage, {
        key: file.key,
        mime: file.mime,
        etag: file.etag,
        cacheControl,
      });
    };

  const describe = (summary: string) =>
    describeRoute({
      tags,
      summary,
      responses: {
        200: { description: "The file, with its sniffed content type" },
        206: { description: "The requested byte range (Range: bytes=…)" },
        416: { description: "The range starts past the end of the file" },
        304: { description: "Not modified" },
        404: { description: "Not found (or private and not yours)" },
      },
    });
  app.get(
    "/media/:id",
    describe("A stored file (images: the display-size WebP)"),
    optionalAuth(deps),
    serve(),
  );
  app.get(
    "/media/:id/thumbnail",
    describe("An image's thumbnail (WebP, 320 px)"),
    optionalAuth(deps),
    serve("thumbnail"),
  );
  app.get(
    "/media/:id/display",
    describe("An image's display size (WebP, 1280 px)"),
    optionalAuth(deps),
    serve("display"),
  );
  return app;
}
