import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import { ACCESS_TYPES, lessons, programs } from "./catalog.ts";
import { users } from "./users.ts";

const timestamp = (name: string) => integer(name, { mode: "timestamp_ms" });

/** Where a learner stands in a program; access is granted separately (access_grants, subscriptions). */
export const ENROLLMENT_STATUSES = [
  "in_progress",
  "completed",
  "dropped",
] as const;
export type EnrollmentStatus = (typeof ENROLLMENT_STATUSES)[number];

/** One per learner and program, whatever they bought: progress hangs off it. */
export const enrollments = sqliteTable("enrollments", {
  id: text("id").primaryKey(),
  userId: text("user_id").notNull().references(() => users.id),
  programId: text("program_id").notNull().references(() => programs.id),
  status: text("status", { enum: ENROLLMENT_STATUSES }).notNull().default(
    "in_progress",
  ),
  /** The last lesson touched: where "resume" takes the learner. */
  lastLessonId: text("last_lesson_id").references(() => lessons.id, {
    onDelete: "set null",
  }),
  lastAccessedAt: timestamp("last_accessed_at"),
  completedAt: timestamp("completed_at"),
  droppedAt: timestamp("dropped_at"),
  createdAt: timestamp("created_at").notNull(),
  updatedAt: timestamp("updated_at").notNull(),
}, (t) => [
  uniqueIndex("enrollments_user_program_idx").on(t.userId, t.programId),
  index("enrollments_program_idx").on(t.programId),
]);

export const GRANT_STATUSES = ["active", "refunded", "revoked"] as const;
export type GrantStatus = (typeof GRANT_STATUSES)[number];
export const GRANT_SOURCES = ["free", "payment", "admin"] as const;
export type GrantSource = (typeof GRANT_SOURCES)[number];

/**
 * An access type bought (or given) for good within an enrollment. Subscriptions grant access by
 * themselves while they last, so they never leave a grant behind.
 */
export const accessGrants = sqliteTable("access_grants", {
  id: text("id").primaryKey(),
  enrollmentId: text("enrollment_id").notNull().references(
    () => enrollments.id,
  ),
  userId: text("user_id").notNull().references(() => users.id),
  programId: text("program_id").notNull().references(() => programs.id),
  accessType: text("access_type", { enum: ACCESS_TYPES }).notNull(),
  status: text("status", { enum: GRANT_STATUSES }).notNull().default("active"),
  source: text("source", { enum: GRANT_SOURCES }).notNull(),
  /** The payment that bought it; unique so one payment can never grant twice. */
  paymentId: text("payment_id").unique(),
  revokedAt: timestamp("revoked_at"),
  revokeReason: text("revoke_reason"),
  createdAt: timestamp("created_at").notNull(),
  updatedAt: timestamp("updated_at").notNull(),
}, (t) => [
  uniqueIndex("access_grants_enrollment_type_idx").on(
    t.enrollmentId,
    t.accessType,
  ),
  index("access_grants_lookup_idx").on(t.userId, t.programId, t.status),
]);

/** A learner's state in one lesson. */
export const lessonProgress = sqliteTable("lesson_progress", {
  userId: text("user_id").notNull().references(() => users.id),
  lessonId: text("lesson_id").notNull().references(() => lessons.id, {
    onDelete: "cascade",
  }),
  programId: text("program_id").notNull().references(() => programs.id),
  completedAt: timestamp("completed_at"),
  timeSpentSeconds: integer("time_spent_seconds").notNull().default(0),
  firstAccessedAt: timestamp("first_accessed_at").notNull(),
  lastAccessedAt: timestamp("last_accessed_at").notNull(),
}, (t) => [
  primaryKey({ columns: [t.userId, t.lessonId] }),
  index("lesson_progress_program_idx").on(t.userId, t.programId),
  index("lesson_progress_recent_idx").on(t.userId, t.lastAccessedAt),
]);

/** UTC days with learning activity, for streaks: one row per learner and day. */
export const learningDays = sqliteTable("learning_days", {
  userId: text("user_id").notNull().references(() => users.id),
  /** `YYYY-MM-DD` in UTC. */
  day: text("day").notNull(),
}, (t) => [primaryKey({ columns: [t.userId, t.day] })]);

export type Enrollment = typeof enrollments.$inferSelect;
export type AccessGrant = typeof accessGrants.$inferSelect;
export type LessonProgress = typeof lessonProgress.$inferSelect;
