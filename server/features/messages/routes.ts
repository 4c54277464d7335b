import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { Deps } from "../../deps.ts";
import { bearerAuth, responses } from "../../lib/openapi.ts";
import { pageQuery, paginate } from "../../lib/pagination.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import type { AppEnv } from "../../types.ts";
import { Id, PlainText } from "../practice/schemas.ts";
import {
  conversation,
  conversations,
  markConversationRead,
  sendMessage,
  toMessageResponse,
} from "./service.ts";

const tags = ["Messages"];
const MessageSchema = v.object({
  id: v.string(),
  senderId: v.string(),
  recipientId: v.string(),
  content: v.string(),
  readAt: v.nullable(v.string()),
  createdAt: v.string(),
});

/** Direct messages between a learner and an instructor, under /api/messages. */
export function messageRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.use("*", requireAuth(deps));

  app.get(
    "/",
    describeRoute({
      tags,
      summary: "Your conversations, most recent first, with unread counts",
      security: bearerAuth,
      responses: responses({
        description: "Conversations",
        schema: v.object({
          success: v.literal(true),
          unreadCount: v.number(),
        }),
      }, [401, 422]),
    }),
    validate("query", v.object(pageQuery(20))),
    async (c) => {
      const query = c.req.valid("query");
      const result = await conversations(deps, c.get("auth").user, query);
      return c.json({
        success: true,
        conversations: result.conversations,
        unreadCount: result.unreadCount,
        pagination: paginate(c, query, result.total),
      });
    },
  );

  app.get(
    "/:userId",
    describeRoute({
      tags,
      summary: "Your conversation with one person, newest first",
      security: bearerAuth,
      responses: responses({
        description: "Messages",
        schema: v.object({
          success: v.literal(true),
          messages: v.array(MessageSchema),
          unreadCount: v.number(),
        }),
      }, [401, 404, 422]),
    }),
    validate("param", v.object({ userId: Id })),
    validate("query", v.object(pageQuery(50))),
    async (c) => {
      const query = c.req.valid("query");
      const result = await conversation(
        deps,
        c.get("auth").user,
        c.req.valid("param").userId,
        query,
      );
      return c.json({
        success: true,
        with: result.with,
        messages: result.messages,
        unreadCount: result.unreadCount,
        pagination: paginate(c, query, result.total),
      });
    },
  );

  app.post(
    "/:userId",
    describeRoute({
      tags,
      summary:
        "Send a message (plain text) to someone you share a relationship or a session with",
      security: bearerAuth,
      responses: responses({
        status: 201,
        description: "Sent",
        schema: v.object({ success: v.literal(true), message: MessageSchema }),
      }, [401, 403, 404, 415, 422, 429]),
    }),
    validate("param", v.object({ userId: Id })),
    validate(
      "json",
      v.strictObject({ content: PlainText(5000, 1) }, "Unknown field"),
    ),
    async (c) => {
      const message = await sendMessage(
        deps,
        c.get("auth").user,
        c.req.valid("param").userId,
        c.req.valid("json").content,
      );
      return c.json(
        { success: true, message: toMessageResponse(message) },
        201,
      );
    },
  );

  app.put(
    "/:userId/read",
    describeRoute({
      tags,
      summary: "Mark everything this person sent you as read",
      security: bearerAuth,
      responses: responses({
        description: "Marked",
        schema: v.object({ success: v.literal(true), marked: v.number() }),
      }, [401, 404]),
    }),
    validate("param", v.object({ userId: Id })),
    async (c) =>
      c.json({
        success: true,
        marked: await markConversationRead(
          deps,
          c.get("auth").user,
          c.req.valid("param").userId,
        ),
      }),
  );
  return app;
}
