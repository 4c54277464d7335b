import {
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import { programs } from "./catalog.ts";
import { users } from "./users.ts";

const timestamp = (name: string) => integer(name, { mode: "timestamp_ms" });

export const QUESTION_STATUSES = ["active", "draft"] as const;

/**
 * A program's question bank. The common fields are columns (filters, statistics); what differs by
 * type (choices, accepted answers, pairs) is `body`, a JSON object checked by QuestionSchema.
 */
export const questions = sqliteTable("questions", {
  id: text("id").primaryKey(),
  programId: text("program_id").notNull().references(() => programs.id),
  type: text("type").notNull(),
  title: text("title"),
  text: text("text").notNull(),
  format: text("format").notNull().default("plain"),
  /** `a/b/c`, as Moodle's `$CATEGORY:`; empty for the top. */
  category: text("category").notNull().default(""),
  difficulty: text("difficulty"),
  points: real("points").notNull().default(1),
  tags: text("tags", { mode: "json" }).$type<string[]>().notNull().default([]),
  body: text("body", { mode: "json" }).$type<Record<string, unknown>>()
    .notNull(),
  /** SHA-256 of the normalized question: importing the same question again finds it. */
  contentHash: text("content_hash").notNull(),
  /** AI-generated questions wait as drafts until an instructor accepts them. */
  status: text("status", { enum: QUESTION_STATUSES }).notNull().default(
    "active",
  ),
  createdBy: text("created_by").references(() => users.id),
  createdAt: timestamp("created_at").notNull(),
  updatedAt: timestamp("updated_at").notNull(),
}, (t) => [
  uniqueIndex("questions_program_hash_idx").on(t.programId, t.contentHash),
  index("questions_bank_idx").on(t.programId, t.category, t.difficulty),
]);

export const GRADING_METHODS = [
  "highest",
  "latest",
  "first",
  "average",
] as const;

export const quizzes = sqliteTable("quizzes", {
  id: text("id").primaryKey(),
  programId: text("program_id").notNull().references(() => programs.id),
  title: text("title").notNull(),
  description: text("description").notNull().default(""),
  difficulty: text("difficulty"),
  durationMinutes: integer("duration_minutes"),
  passingScore: integer("passing_score").notNull().default(70),
  isTimed: integer("is_timed", { mode: "boolean" }).notNull().default(false),
  allowRetake: integer("allow_retake", { mode: "boolean" }).notNull().default(
    true,
  ),
  showAnswersAfterSubmit: integer("show_answers_after_submit", {
    mode: "boolean",
  }).notNull().default(true),
  /** Null: no limit. */
  attemptsAllowed: integer("attempts_allowed"),
  cooldownMinutes: integer("cooldown_minutes").notNull().default(0),
  gradingMethod: text("grading_method", { enum: GRADING_METHODS }).notNull()
    .default("highest"),
  shuffleQuestions: integer("shuffle_questions", { mode: "boolean" }).notNull()
    .default(false),
  shuffleOptions: integer("shuffle_options", { mode: "boolean" }).notNull()
    .default(false),
  /** Null: the fixed list in quiz_questions; otherwise a fresh random draw per attempt. */
  drawCount: integer("draw_count"),
  drawCategory: text("draw_category"),
  drawDifficulty: text("draw_difficulty"),
  createdBy: text("created_by").references(() => users.id),
  createdAt: timestamp("created_at").notNull(),
  updatedAt: timestamp("updated_at").notNull(),
  deletedAt: timestamp("deleted_at"),
}, (t) => [index("quizzes_program_idx").on(t.programId)]);

export const quizQuestions = sqliteTable("quiz_questions", {
  quizId: text("quiz_id").notNull().references(() => quizzes.id, {
    onDelete: "cascade",
  }),
  questionId: text("question_id").notNull().references(() => questions.id),
  position: integer("position").notNull(),
}, (t) => [
  primaryKey({ columns: [t.quizId, t.questionId] }),
  index("quiz_questions_order_idx").on(t.quizId, t.position),
]);

export type QuestionRow = typeof questions.$inferSelect;
export type Quiz = typeof quizzes.$inferSelect;
