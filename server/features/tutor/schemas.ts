import * as v from "valibot";
import { pageQuery, PaginationSchema } from "../../lib/pagination.ts";
import { stripControlChars } from "../../lib/plain_text.ts";

const id = v.pipe(
  v.string("Must be a string"),
  v.trim(),
  v.minLength(1, "Is required"),
  v.maxLength(200, "Must be at most 200 characters"),
);

export const MAX_QUESTION_CHARS = 4_000;

export const ChatBody = v.strictObject({
  message: v.pipe(
    v.string("Must be a string"),
    v.transform(stripControlChars),
    v.trim(),
    v.minLength(1, "Is required"),
    v.maxLength(
      MAX_QUESTION_CHARS,
      `Must be at most ${MAX_QUESTION_CHARS} characters`,
    ),
  ),
  programId: v.optional(id),
  sessionId: v.optional(id),
}, "Unknown field: use message, programId and sessionId");

export const FeedbackBody = v.strictObject({
  rating: v.picklist(["up", "down"], "Must be up or down"),
  comment: v.optional(v.pipe(
    v.string("Must be a string"),
    v.transform(stripControlChars),
    v.trim(),
    v.maxLength(2000, "Must be at most 2000 characters"),
  )),
}, "Unknown field: use rating and comment");

export const SessionParam = v.object({ sessionId: id });
export const MessageParam = v.object({ messageId: id });
export const SessionListQuery = v.object({ ...pageQuery(20) });

const Citation = v.object({
  lessonId: v.string(),
  title: v.string(),
  link: v.string(),
});
const Usage = v.object({
  used: v.number(),
  limit: v.number(),
  resetAt: v.string(),
});

export const ChatResponse = v.object({
  success: v.literal(true),
  response: v.string(),
  sessionId: v.string(),
  messageId: v.string(),
  timestamp: v.string(),
  citations: v.array(Citation),
  mode: v.picklist(["ai", "extractive", "cache"]),
  usage: Usage,
});

const Session = v.object({
  id: v.string(),
  title: v.string(),
  programId: v.nullable(v.string()),
  messageCount: v.number(),
  lastMessageAt: v.string(),
  createdAt: v.string(),
});
const Message = v.object({
  id: v.string(),
  role: v.picklist(["user", "assistant"]),
  content: v.string(),
  timestamp: v.string(),
  status: v.picklist(["complete", "failed"]),
  mode: v.nullable(v.string()),
  citations: v.array(Citation),
  errorCode: v.nullable(v.string()),
  rating: v.nullable(v.string()),
});

export const SessionListResponse = v.object({
  success: v.literal(true),
  sessions: v.array(Session),
  pagination: PaginationSchema,
});
export const SessionResponse = v.object({
  success: v.literal(true),
  session: v.object({ ...Session.entries, messages: v.array(Message) }),
});
export const FeedbackResponse = v.object({
  success: v.literal(true),
  message: v.string(),
  feedback: v.object({
    messageId: v.string(),
    rating: v.string(),
    comment: v.nullable(v.string()),
  }),
});
