import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
} from "drizzle-orm/sqlite-core";
import { programs } from "./catalog.ts";
import { users } from "./users.ts";

const timestamp = (name: string) => integer(name, { mode: "timestamp_ms" });

/** A learner's conversation with the tutor, optionally about one program. */
export const chatSessions = sqliteTable("chat_sessions", {
  id: text("id").primaryKey(),
  userId: text("user_id").notNull().references(() => users.id, {
    onDelete: "cascade",
  }),
  programId: text("program_id").references(() => programs.id, {
    onDelete: "set null",
  }),
  /** From the first question. */
  title: text("title").notNull(),
  messageCount: integer("message_count").notNull().default(0),
  lastMessageAt: timestamp("last_message_at").notNull(),
  createdAt: timestamp("created_at").notNull(),
}, (t) => [index("chat_sessions_user_idx").on(t.userId, t.lastMessageAt)]);

export const CHAT_ROLES = ["user", "assistant"] as const;
/** `failed`: the provider did not answer; the learner's message is kept all the same. */
export const CHAT_MESSAGE_STATUSES = ["complete", "failed"] as const;
/** Who answered: the provider, the lessons themselves (no provider), or the 7-day answer cache. */
export const ANSWER_MODES = ["ai", "extractive", "cache"] as const;
export type AnswerMode = (typeof ANSWER_MODES)[number];

export interface Citation {
  lessonId: string;
  title: string;
  link: string;
}

export const chatMessages = sqliteTable("chat_messages", {
  id: text("id").primaryKey(),
  sessionId: text("session_id").notNull().references(() => chatSessions.id, {
    onDelete: "cascade",
  }),
  role: text("role", { enum: CHAT_ROLES }).notNull(),
  content: text("content").notNull(),
  status: text("status", { enum: CHAT_MESSAGE_STATUSES }).notNull(),
  mode: text("mode", { enum: ANSWER_MODES }),
  citations: text("citations", { mode: "json" }).$type<Citation[]>().notNull()
    .default([]),
  /** Why an answer failed (AI_PROVIDER_ERROR, AI_PROVIDER_TIMEOUT). */
  errorCode: text("error_code"),
  promptTokens: integer("prompt_tokens"),
  completionTokens: integer("completion_tokens"),
  /** The learner's feedback on an answer (000). */
  rating: text("rating", { enum: ["up", "down"] }),
  feedbackComment: text("feedback_comment"),
  feedbackAt: timestamp("feedback_at"),
  createdAt: timestamp("created_at").notNull(),
}, (t) => [index("chat_messages_session_idx").on(t.sessionId, t.createdAt)]);

/** Tutor messages per learner and UTC day: the tier quota counts here, atomically. */
export const aiUsage = sqliteTable("ai_usage", {
  userId: text("user_id").notNull().references(() => users.id, {
    onDelete: "cascade",
  }),
  /** YYYY-MM-DD in UTC. */
  day: text("day").notNull(),
  messages: integer("messages").notNull().default(0),
}, (t) => [primaryKey({ columns: [t.userId, t.day] })]);

/** First answers to the same question in the same lesson context, kept 7 days (002 section 6). */
export const aiAnswerCache = sqliteTable("ai_answer_cache", {
  key: text("key").primaryKey(),
  programId: text("program_id"),
  answer: text("answer").notNull(),
  citations: text("citations", { mode: "json" }).$type<Citation[]>().notNull()
    .default([]),
  hits: integer("hits").notNull().default(0),
  createdAt: timestamp("created_at").notNull(),
  expiresAt: timestamp("expires_at").notNull(),
}, (t) => [index("ai_answer_cache_expiry_idx").on(t.expiresAt)]);

export type ChatSession = typeof chatSessions.$inferSelect;
export type ChatMessage = typeof chatMessages.$inferSelect;
