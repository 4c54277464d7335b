import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Append-only record of what happened (`quiz.attempted`, `quiz.passed`, ...), written in the same
 * transaction as the change it describes. Certificates react to `quiz.passed`; analytics read them all.
 */
export const events = sqliteTable("events", {
  id: text("id").primaryKey(),
  type: text("type").notNull(),
  userId: text("user_id"),
  programId: text("program_id"),
  /** The record the event is about (an attempt, a payment...). */
  subjectId: text("subject_id"),
  payload: text("payload", { mode: "json" }).$type<Record<string, unknown>>()
    .notNull().default({}),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
}, (t) => [
  index("events_type_time_idx").on(t.type, t.createdAt),
  index("events_user_idx").on(t.userId, t.type),
]);

export type EventRow = typeof events.$inferSelect;
