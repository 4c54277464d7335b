import { sql } from "drizzle-orm";
import {
  index,
  integer,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import { type SocialLinks, users } from "./users.ts";

const timestamp = (name: string) => integer(name, { mode: "timestamp_ms" });

export const APPLICATION_STATUSES = [
  "pending",
  "approved",
  "rejected",
] as const;
export type ApplicationStatus = (typeof APPLICATION_STATUSES)[number];

/** A learner's request to teach; at most one pending per person (the partial unique index). */
export const instructorApplications = sqliteTable("instructor_applications", {
  id: text("id").primaryKey(),
  userId: text("user_id").notNull().references(() => users.id),
  status: text("status", { enum: APPLICATION_STATUSES }).notNull(),
  bio: text("bio").notNull(),
  expertise: text("expertise", { mode: "json" }).$type<string[]>().notNull(),
  experience: text("experience"),
  education: text("education"),
  socialLinks: text("social_links", { mode: "json" }).$type<SocialLinks>()
    .notNull().default({}),
  sampleWork: text("sample_work"),
  rejectionReason: text("rejection_reason"),
  /** Null when the CLI decided. */
  reviewedBy: text("reviewed_by").references(() => users.id),
  reviewedAt: timestamp("reviewed_at"),
  createdAt: timestamp("created_at").notNull(),
}, (t) => [
  uniqueIndex("instructor_applications_one_pending").on(t.userId).where(
    sql`status = 'pending'`,
  ),
  index("instructor_applications_status_idx").on(t.status, t.createdAt),
]);

/** In-app notifications (004's table, 002's fields). */
export const notifications = sqliteTable("notifications", {
  id: text("id").primaryKey(),
  userId: text("user_id").notNull().references(() => users.id, {
    onDelete: "cascade",
  }),
  type: text("type").notNull(),
  title: text("title").notNull(),
  message: text("message").notNull(),
  /** Where a client takes the reader: an API path or page. */
  link: text("link"),
  /** The record it is about (a program, certificate, payment...). */
  relatedId: text("related_id"),
  readAt: timestamp("read_at"),
  createdAt: timestamp("created_at").notNull(),
}, (t) => [
  index("notifications_user_idx").on(t.userId, t.createdAt),
  index("notifications_unread_idx").on(t.userId).where(sql`read_at IS NULL`),
]);

export const DELIVERY_CHANNELS = ["in_app", "email"] as const;
export const DELIVERY_STATUSES = [
  /** In-app: stored for the reader. */
  "delivered",
  /** Email: rendered into the outbox. */
  "queued",
  /** Email: the user's preferences turned it off. */
  "suppressed",
  /** Email: no SMTP server; kept in the outbox and logged. */
  "logged",
  "sent",
  /** Email: an attempt failed and another is scheduled. */
  "retrying",
  /** Email: the last attempt failed. */
  "failed",
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** 001's notification log: one row per delivery attempt, on every channel. */
export const notificationDeliveries = sqliteTable("notification_deliveries", {
  id: text("id").primaryKey(),
  notificationId: text("notification_id").references(() => notifications.id, {
    onDelete: "set null",
  }),
  outboxId: text("outbox_id"),
  userId: text("user_id"),
  /** A notification type, or the email template for mail that is not a notification. */
  type: text("type").notNull(),
  channel: text("channel", { enum: DELIVERY_CHANNELS }).notNull(),
  status: text("status", { enum: DELIVERY_STATUSES }).notNull(),
  attempt: integer("attempt").notNull().default(0),
  error: text("error"),
  createdAt: timestamp("created_at").notNull(),
}, (t) => [
  index("notification_deliveries_time_idx").on(t.createdAt),
  index("notification_deliveries_outbox_idx").on(t.outboxId),
  index("notification_deliveries_notification_idx").on(t.notificationId),
]);

/**
 * Append-only record of administrative actions: who (a user, or the CLI run by an operating-system
 * account), what, on which record, the record before and after, when and from where.
 */
export const auditLog = sqliteTable("audit_log", {
  id: text("id").primaryKey(),
  actorId: text("actor_id"),
  /** The admin's email, or `cli:<os user>`; kept as text so the entry survives the account. */
  actorLabel: text("actor_label").notNull(),
  action: text("action").notNull(),
  targetType: text("target_type").notNull(),
  targetId: text("target_id").notNull(),
  before: text("before", { mode: "json" }).$type<Record<string, unknown>>(),
  after: text("after", { mode: "json" }).$type<Record<string, unknown>>(),
  via: text("via", { enum: ["api", "cli"] }).notNull(),
  ip: text("ip"),
  requestId: text("request_id"),
  createdAt: timestamp("created_at").notNull(),
}, (t) => [
  index("audit_log_time_idx").on(t.createdAt),
  index("audit_log_target_idx").on(t.targetType, t.targetId),
  index("audit_log_actor_idx").on(t.actorId, t.createdAt),
]);

export type InstructorApplication = typeof instructorApplications.$inferSelect;
export type Notification = typeof notifications.$inferSelect;
export type NotificationDelivery = typeof notificationDeliveries.$inferSelect;
export type AuditEntry = typeof auditLog.$inferSelect;
