import {
  index,
  integer,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import { media, programs } from "./catalog.ts";
import { users } from "./users.ts";

const timestamp = (name: string) => integer(name, { mode: "timestamp_ms" });

export const RELATIONSHIP_STATUSES = [
  "pending",
  "active",
  "declined",
  "removed",
] as const;
export type RelationshipStatus = (typeof RELATIONSHIP_STATUSES)[number];

/** 004's student_teacher_relationships: one row per pair, whoever asked first. */
export const relationships = sqliteTable("relationships", {
  id: text("id").primaryKey(),
  studentId: text("student_id").notNull().references(() => users.id, {
    onDelete: "cascade",
  }),
  teacherId: text("teacher_id").notNull().references(() => users.id, {
    onDelete: "cascade",
  }),
  status: text("status", { enum: RELATIONSHIP_STATUSES }).notNull(),
  /** Who sent the pending request; the other person answers it. */
  requestedBy: text("requested_by").notNull().references(() => users.id),
  message: text("message"),
  createdAt: timestamp("created_at").notNull(),
  updatedAt: timestamp("updated_at").notNull(),
}, (t) => [
  uniqueIndex("relationships_pair").on(t.studentId, t.teacherId),
  index("relationships_teacher_idx").on(t.teacherId, t.status),
]);

export const SUBMISSION_STATUSES = ["processing", "ready", "error"] as const;
export type SubmissionStatus = (typeof SUBMISSION_STATUSES)[number];

/** 004's videos, for audio too: a practice recording a learner asks feedback on. */
export const practiceSubmissions = sqliteTable("practice_submissions", {
  id: text("id").primaryKey(),
  ownerId: text("owner_id").notNull().references(() => users.id, {
    onDelete: "cascade",
  }),
  programId: text("program_id").references(() => programs.id, {
    onDelete: "set null",
  }),
  /** The recording itself, a private media record (kind audio or video). */
  mediaId: text("media_id").notNull().references(() => media.id),
  title: text("title").notNull(),
  description: text("description"),
  pieceName: text("piece_name"),
  composer: text("composer"),
  practiceGoals: text("practice_goals"),
  isPublic: integer("is_public", { mode: "boolean" }).notNull().default(false),
  status: text("status", { enum: SUBMISSION_STATUSES }).notNull(),
  /** Why processing failed, or what it could not do (no ffmpeg on the server). */
  statusDetail: text("status_detail"),
  durationSeconds: real("duration_seconds"),
  processingAttempts: integer("processing_attempts").notNull().default(0),
  createdAt: timestamp("created_at").notNull(),
  updatedAt: timestamp("updated_at").notNull(),
}, (t) => [
  index("practice_submissions_owner_idx").on(t.ownerId, t.createdAt),
  index("practice_submissions_status_idx").on(t.status),
]);

export const submissionShares = sqliteTable("submission_shares", {
  submissionId: text("submission_id").notNull().references(
    () => practiceSubmissions.id,
    { onDelete: "cascade" },
  ),
  userId: text("user_id").notNull().references(() => users.id, {
    onDelete: "cascade",
  }),
  createdAt: timestamp("created_at").notNull(),
}, (t) => [
  uniqueIndex("submission_shares_pair").on(t.submissionId, t.userId),
  index("submission_shares_user_idx").on(t.userId, t.createdAt),
]);

export const COMMENT_CATEGORIES = [
  "general",
  "technique",
  "musicality",
  "rhythm",
  "intonation",
  "tone",
  "posture",
  "praise",
] as const;
export type CommentCategory = (typeof COMMENT_CATEGORIES)[number];

/** A remark at a moment of a recording; replies point at a top-level comment. */
export const submissionComments = sqliteTable("submission_comments", {
  id: text("id").primaryKey(),
  submissionId: text("submission_id").notNull().references(
    () => practiceSubmissions.id,
    { onDelete: "cascade" },
  ),
  authorId: text("author_id").notNull().references(() => users.id, {
    onDelete: "cascade",
  }),
  parentId: text("parent_id"),
  content: text("content").notNull(),
  /** Seconds into the recording (millisecond precision). */
  timestampSeconds: real("timestamp_seconds").notNull(),
  category: text("category", { enum: COMMENT_CATEGORIES }).notNull(),
  createdAt: timestamp("created_at").notNull(),
  updatedAt: timestamp("updated_at").notNull(),
}, (t) => [
  index("submission_comments_submission_idx").on(
    t.submissionId,
    t.timestampSeconds,
  ),
  index("submission_comments_parent_idx").on(t.parentId),
]);

/** 004's progress_records: a teacher's scores for one submission. */
export const progressRecords = sqliteTable("progress_records", {
  id: text("id").primaryKey(),
  studentId: text("student_id").notNull().references(() => users.id, {
    onDelete: "cascade",
  }),
  teacherId: text("teacher_id").notNull().references(() => users.id, {
    onDelete: "cascade",
  }),
  submissionId: text("submission_id").notNull().references(
    () => practiceSubmissions.id,
    { onDelete: "cascade" },
  ),
  rating: integer("rating").notNull(),
  techniqueScore: integer("technique_score"),
  musicalityScore: integer("musicality_score"),
  rhythmScore: integer("rhythm_score"),
  overallScore: integer("overall_score"),
  notes: text("notes"),
  createdAt: timestamp("created_at").notNull(),
}, (t) => [
  index("progress_records_student_idx").on(t.studentId, t.createdAt),
  index("progress_records_submission_idx").on(t.submissionId),
]);

export type Relationship = typeof relationships.$inferSelect;
export type PracticeSubmission = typeof practiceSubmissions.$inferSelect;
export type SubmissionComment = typeof submissionComments.$inferSelect;
export type ProgressRecord = typeof progressRecords.$inferSelect;
