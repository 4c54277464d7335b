import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { users } from "./users.ts";

const timestamp = (name: string) => integer(name, { mode: "timestamp_ms" });

export const TUTORING_SESSION_STATUSES = [
  "pending_payment",
  "booked",
  "cancelled",
  "completed",
] as const;
export type TutoringSessionStatus = (typeof TUTORING_SESSION_STATUSES)[number];

export interface WeeklyWindow {
  /** ISO weekday: 1 Monday ... 7 Sunday. */
  weekday: number;
  /** Wall-clock "HH:MM" in the instructor's time zone; end after start, same day. */
  start: string;
  end: string;
}
export interface DayOff {
  /** "YYYY-MM-DD" in the instructor's time zone. */
  date: string;
  reason?: string;
}

/** An instructor's tutoring settings: weekly hours, days off, price and cancellation window. */
export const tutorSchedules = sqliteTable("tutor_schedules", {
  instructorId: text("instructor_id").primaryKey().references(() => users.id, {
    onDelete: "cascade",
  }),
  timeZone: text("time_zone").notNull(),
  weekly: text("weekly", { mode: "json" }).$type<WeeklyWindow[]>().notNull(),
  daysOff: text("days_off", { mode: "json" }).$type<DayOff[]>().notNull(),
  /** Minor units per hour for learners without mentorship; null: mentorship learners only. */
  hourlyRate: integer("hourly_rate"),
  currency: text("currency").notNull(),
  cancellationHours: integer("cancellation_hours").notNull(),
  accepting: integer("accepting", { mode: "boolean" }).notNull(),
  updatedAt: timestamp("updated_at").notNull(),
});

export const tutoringSessions = sqliteTable("tutoring_sessions", {
  id: text("id").primaryKey(),
  instructorId: text("instructor_id").notNull().references(() => users.id, {
    onDelete: "cascade",
  }),
  learnerId: text("learner_id").notNull().references(() => users.id, {
    onDelete: "cascade",
  }),
  startsAt: timestamp("starts_at").notNull(),
  endsAt: timestamp("ends_at").notNull(),
  topic: text("topic").notNull(),
  status: text("status", { enum: TUTORING_SESSION_STATUSES }).notNull(),
  /** "mentorship" (plan or enrollment) or "paid". */
  access: text("access", { enum: ["mentorship", "paid"] }).notNull(),
  price: integer("price"),
  currency: text("currency"),
  stripePaymentIntentId: text("stripe_payment_intent_id").unique(),
  /** A pending_payment hold lapses at this time. */
  holdExpiresAt: timestamp("hold_expires_at"),
  cancelledBy: text("cancelled_by"),
  cancelReason: text("cancel_reason"),
  cancelledAt: timestamp("cancelled_at"),
  /** Set when a paid session's money goes back: "requested", then Stripe's answer. */
  refundStatus: text("refund_status"),
  notes: text("notes"),
  notesUpdatedAt: timestamp("notes_updated_at"),
  /** Calendar SEQUENCE: bumped on every reschedule or cancellation. */
  sequence: integer("sequence").notNull().default(0),
  remindedDayBeforeAt: timestamp("reminded_day_before_at"),
  remindedHourBeforeAt: timestamp("reminded_hour_before_at"),
  createdAt: timestamp("created_at").notNull(),
  updatedAt: timestamp("updated_at").notNull(),
}, (t) => [
  index("tutoring_sessions_instructor_idx").on(t.instructorId, t.startsAt),
  index("tutoring_sessions_learner_idx").on(t.learnerId, t.startsAt),
  index("tutoring_sessions_status_idx").on(t.status, t.startsAt),
]);

export const messages = sqliteTable("messages", {
  id: text("id").primaryKey(),
  senderId: text("sender_id").notNull().references(() => users.id, {
    onDelete: "cascade",
  }),
  recipientId: text("recipient_id").notNull().references(() => users.id, {
    onDelete: "cascade",
  }),
  body: text("body").notNull(),
  readAt: timestamp("read_at"),
  createdAt: timestamp("created_at").notNull(),
}, (t) => [
  index("messages_pair_idx").on(t.senderId, t.recipientId, t.createdAt),
  index("messages_unread_idx").on(t.recipientId, t.readAt),
]);

export type TutorSchedule = typeof tutorSchedules.$inferSelect;
export type TutoringSession = typeof tutoringSessions.$inferSelect;
export type Message = typeof messages.$inferSelect;
