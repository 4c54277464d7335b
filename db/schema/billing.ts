import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
} from "drizzle-orm/sqlite-core";
import { ACCESS_TYPES, programs } from "./catalog.ts";
import { users } from "./users.ts";

const timestamp = (name: string) => integer(name, { mode: "timestamp_ms" });

export const PAYMENT_STATUSES = [
  "pending",
  "succeeded",
  "failed",
  "refunded",
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** A one-time purchase of an access type; amounts in minor units, as charged. */
export const payments = sqliteTable("payments", {
  id: text("id").primaryKey(),
  userId: text("user_id").notNull().references(() => users.id),
  programId: text("program_id").notNull().references(() => programs.id),
  accessType: text("access_type", { enum: ACCESS_TYPES }).notNull(),
  amount: integer("amount").notNull(),
  currency: text("currency").notNull(),
  status: text("status", { enum: PAYMENT_STATUSES }).notNull().default(
    "pending",
  ),
  stripePaymentIntentId: text("stripe_payment_intent_id").unique(),
  refundedAmount: integer("refunded_amount").notNull().default(0),
  failureMessage: text("failure_message"),
  succeededAt: timestamp("succeeded_at"),
  refundedAt: timestamp("refunded_at"),
  createdAt: timestamp("created_at").notNull(),
  updatedAt: timestamp("updated_at").notNull(),
}, (t) => [
  index("payments_user_idx").on(t.userId, t.createdAt),
  index("payments_program_idx").on(t.programId, t.status),
]);

export const PAID_PLAN_IDS = ["basic", "premium"] as const;
export type PaidPlanId = (typeof PAID_PLAN_IDS)[number];
/** Stripe's subscription statuses, kept as Stripe names them. */
export const SUBSCRIPTION_STATUSES = [
  "active",
  "trialing",
  "past_due",
  "incomplete",
  "incomplete_expired",
  "unpaid",
  "paused",
  "canceled",
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];
export const SUBSCRIPTION_SOURCES = ["stripe", "admin"] as const;

export const subscriptions = sqliteTable("subscriptions", {
  id: text("id").primaryKey(),
  userId: text("user_id").notNull().references(() => users.id),
  planId: text("plan_id", { enum: PAID_PLAN_IDS }).notNull(),
  status: text("status", { enum: SUBSCRIPTION_STATUSES }).notNull(),
  /** `admin` rows are granted from the CLI and have no Stripe side. */
  source: text("source", { enum: SUBSCRIPTION_SOURCES }).notNull(),
  stripeSubscriptionId: text("stripe_subscription_id").unique(),
  amount: integer("amount").notNull().default(0),
  currency: text("currency").notNull().default("usd"),
  currentPeriodStart: timestamp("current_period_start").notNull(),
  currentPeriodEnd: timestamp("current_period_end").notNull(),
  cancelAtPeriodEnd: integer("cancel_at_period_end", { mode: "boolean" })
    .notNull().default(false),
  canceledAt: timestamp("canceled_at"),
  /** `created` of the newest Stripe event applied: older events arriving late are ignored. */
  lastEventAt: timestamp("last_event_at"),
  createdAt: timestamp("created_at").notNull(),
  updatedAt: timestamp("updated_at").notNull(),
}, (t) => [index("subscriptions_user_idx").on(t.userId, t.status)]);

export const invoices = sqliteTable("invoices", {
  id: text("id").primaryKey(),
  stripeInvoiceId: text("stripe_invoice_id").notNull().unique(),
  userId: text("user_id").notNull().references(() => users.id),
  subscriptionId: text("subscription_id").references(() => subscriptions.id),
  amount: integer("amount").notNull(),
  currency: text("currency").notNull(),
  status: text("status").notNull(),
  hostedInvoiceUrl: text("hosted_invoice_url"),
  invoicePdfUrl: text("invoice_pdf_url"),
  periodStart: timestamp("period_start"),
  periodEnd: timestamp("period_end"),
  createdAt: timestamp("created_at").notNull(),
}, (t) => [index("invoices_user_idx").on(t.userId, t.createdAt)]);

/** Every Stripe event handled, by its id: a replay finds its row and does nothing. */
export const stripeEvents = sqliteTable("stripe_events", {
  id: text("id").primaryKey(),
  type: text("type").notNull(),
  outcome: text("outcome").notNull(),
  receivedAt: timestamp("received_at").notNull(),
});

/** The first response to a POST sent with an `Idempotency-Key`, replayed for the same key and body. */
export const idempotencyKeys = sqliteTable("idempotency_keys", {
  userId: text("user_id").notNull(),
  key: text("key").notNull(),
  requestHash: text("request_hash").notNull(),
  /** Null while the first request is still running. */
  status: integer("status"),
  responseBody: text("response_body"),
  createdAt: timestamp("created_at").notNull(),
}, (t) => [primaryKey({ columns: [t.userId, t.key] })]);

export type Payment = typeof payments.$inferSelect;
export type Subscription = typeof subscriptions.$inferSelect;
export type Invoice = typeof invoices.$inferSelect;
