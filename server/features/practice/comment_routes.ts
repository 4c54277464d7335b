import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { Deps } from "../../deps.ts";
import { bearerAuth, MessageResponse, responses } from "../../lib/openapi.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import type { AppEnv } from "../../types.ts";
import { requestActor } from "../audit/service.ts";
import {
  deleteComment,
  replyToComment,
  toCommentResponse,
  updateComment,
} from "./comments.ts";
import { CommentSchema, Id, ReplyBody, UpdateCommentBody } from "./schemas.ts";

const tags = ["Practice recordings"];
const CommentResponse = v.object({
  success: v.literal(true),
  comment: CommentSchema,
});

/** 004's comment endpoints, under /api/comments. */
export function commentRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.use("*", requireAuth(deps));

  app.put(
    "/:id",
    describeRoute({
      tags,
      summary: "Edit your comment (content, category; a thread's timestamp)",
      security: bearerAuth,
      responses: responses(
        { description: "Updated", schema: CommentResponse },
        [401, 403, 404, 415, 422],
      ),
    }),
    validate("param", v.object({ id: Id })),
    validate("json", UpdateCommentBody),
    async (c) => {
      const comment = await updateComment(
        deps,
        c.get("auth").user,
        c.req.valid("param").id,
        c.req.valid("json"),
      );
      return c.json({ success: true, comment: toCommentResponse(comment) });
    },
  );

  app.delete(
    "/:id",
    describeRoute({
      tags,
      summary:
        "Delete a comment and its replies (its author, the recording's owner, or an admin)",
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
      await deleteComment(deps, requestActor(c, deps), c.req.valid("param").id);
      return c.json({ success: true, message: "Comment deleted" });
    },
  );

  app.post(
    "/:id/replies",
    describeRoute({
      tags,
      summary: "Reply to a comment (threads are one level deep)",
      security: bearerAuth,
      responses: responses(
        { status: 201, description: "Created", schema: CommentResponse },
        [401, 403, 404, 415, 422, 429],
      ),
    }),
    validate("param", v.object({ id: Id })),
    validate("json", ReplyBody),
    async (c) => {
      const reply = await replyToComment(
        deps,
        c.get("auth").user,
        c.req.valid("param").id,
        c.req.valid("json").content,
      );
      return c.json({ success: true, comment: toCommentResponse(reply) }, 201);
    },
  );
  return app;
}
