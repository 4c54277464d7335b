import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { describeRoute } from "hono-openapi";
import type { Deps } from "../../deps.ts";
import { AppError } from "../../lib/errors.ts";
import { bearerAuth, MessageResponse, responses } from "../../lib/openapi.ts";
import { paginate } from "../../lib/pagination.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import type { AppEnv } from "../../types.ts";
import { answerChat, prepareChat } from "./chat.ts";
import {
  ChatBody,
  ChatResponse,
  FeedbackBody,
  FeedbackResponse,
  MessageParam,
  SessionListQuery,
  SessionListResponse,
  SessionParam,
  SessionResponse,
} from "./schemas.ts";
import {
  deleteSession,
  getSession,
  listSessions,
  messageView,
  rateMessage,
  sessionView,
} from "./sessions.ts";

const tags = ["AI tutor"];

/** /api/ai: the tutor's chat, its sessions and feedback on answers. */
export function tutorRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const signedIn = requireAuth(deps);

  app.post(
    "/chat",
    describeRoute({
      tags,
      summary: "Ask the tutor (002), grounded in the program's lessons",
      description:
        "Needs `chatbot` access to the program (402 otherwise); without `programId` the tutor searches the programs you study with that access. Your message is stored before the provider is called. `mode` says who answered: `ai`, `extractive` (no provider configured: the matching lesson passages, labelled), or `cache` (the same first question in the same lesson context within 7 days; not counted against the quota). Daily messages per plan (free 10, basic 100, premium unlimited, per UTC day): 429 `AI_DAILY_LIMIT` with `resetAt` and `upgradeUrl`. With `Accept: text/event-stream` the answer streams as server-sent events: `token` events ({text}), then `done` ({sessionId, messageId, citations, mode, usage}), or `error` ({code, message}). Provider failure: 502 `AI_PROVIDER_ERROR` or 504 `AI_PROVIDER_TIMEOUT`, the message kept and not counted. With `AI_MODERATION=on`, flagged input is 422 `CONTENT_FLAGGED` and never sent.",
      security: bearerAuth,
      responses: responses({
        description: "The answer",
        schema: ChatResponse,
      }, [401, 402, 404, 422, 429, 502, 503]),
    }),
    signedIn,
    validate("json", ChatBody),
    async (c) => {
      const prepared = await prepareChat(
        deps,
        c.get("auth").user,
        c.req.valid("json"),
      );
      const accept = c.req.header("accept") ?? "";
      if (!accept.includes("text/event-stream")) {
        const answer = await answerChat(deps, prepared);
        const { userMessageId: _, ...body } = answer;
        return c.json({ success: true as const, ...body });
      }
      return streamSSE(c, async (stream) => {
        try {
          const answer = await answerChat(
            deps,
            prepared,
            (text) =>
              stream.writeSSE({
                event: "token",
                data: JSON.stringify({ text }),
              }),
          );
          await stream.writeSSE({
            event: "done",
            data: JSON.stringify({
              sessionId: answer.sessionId,
              messageId: answer.messageId,
              timestamp: answer.timestamp,
              citations: answer.citations,
              mode: answer.mode,
              usage: answer.usage,
            }),
          });
        } catch (error) {
          const failure = error instanceof AppError ? error : new AppError(
            500,
            "INTERNAL_ERROR",
            "Something went wrong on our side",
          );
          if (!(error instanceof AppError)) {
            deps.logger.error("tutor stream failed", { error: String(error) });
          }
          await stream.writeSSE({
            event: "error",
            data: JSON.stringify({
              code: failure.code,
              message: failure.message,
              details: failure.details,
            }),
          });
        }
      });
    },
  );

  app.get(
    "/chat/sessions",
    describeRoute({
      tags,
      summary: "My tutor sessions, most recent first (002)",
      security: bearerAuth,
      responses: responses({
        description: "Sessions",
        schema: SessionListResponse,
      }, [401, 422]),
    }),
    signedIn,
    validate("query", SessionListQuery),
    async (c) => {
      const query = c.req.valid("query");
      const list = await listSessions(deps.db, c.get("auth").user.id, query);
      return c.json({
        success: true as const,
        sessions: list.rows.map(sessionView),
        pagination: paginate(c, query, list.total),
      });
    },
  );

  app.get(
    "/chat/sessions/:sessionId",
    describeRoute({
      tags,
      summary: "One of my sessions with every message (002)",
      description:
        "Failed answers are listed with `status: failed` and their `errorCode`; your messages are always there.",
      security: bearerAuth,
      responses: responses({
        description: "The session",
        schema: SessionResponse,
      }, [401, 404]),
    }),
    signedIn,
    validate("param", SessionParam),
    async (c) => {
      const { session, messages } = await getSession(
        deps.db,
        c.get("auth").user.id,
        c.req.valid("param").sessionId,
      );
      return c.json({
        success: true as const,
        session: {
          ...sessionView(session),
          messages: messages.map(messageView),
        },
      });
    },
  );

  app.delete(
    "/chat/sessions/:sessionId",
    describeRoute({
      tags,
      summary: "Delete one of my sessions and its messages (002)",
      security: bearerAuth,
      responses: responses({
        description: "Deleted",
        schema: MessageResponse,
      }, [401, 404]),
    }),
    signedIn,
    validate("param", SessionParam),
    async (c) => {
      await deleteSession(
        deps.db,
        c.get("auth").user.id,
        c.req.valid("param").sessionId,
      );
      return c.json({ success: true as const, message: "Session deleted" });
    },
  );

  app.post(
    "/chat/messages/:messageId/feedback",
    describeRoute({
      tags,
      summary:
        "Rate one of the tutor's answers (000): up or down, with a comment",
      description: "Rating again replaces the earlier rating.",
      security: bearerAuth,
      responses: responses({
        description: "Saved",
        schema: FeedbackResponse,
      }, [401, 404, 422]),
    }),
    signedIn,
    validate("param", MessageParam),
    validate("json", FeedbackBody),
    async (c) => {
      const rated = await rateMessage(
        deps.db,
        c.get("auth").user.id,
        c.req.valid("param").messageId,
        c.req.valid("json"),
      );
      return c.json({
        success: true as const,
        message: "Thank you for the feedback",
        feedback: {
          messageId: rated.id,
          rating: rated.rating!,
          comment: rated.feedbackComment,
        },
      });
    },
  );

  return app;
}
