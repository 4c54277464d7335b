import {
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import { sql } from "drizzle-orm";
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

export const CERTIFICATE_ROLES = ["none", "required", "final"] as const;

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
  /** What passing it means for the certificate: nothing, a required quiz, or the final exam. */
  certificateRole: text("certificate_role", { enum: CERTIFICATE_ROLES })
    .notNull().default("none"),
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

export const ATTEMPT_MODES = ["exam", "practice"] as const;
export type AttemptMode = (typeof ATTEMPT_MODES)[number];
export const ATTEMPT_STATUSES = [
  "in_progress",
  "pending_review",
  "completed",
] as const;
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];

/** One question as an attempt showed it: the full question (answers included) and its order. */
export interface SnapshotQuestion {
  id: string;
  /** The question as it was when the attempt started; later edits do not change the grading. */
  question: Record<string, unknown>;
  /** Indexes into `choices`, in the order shown (choice types only). */
  optionOrder?: number[];
  /** The right-hand options of a matching question, in the order shown. */
  matchOptions?: string[];
}

/**
 * A learner's attempt at a quiz. `practice` attempts (learners without the exam simulator: the
 * program's free questions only) never count toward grades, retake limits or certificates.
 */
export const quizAttempts = sqliteTable("quiz_attempts", {
  id: text("id").primaryKey(),
  quizId: text("quiz_id").notNull().references(() => quizzes.id),
  userId: text("user_id").notNull().references(() => users.id),
  programId: text("program_id").notNull().references(() => programs.id),
  mode: text("mode", { enum: ATTEMPT_MODES }).notNull(),
  status: text("status", { enum: ATTEMPT_STATUSES }).notNull().default(
    "in_progress",
  ),
  snapshot: text("snapshot", { mode: "json" }).$type<SnapshotQuestion[]>()
    .notNull(),
  timeMultiplier: real("time_multiplier").notNull().default(1),
  startedAt: timestamp("started_at").notNull(),
  /** Null when the quiz is untimed. */
  expiresAt: timestamp("expires_at"),
  submittedAt: timestamp("submitted_at"),
  /** `submit`, or `deadline` when the server closed it with what was saved. */
  finishedBy: text("finished_by", { enum: ["submit", "deadline"] }),
  timeTakenSeconds: integer("time_taken_seconds"),
  score: real("score"),
  totalPoints: real("total_points"),
  scorePercentage: real("score_percentage"),
  passed: integer("passed", { mode: "boolean" }),
  correctCount: integer("correct_count"),
  incorrectCount: integer("incorrect_count"),
  gradedBy: text("graded_by").references(() => users.id),
  gradedAt: timestamp("graded_at"),
}, (t) => [
  index("quiz_attempts_user_quiz_idx").on(t.userId, t.quizId, t.startedAt),
  index("quiz_attempts_quiz_idx").on(t.quizId, t.status),
  index("quiz_attempts_open_idx").on(t.status, t.expiresAt),
  // At most one open attempt per learner and quiz, whatever races the client runs.
  uniqueIndex("quiz_attempts_one_open_idx").on(t.userId, t.quizId).where(
    sql`status = 'in_progress'`,
  ),
]);

export const ANSWER_OUTCOMES = [
  "correct",
  "partial",
  "incorrect",
  "unanswered",
  "pending",
  "ungraded",
] as const;
export type AnswerOutcome = (typeof ANSWER_OUTCOMES)[number];

/**
 * One row per question of an attempt: the saved response while it runs, the marks once graded.
 * Rows (not JSON on the attempt) so statistics are SQL aggregates.
 */
export const quizAttemptAnswers = sqliteTable("quiz_attempt_answers", {
  attemptId: text("attempt_id").notNull().references(() => quizAttempts.id, {
    onDelete: "cascade",
  }),
  questionId: text("question_id").notNull(),
  position: integer("position").notNull(),
  response: text("response", { mode: "json" }).$type<unknown>(),
  /** The response reduced to a comparable string (the chosen option's text): "most chosen wrong". */
  responseKey: text("response_key"),
  savedAt: timestamp("saved_at"),
  awarded: real("awarded"),
  maxPoints: real("max_points").notNull(),
  outcome: text("outcome", { enum: ANSWER_OUTCOMES }),
  /** An instructor's comment on an essay. */
  graderComment: text("grader_comment"),
}, (t) => [
  primaryKey({ columns: [t.attemptId, t.questionId] }),
  // On the question alone: grading rewrites `outcome` on every row of a submit, and an index that
  // included it moved 20 entries per submit (30 of its 48 written pages; BENCHMARKS.md).
  index("quiz_attempt_answers_question_idx").on(t.questionId),
]);

/** Extra time for a learner in a program (an accommodation set by its instructor or an admin). */
export const accommodations = sqliteTable("accommodations", {
  userId: text("user_id").notNull().references(() => users.id),
  programId: text("program_id").notNull().references(() => programs.id),
  timeMultiplier: real("time_multiplier").notNull(),
  note: text("note"),
  setBy: text("set_by").references(() => users.id),
  updatedAt: timestamp("updated_at").notNull(),
}, (t) => [primaryKey({ columns: [t.userId, t.programId] })]);

export type QuizAttempt = typeof quizAttempts.$inferSelect;
export type QuizAttemptAnswer = typeof quizAttemptAnswers.$inferSelect;
