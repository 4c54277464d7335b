/**
 * A seeded school for the dashboard, analytics and report tests (issue 8): users created across 15
 * months (some deleted, one banned), programs (a draft, deleted ones, titles that need CSV quoting),
 * enrollments with grants in every state, payments in two currencies (succeeded, partly and fully
 * refunded, pending, failed), paid and unpaid invoices, live and expired subscriptions, and events
 * (views by learners and anonymous visitors, enrollments, activity on chosen days for retention).
 *
 * The dataset is a plain description; `seed` writes it with drizzle, and every `expected…` function
 * computes what the API should answer from the description alone, with filters and sums written here
 * (never SQL, never the server's helpers), so the tests check the server against an independent
 * reading of the definitions in docs/decisions/013.
 *
 * Dates are relative to the UTC month of `NOW`, captured once when this module loads; everything
 * that depends on "this month" or "today" is derived from that one instant.
 */
import { sql } from "drizzle-orm";
import {
  accessGrants,
  type AccessType,
  enrollments,
  type EnrollmentStatus,
  events,
  type GrantStatus,
  invoices,
  type PaidPlanId,
  payments,
  type PaymentStatus,
  programs,
  type Role,
  subscriptions,
  type SubscriptionStatus,
  users,
  type UserStatus,
} from "../../../db/schema/mod.ts";
import { refreshEnrolledCount } from "../../../server/features/enrollments/service.ts";
import { newId } from "../../../server/lib/ids.ts";
import type { TestContext } from "../../helpers/context.ts";
import { makeProgram, makeUserAndLogin } from "../../helpers/factories.ts";

export const DAY = 86_400_000;
export const MINUTE = 60_000;

/** The one "now" every expectation is derived from. */
export const NOW = new Date();
const YEAR = NOW.getUTCFullYear();
const MONTH = NOW.getUTCMonth();
/** The first instant of NOW's UTC month. */
export const THIS_MONTH = Date.UTC(YEAR, MONTH, 1);

/** An instant in the UTC month `offset` months from NOW's (0 = this month). */
export const at = (offset: number, day: number, hour = 12, minute = 0) =>
  new Date(Date.UTC(YEAR, MONTH + offset, day, hour, minute));

/** An instant of this month before NOW: `fraction` of the way from the month's start to NOW. */
export const thisMonth = (fraction: number) =>
  new Date(THIS_MONTH + Math.floor(fraction * (NOW.getTime() - THIS_MONTH)));

/** `YYYY-MM-DD` (UTC) of an instant. */
export const ymd = (date: Date | number) =>
  new Date(date).toISOString().slice(0, 10);
/** `YYYY-MM` (UTC) of an instant. */
export const ym = (date: Date | number) =>
  new Date(date).toISOString().slice(0, 7);
/** The last calendar day of the UTC month `offset` months from NOW's. */
export const lastDayOf = (offset: number) =>
  new Date(Date.UTC(YEAR, MONTH + offset + 1, 1) - DAY);

// ---- the description ----

export interface UserSpec {
  key: string;
  name: string;
  role: Role;
  status: UserStatus;
  created: Date;
  /** Signs in through the API: the tests need their token. */
  login?: boolean;
}
export interface ProgramSpec {
  key: string;
  title: string;
  owner: string;
  status: "draft" | "published";
  created: Date;
  deleted?: Date;
  ratingSum?: number;
  reviewCount?: number;
}
export interface EnrollmentSpec {
  user: string;
  program: string;
  created: Date;
  status?: EnrollmentStatus;
  /** Empty: enrolled under a plan, no grant. */
  grants: { type: AccessType; status: GrantStatus }[];
}
export interface PaymentSpec {
  user: string;
  program: string;
  amount: number;
  /** As stored; the money tables are read case-insensitively. */
  currency: string;
  status: PaymentStatus;
  refunded?: number;
  succeeded?: Date;
  created: Date;
}
export interface SubscriptionSpec {
  key: string;
  user: string;
  plan: PaidPlanId;
  status: SubscriptionStatus;
  start: Date;
  end: Date;
}
export interface InvoiceSpec {
  user: string;
  subscription: string;
  amount: number;
  currency: string;
  status: "paid" | "open" | "void" | "uncollectible";
  created: Date;
}
export interface EventSpec {
  type:
    | "program.viewed"
    | "user.signed_in"
    | "quiz.attempted"
    | "quiz.passed"
    | "ai.message"
    | "certificate.issued"
    | "certificate.revoked";
  user?: string;
  program?: string;
  /** An anonymous visitor's key (program.viewed without a user). */
  visitor?: string;
  at: Date;
}

const DELETED = "Deleted user";

export const USERS: UserSpec[] = [
  {
    key: "admin",
    name: "Ada Admin",
    role: "admin",
    status: "active",
    created: at(-13, 3),
    login: true,
  },
  {
    key: "iris",
    name: "Iris Instructor",
    role: "instructor",
    status: "active",
    created: at(-12, 10),
    login: true,
  },
  {
    key: "omar",
    name: "Omar Owner",
    role: "instructor",
    status: "active",
    created: at(-11, 5),
    login: true,
  },
  {
    key: "nadia",
    name: DELETED,
    role: "instructor",
    status: "deleted",
    created: at(-8, 2),
  },
  {
    key: "sam",
    name: "Sam Student",
    role: "student",
    status: "active",
    created: at(-7, 20),
    login: true,
  },
  {
    key: "s16",
    name: "Pat Pioneer",
    role: "student",
    status: "active",
    created: at(-15, 10),
  },
  {
    key: "s1",
    name: "Alice",
    role: "student",
    status: "active",
    created: at(-13, 15),
  },
  {
    key: "s2",
    name: "Bob",
    role: "student",
    status: "active",
    created: at(-12, 1),
  },
  {
    key: "s3",
    name: "Chen",
    role: "student",
    status: "active",
    created: at(-10, 28),
  },
  {
    key: "s4",
    name: "Dara",
    role: "student",
    status: "active",
    created: at(-7, 7),
  },
  {
    key: "s5",
    name: "Eli",
    role: "student",
    status: "banned",
    created: at(-6, 12),
  },
  {
    key: "s6",
    name: "Fay",
    role: "student",
    status: "active",
    created: at(-4, 9),
  },
  {
    key: "s7",
    name: "Gus",
    role: "student",
    status: "active",
    created: at(-3, 1, 0, 0),
  },
  {
    key: "s8",
    name: "Hana",
    role: "student",
    status: "active",
    created: at(-3, 18),
  },
  {
    key: "s9",
    name: DELETED,
    role: "student",
    status: "deleted",
    created: at(-2, 6),
  },
  {
    key: "s10",
    name: "Jo",
    role: "student",
    status: "active",
    created: at(-2, 22),
  },
  {
    key: "s11",
    name: "Kim",
    role: "student",
    status: "active",
    created: at(-1, 28, 23, 59),
  },
  {
    key: "s12",
    name: "Lee",
    role: "student",
    status: "active",
    created: at(-1, 3),
  },
  {
    key: "s13",
    name: "Max",
    role: "student",
    status: "active",
    created: thisMonth(0.2),
  },
  {
    key: "s14",
    name: DELETED,
    role: "student",
    status: "deleted",
    created: thisMonth(0.5),
  },
  {
    key: "s15",
    name: "Ola",
    role: "student",
    status: "active",
    created: thisMonth(0.7),
  },
];

/** A title with a comma and a quote (RFC 4180 quoting) and one a spreadsheet would run. */
export const QUOTED_TITLE = 'Data, "Clean" Code';
export const FORMULA_TITLE = "=Formula Fun";

export const PROGRAMS: ProgramSpec[] = [
  {
    key: "P1",
    title: QUOTED_TITLE,
    owner: "iris",
    status: "published",
    created: at(-12, 12),
    ratingSum: 14,
    reviewCount: 3,
  },
  {
    key: "P2",
    title: "Algebra Basics",
    owner: "iris",
    status: "published",
    created: at(-11, 12),
    ratingSum: 4,
    reviewCount: 1,
  },
  {
    key: "P3",
    title: "Zoology Draft",
    owner: "iris",
    status: "draft",
    created: at(-10, 12),
  },
  {
    key: "P7",
    title: "Biology 101",
    owner: "iris",
    status: "published",
    created: at(-9, 12),
    deleted: at(-1, 25),
    ratingSum: 5,
    reviewCount: 1,
  },
  {
    key: "P4",
    title: "Rust in Practice",
    owner: "omar",
    status: "published",
    created: at(-11, 20),
  },
  {
    key: "P5",
    title: "Old Course",
    owner: "omar",
    status: "published",
    created: at(-10, 20),
    deleted: at(-3, 15),
  },
  {
    key: "P6",
    title: FORMULA_TITLE,
    owner: "omar",
    status: "published",
    created: at(-6, 20),
  },
];

const active = (type: AccessType = "bundle") => [
  { type, status: "active" as const },
];

export const ENROLLMENTS: EnrollmentSpec[] = [
  // iris: P1
  { user: "s1", program: "P1", created: at(-10, 3), grants: active() },
  {
    user: "s2",
    program: "P1",
    created: at(-3, 5),
    grants: [{ type: "chatbot", status: "refunded" }],
  },
  { user: "s3", program: "P1", created: at(-2, 10), grants: [] },
  { user: "s4", program: "P1", created: thisMonth(0.3), grants: active() },
  {
    user: "s6",
    program: "P1",
    created: thisMonth(0.4),
    status: "dropped",
    grants: active(),
  },
  // iris: P2
  {
    user: "s8",
    program: "P2",
    created: at(-1, 15),
    grants: [
      { type: "documentation", status: "refunded" },
      { type: "chatbot", status: "active" },
    ],
  },
  {
    user: "s1",
    program: "P2",
    created: thisMonth(0.6),
    grants: active("documentation"),
  },
  {
    user: "s13",
    program: "P2",
    created: thisMonth(0.25),
    grants: [{ type: "bundle", status: "revoked" }],
  },
  // iris: P7 (deleted later)
  { user: "s10", program: "P7", created: at(-2, 3), grants: active() },
  // omar
  { user: "s3", program: "P4", created: at(-3, 20), grants: active() },
  { user: "s5", program: "P4", created: at(-1, 2), grants: active() },
  { user: "s10", program: "P4", created: at(-2, 25), grants: active() },
  { user: "s15", program: "P4", created: thisMonth(0.8), grants: active() },
  { user: "s7", program: "P6", created: at(-3, 2), grants: active() },
  { user: "s12", program: "P6", created: at(-1, 10), grants: active() },
  { user: "s8", program: "P5", created: at(-4, 10), grants: active() },
];

export const PAYMENTS: PaymentSpec[] = [
  {
    user: "s1",
    program: "P1",
    amount: 3499,
    currency: "usd",
    status: "succeeded",
    succeeded: at(-10, 3),
    created: at(-10, 3),
  },
  // fully refunded: counts for nothing
  {
    user: "s2",
    program: "P1",
    amount: 999,
    currency: "usd",
    status: "refunded",
    refunded: 999,
    succeeded: at(-3, 5),
    created: at(-3, 5),
  },
  // partly refunded, upper-case currency as Stripe may send it
  {
    user: "s8",
    program: "P2",
    amount: 1499,
    currency: "USD",
    status: "refunded",
    refunded: 500,
    succeeded: at(-1, 15),
    created: at(-1, 15),
  },
  {
    user: "s8",
    program: "P2",
    amount: 999,
    currency: "usd",
    status: "succeeded",
    succeeded: at(-1, 15, 13),
    created: at(-1, 15, 13),
  },
  {
    user: "s4",
    program: "P1",
    amount: 3499,
    currency: "usd",
    status: "succeeded",
    succeeded: thisMonth(0.3),
    created: thisMonth(0.3),
  },
  {
    user: "s6",
    program: "P1",
    amount: 3499,
    currency: "eur",
    status: "succeeded",
    succeeded: thisMonth(0.4),
    created: thisMonth(0.4),
  },
  {
    user: "s3",
    program: "P4",
    amount: 2500,
    currency: "eur",
    status: "succeeded",
    succeeded: at(-3, 20),
    created: at(-3, 20),
  },
  {
    user: "s5",
    program: "P4",
    amount: 2500,
    currency: "EUR",
    status: "refunded",
    refunded: 1000,
    succeeded: at(-1, 2),
    created: at(-1, 2),
  },
  {
    user: "s10",
    program: "P4",
    amount: 4000,
    currency: "usd",
    status: "succeeded",
    succeeded: at(-2, 25),
    created: at(-2, 25),
  },
  {
    user: "s7",
    program: "P6",
    amount: 1999,
    currency: "usd",
    status: "succeeded",
    succeeded: at(-3, 2),
    created: at(-3, 2),
  },
  {
    user: "s12",
    program: "P6",
    amount: 1999,
    currency: "usd",
    status: "pending",
    created: at(-1, 10),
  },
  {
    user: "s12",
    program: "P6",
    amount: 1999,
    currency: "usd",
    status: "failed",
    created: at(-1, 9),
  },
  {
    user: "s15",
    program: "P4",
    amount: 4000,
    currency: "usd",
    status: "succeeded",
    succeeded: thisMonth(0.8),
    created: thisMonth(0.8),
  },
  {
    user: "s8",
    program: "P5",
    amount: 5000,
    currency: "usd",
    status: "succeeded",
    succeeded: at(-4, 10),
    created: at(-4, 10),
  },
  {
    user: "s10",
    program: "P7",
    amount: 1998,
    currency: "usd",
    status: "succeeded",
    succeeded: at(-2, 3),
    created: at(-2, 3),
  },
  // before the twelve months of the chart
  {
    user: "s16",
    program: "P4",
    amount: 3000,
    currency: "usd",
    status: "succeeded",
    succeeded: at(-13, 8),
    created: at(-13, 8),
  },
];

export const SUBSCRIPTIONS: SubscriptionSpec[] = [
  {
    key: "sub1",
    user: "s1",
    plan: "premium",
    status: "active",
    start: at(-1, 10),
    end: new Date(NOW.getTime() + 20 * DAY),
  },
  {
    key: "sub2",
    user: "s3",
    plan: "basic",
    status: "canceled",
    start: at(-3, 1),
    end: at(-2, 1),
  },
  {
    key: "sub3",
    user: "s4",
    plan: "basic",
    status: "past_due",
    start: at(-1, 20),
    end: new Date(NOW.getTime() + 5 * DAY),
  },
  // still "active" but its period is over
  {
    key: "sub4",
    user: "s6",
    plan: "basic",
    status: "active",
    start: at(-2, 1),
    end: at(-1, 1),
  },
  {
    key: "sub5",
    user: "s12",
    plan: "premium",
    status: "trialing",
    start: thisMonth(0.1),
    end: new Date(NOW.getTime() + 10 * DAY),
  },
  {
    key: "sub6",
    user: "s10",
    plan: "basic",
    status: "incomplete",
    start: thisMonth(0.1),
    end: new Date(NOW.getTime() + 10 * DAY),
  },
];

export const INVOICES: InvoiceSpec[] = [
  {
    user: "s1",
    subscription: "sub1",
    amount: 1999,
    currency: "usd",
    status: "paid",
    created: at(-1, 10, 9),
  },
  {
    user: "s1",
    subscription: "sub1",
    amount: 1999,
    currency: "usd",
    status: "paid",
    created: at(-6, 10),
  },
  // the same day as a fully refunded payment
  {
    user: "s3",
    subscription: "sub2",
    amount: 999,
    currency: "usd",
    status: "paid",
    created: at(-3, 5, 8),
  },
  {
    user: "s3",
    subscription: "sub2",
    amount: 999,
    currency: "usd",
    status: "open",
    created: at(-2, 1),
  },
  {
    user: "s4",
    subscription: "sub3",
    amount: 999,
    currency: "usd",
    status: "uncollectible",
    created: thisMonth(0.1),
  },
  {
    user: "s12",
    subscription: "sub5",
    amount: 0,
    currency: "usd",
    status: "paid",
    created: thisMonth(0.15),
  },
  {
    user: "s6",
    subscription: "sub4",
    amount: 1500,
    currency: "eur",
    status: "paid",
    created: at(-12, 20),
  },
  {
    user: "s6",
    subscription: "sub4",
    amount: 1500,
    currency: "eur",
    status: "void",
    created: at(-2, 2),
  },
];

/** s6 is first active in range A on its last evening and comes back just after it ends. */
const LAST_EVENING = new Date(THIS_MONTH - 30 * MINUTE);
const JUST_AFTER = new Date(THIS_MONTH + 10 * MINUTE);

export const EVENTS: EventSpec[] = [
  // program views: learners (their id is their visitor key) and anonymous visitors
  { type: "program.viewed", user: "s2", program: "P1", at: at(-3, 5, 7) },
  {
    type: "program.viewed",
    visitor: "anon:aaa",
    program: "P1",
    at: at(-3, 5, 9),
  },
  {
    type: "program.viewed",
    visitor: "anon:bbb",
    program: "P1",
    at: at(-3, 6, 9),
  },
  {
    type: "program.viewed",
    visitor: "anon:aaa",
    program: "P1",
    at: at(-3, 6, 10),
  },
  { type: "program.viewed", user: "s1", program: "P1", at: at(-3, 4, 11) },
  { type: "program.viewed", user: "s10", program: "P4", at: at(-2, 24, 22) },
  { type: "program.viewed", user: "s3", program: "P4", at: at(-3, 19) },
  { type: "program.viewed", user: "s3", program: "P4", at: at(-3, 21) },
  {
    type: "program.viewed",
    visitor: "anon:ccc",
    program: "P4",
    at: at(-2, 1),
  },
  { type: "program.viewed", user: "s7", program: "P6", at: at(-3, 1, 0, 30) },
  {
    type: "program.viewed",
    visitor: "anon:ddd",
    program: "P6",
    at: at(-1, 9),
  },
  // s8 looks on the day it enrolls: that day only counts once for retention
  { type: "program.viewed", user: "s8", program: "P2", at: at(-1, 15, 8) },
  // on the first instant of range A, and on the first instant after it
  {
    type: "program.viewed",
    visitor: "anon:eee",
    program: "P2",
    at: at(-3, 1, 0, 0),
  },
  {
    type: "program.viewed",
    user: "s11",
    program: "P2",
    at: new Date(THIS_MONTH),
  },
  // outside range A
  {
    type: "program.viewed",
    visitor: "anon:zzz",
    program: "P1",
    at: at(-4, 28),
  },
  { type: "program.viewed", user: "s15", program: "P4", at: thisMonth(0.75) },
  {
    type: "program.viewed",
    visitor: "anon:yyy",
    program: "P6",
    at: thisMonth(0.05),
  },
  { type: "program.viewed", user: "s16", program: "P4", at: at(-13, 7) },
  // activity for retention
  { type: "user.signed_in", user: "s1", at: at(-3, 4, 10) },
  { type: "ai.message", user: "s1", program: "P1", at: at(-3, 4, 18) },
  // the next UTC day, at midnight
  { type: "quiz.attempted", user: "s1", program: "P1", at: at(-3, 5, 0, 0) },
  // s2: back 31 days after the first activity: too late
  {
    type: "user.signed_in",
    user: "s2",
    at: new Date(at(-3, 5, 7).getTime() + 31 * DAY),
  },
  // s3: back 29 days and 23 hours after the first activity: in time
  {
    type: "ai.message",
    user: "s3",
    program: "P4",
    at: new Date(at(-3, 19).getTime() + 29 * DAY + 23 * 60 * MINUTE),
  },
  { type: "user.signed_in", user: "s6", at: at(-4, 20) },
  { type: "user.signed_in", user: "s6", at: LAST_EVENING },
  { type: "user.signed_in", user: "s6", at: JUST_AFTER },
  // s8: only events that are not activity after the enrollment day
  { type: "quiz.passed", user: "s8", program: "P2", at: at(-1, 16) },
  { type: "certificate.revoked", user: "s8", program: "P2", at: at(-1, 20) },
  {
    type: "certificate.issued",
    user: "s12",
    program: "P6",
    at: at(-1, 10, 18),
  },
  { type: "ai.message", user: "s5", program: "P4", at: at(-1, 9) },
  { type: "user.signed_in", user: "s9", at: at(-2, 6, 10) },
  { type: "ai.message", user: "s9", program: "P4", at: at(-2, 7) },
  { type: "certificate.issued", user: "s9", program: "P4", at: at(-2, 7, 9) },
  { type: "user.signed_in", user: "iris", at: at(-2, 15) },
  { type: "user.signed_in", user: "s13", at: thisMonth(0.22) },
  { type: "ai.message", user: "s13", program: "P2", at: thisMonth(0.9) },
  { type: "quiz.attempted", user: "s4", program: "P1", at: thisMonth(0.35) },
  { type: "quiz.passed", user: "s4", program: "P1", at: thisMonth(0.36) },
];

/** Range A: the three whole months before this one (at most 92 days: a daily series). */
export const RANGE_A = {
  startDate: ymd(at(-3, 1)),
  endDate: ymd(lastDayOf(-1)),
};
/** Range B: from the 15th, 13 months ago, to today (more than 92 days: a monthly series). */
export const RANGE_B = { startDate: ymd(at(-13, 15)), endDate: ymd(NOW) };

// ---- seeding ----

export interface Seeded {
  ids: Record<string, string>;
  tokens: Record<string, string>;
}

/** Writes the description into the test database; returns ids by key and the tokens of who logs in. */
export async function seed(ctx: TestContext): Promise<Seeded> {
  const db = ctx.deps.db;
  const ids: Record<string, string> = {};
  const tokens: Record<string, string> = {};
  for (const spec of USERS) {
    if (spec.login) {
      const { user, token } = await makeUserAndLogin(ctx, {
        name: spec.name,
        role: spec.role,
      });
      ids[spec.key] = user.id;
      tokens[spec.key] = token;
      await db.update(users).set({
        createdAt: spec.created,
        updatedAt: spec.created,
      }).where(sql`${users.id} = ${user.id}`);
    } else {
      const id = newId(spec.created.getTime());
      ids[spec.key] = id;
      await db.insert(users).values({
        id,
        email: spec.status === "deleted"
          ? `deleted-${id.toLowerCase()}@deleted.invalid`
          : `${spec.key}-${id.toLowerCase()}@school.test`,
        name: spec.name,
        role: spec.role,
        status: spec.status,
        ...(spec.status === "banned" ? { banReason: "Spam" } : {}),
        emailVerifiedAt: spec.created,
        createdAt: spec.created,
        updatedAt: spec.created,
        ...(spec.status === "deleted" ? { deletedAt: NOW } : {}),
      });
    }
  }
  // Signing in wrote `user.signed_in` events at the real time: the dataset's events are all there is.
  await db.delete(events);

  for (const spec of PROGRAMS) {
    const program = await makeProgram(ctx, {
      id: ids[spec.owner]!,
      role: "instructor",
    }, { title: spec.title, status: spec.status });
    ids[spec.key] = program.id;
    await db.update(programs).set({
      createdAt: spec.created,
      updatedAt: spec.created,
      publishedAt: spec.status === "published" ? spec.created : null,
      deletedAt: spec.deleted ?? null,
      ratingSum: spec.ratingSum ?? 0,
      reviewCount: spec.reviewCount ?? 0,
    }).where(sql`${programs.id} = ${program.id}`);
  }

  for (const spec of ENROLLMENTS) {
    const id = newId(spec.created.getTime());
    await db.insert(enrollments).values({
      id,
      userId: ids[spec.user]!,
      programId: ids[spec.program]!,
      status: spec.status ?? "in_progress",
      ...(spec.status === "dropped" ? { droppedAt: spec.created } : {}),
      createdAt: spec.created,
      updatedAt: spec.created,
    });
    for (const grant of spec.grants) {
      await db.insert(accessGrants).values({
        id: newId(spec.created.getTime()),
        enrollmentId: id,
        userId: ids[spec.user]!,
        programId: ids[spec.program]!,
        accessType: grant.type,
        status: grant.status,
        source: "payment",
        ...(grant.status === "active" ? {} : {
          revokedAt: spec.created,
          revokeReason: "test",
        }),
        createdAt: spec.created,
        updatedAt: spec.created,
      });
    }
    await db.insert(events).values({
      id: newId(spec.created.getTime()),
      type: "enrollment.created",
      userId: ids[spec.user]!,
      programId: ids[spec.program]!,
      subjectId: id,
      payload: {},
      createdAt: spec.created,
    });
  }
  // What the enrollment service keeps up to date after every change.
  for (const spec of PROGRAMS) await refreshEnrolledCount(db, ids[spec.key]!);

  for (const [i, spec] of PAYMENTS.entries()) {
    await db.insert(payments).values({
      id: newId(spec.created.getTime()),
      userId: ids[spec.user]!,
      programId: ids[spec.program]!,
      accessType: "bundle",
      amount: spec.amount,
      currency: spec.currency,
      status: spec.status,
      stripePaymentIntentId: `pi_dataset_${i}`,
      refundedAmount: spec.refunded ?? 0,
      ...(spec.status === "failed" ? { failureMessage: "declined" } : {}),
      succeededAt: spec.succeeded ?? null,
      refundedAt: spec.refunded ? spec.succeeded ?? null : null,
      createdAt: spec.created,
      updatedAt: spec.created,
    });
  }

  for (const spec of SUBSCRIPTIONS) {
    const id = newId(spec.start.getTime());
    ids[spec.key] = id;
    await db.insert(subscriptions).values({
      id,
      userId: ids[spec.user]!,
      planId: spec.plan,
      status: spec.status,
      source: "admin",
      amount: spec.plan === "premium" ? 1999 : 999,
      currency: "usd",
      currentPeriodStart: spec.start,
      currentPeriodEnd: spec.end,
      createdAt: spec.start,
      updatedAt: spec.start,
    });
  }

  for (const [i, spec] of INVOICES.entries()) {
    await db.insert(invoices).values({
      id: newId(spec.created.getTime()),
      stripeInvoiceId: `in_dataset_${i}`,
      userId: ids[spec.user]!,
      subscriptionId: ids[spec.subscription]!,
      amount: spec.amount,
      currency: spec.currency,
      status: spec.status,
      createdAt: spec.created,
    });
  }

  for (const spec of EVENTS) {
    const userId = spec.user ? ids[spec.user]! : null;
    await db.insert(events).values({
      id: newId(spec.at.getTime()),
      type: spec.type,
      userId,
      programId: spec.program ? ids[spec.program]! : null,
      payload: spec.type === "program.viewed"
        ? { visitor: userId ?? spec.visitor }
        : {},
      createdAt: spec.at,
    });
  }
  return { ids, tokens };
}

// ---- independent expectations ----

const SCHOOL_CURRENCY = "usd";
const ACTIVITY = new Set([
  "user.signed_in",
  "program.viewed",
  "enrollment.created",
  "quiz.attempted",
  "ai.message",
  "certificate.issued",
]);
const LIVE = new Set(["active", "trialing", "past_due"]);

/** Half-open `[from, to)` of the `YYYY-MM-DD` days given, both included. */
export interface Range {
  from: number;
  to: number;
}
export const dayRange = (startDate: string, endDate: string): Range => ({
  from: Date.parse(`${startDate}T00:00:00Z`),
  to: Date.parse(`${endDate}T00:00:00Z`) + DAY,
});
const inRange = (date: Date, range: Range) =>
  date.getTime() >= range.from && date.getTime() < range.to;

/** An event of the description, or the `enrollment.created` of an enrollment. */
export type AnyEvent = Omit<EventSpec, "type"> & { type: string };

/** Every event, with the `enrollment.created` each enrollment brings. */
export function allEvents(): AnyEvent[] {
  return [
    ...EVENTS,
    ...ENROLLMENTS.map((e) => ({
      type: "enrollment.created",
      user: e.user,
      program: e.program,
      at: e.created,
    })),
  ];
}

interface Money {
  at: Date;
  minor: number;
  currency: string;
  program?: string;
  source: "payment" | "subscription";
}

/** What the school kept: payments that succeeded, net of refunds, and paid invoices. */
export function moneyRows(): Money[] {
  const rows: Money[] = [];
  for (const p of PAYMENTS) {
    if (
      (p.status === "succeeded" || p.status === "refunded") && p.succeeded
    ) {
      rows.push({
        at: p.succeeded,
        minor: p.amount - (p.refunded ?? 0),
        currency: p.currency.toLowerCase(),
        program: p.program,
        source: "payment",
      });
    }
  }
  for (const i of INVOICES) {
    if (i.status === "paid") {
      rows.push({
        at: i.created,
        minor: i.amount,
        currency: i.currency.toLowerCase(),
        source: "subscription",
      });
    }
  }
  return rows;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
/** Minor units per currency, as major units. */
function byCurrency(rows: Money[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const currency of new Set(rows.map((r) => r.currency))) {
    out[currency] = sum(
      rows.filter((r) => r.currency === currency).map((r) => r.minor),
    ) / 100;
  }
  return out;
}
const schoolTotal = (rows: Money[]) =>
  sum(rows.filter((r) => r.currency === SCHOOL_CURRENCY).map((r) => r.minor)) /
  100;

const userName = (key: string) => USERS.find((u) => u.key === key)!.name;
const program = (key: string) => PROGRAMS.find((p) => p.key === key)!;
const alive = (u: UserSpec) => u.status !== "deleted";

/** The admin dashboard for `now` (the test's NOW). */
export function expectedDashboard(ids: Record<string, string>, now = NOW) {
  const monthStart = (offset: number) =>
    Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1);
  const thisMonthStart = monthStart(0);
  const money = moneyRows();
  const thisMonthMoney = money.filter((r) => r.at.getTime() >= thisMonthStart);
  const chartFrom = monthStart(-11);
  let running =
    USERS.filter((u) => alive(u) && u.created.getTime() < chartFrom).length;
  const userGrowth = [];
  const revenueGrowth = [];
  for (let i = -11; i <= 0; i++) {
    const month = ym(monthStart(i));
    const added = USERS.filter((u) =>
      alive(u) && ym(u.created) === month
    ).length;
    running += added;
    userGrowth.push({ month, newUsers: added, totalUsers: running });
    revenueGrowth.push({
      month,
      revenue: sum(
        money.filter((r) =>
          r.currency === SCHOOL_CURRENCY && ym(r.at) === month
        ).map((r) => r.minor),
      ) / 100,
    });
  }
  const shown = new Set([
    "enrollment.created",
    "certificate.issued",
    "quiz.passed",
  ]);
  const recentActivity = allEvents().filter((e) => shown.has(e.type))
    .sort((a, b) => b.at.getTime() - a.at.getTime()).slice(0, 10)
    .map((e) => ({
      type: e.type,
      at: e.at.toISOString(),
      user: e.user ? { id: ids[e.user]!, name: userName(e.user) } : null,
      program: e.program
        ? { id: ids[e.program]!, title: program(e.program).title }
        : null,
    }));
  return {
    totalUsers: USERS.filter(alive).length,
    totalInstructors:
      USERS.filter((u) => alive(u) && u.role === "instructor").length,
    totalPrograms: PROGRAMS.filter((p) => !p.deleted).length,
    publishedPrograms:
      PROGRAMS.filter((p) => !p.deleted && p.status === "published").length,
    totalRevenue: schoolTotal(money),
    currency: SCHOOL_CURRENCY,
    revenueByCurrency: byCurrency(money),
    activeSubscriptions:
      SUBSCRIPTIONS.filter((s) =>
        LIVE.has(s.status) && s.end.getTime() > now.getTime()
      ).length,
    newUsersThisMonth:
      USERS.filter((u) => alive(u) && u.created.getTime() >= thisMonthStart)
        .length,
    revenueThisMonth: schoolTotal(thisMonthMoney),
    chartData: { userGrowth, revenueGrowth },
    recentActivity,
  };
}

/** Whether an enrollment counts as a learner: not dropped, an active grant or no grant at all. */
const learner = (e: EnrollmentSpec) =>
  e.status !== "dropped" &&
  (e.grants.length === 0 || e.grants.some((g) => g.status === "active"));

/** GET /api/instructors/dashboard for one instructor. */
export function expectedInstructorDashboard(
  ids: Record<string, string>,
  instructor: string,
  now = NOW,
) {
  const since = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const owned = PROGRAMS.filter((p) => p.owner === instructor);
  const live = owned.filter((p) => !p.deleted);
  const liveKeys = new Set(live.map((p) => p.key));
  const ownedKeys = new Set(owned.map((p) => p.key));
  const learners = ENROLLMENTS.filter((e) =>
    liveKeys.has(e.program) && learner(e)
  );
  const sold = moneyRows().filter((r) =>
    r.source === "payment" && ownedKeys.has(r.program!)
  );
  const ratingSum = sum(live.map((p) => p.ratingSum ?? 0));
  const reviews = sum(live.map((p) => p.reviewCount ?? 0));
  const round1 = (n: number) => Math.round(n * 10) / 10;
  const top = live.map((p) => ({
    id: ids[p.key]!,
    title: p.title,
    enrollments: ENROLLMENTS.filter((e) => e.program === p.key && learner(e))
      .length,
    revenue: sum(
      sold.filter((r) => r.program === p.key && r.currency === SCHOOL_CURRENCY)
        .map((r) => r.minor),
    ) / 100,
    rating: p.reviewCount ? round1(p.ratingSum! / p.reviewCount) : 0,
    created: p.created.getTime(),
  })).sort((a, b) =>
    b.enrollments - a.enrollments || b.revenue - a.revenue ||
    a.created - b.created
  ).slice(0, 5).map(({ created: _, ...rest }) => rest);
  return {
    totalStudents: new Set(learners.map((e) => e.user)).size,
    totalRevenue: schoolTotal(sold),
    currency: SCHOOL_CURRENCY,
    revenueByCurrency: byCurrency(sold),
    totalPrograms: live.length,
    publishedPrograms: live.filter((p) => p.status === "published").length,
    averageRating: reviews ? round1(ratingSum / reviews) : 0,
    totalReviews: reviews,
    newEnrollmentsThisMonth:
      learners.filter((e) => e.created.getTime() >= since).length,
    revenueThisMonth: schoolTotal(
      sold.filter((r) => r.at.getTime() >= since),
    ),
    topPrograms: top,
  };
}

/** The people with an activity event in the range, and those of them who came back in time. */
export function expectedRetention(range: Range) {
  // Learners only: students whose account still exists.
  const learners = new Set(
    USERS.filter((u) => u.role === "student" && alive(u)).map((u) => u.key),
  );
  const activity = allEvents().filter((e) =>
    e.user && learners.has(e.user) && ACTIVITY.has(e.type)
  );
  const cohort = new Map<string, number>();
  for (const e of activity) {
    if (!inRange(e.at, range)) continue;
    const first = cohort.get(e.user!);
    if (first === undefined || e.at.getTime() < first) {
      cohort.set(e.user!, e.at.getTime());
    }
  }
  const returned = [...cohort].filter(([user, first]) =>
    activity.some((e) =>
      e.user === user &&
      Math.floor(e.at.getTime() / DAY) > Math.floor(first / DAY) &&
      e.at.getTime() - first < 30 * DAY
    )
  ).map(([user]) => user);
  return { cohort: [...cohort.keys()], returned };
}

const pct = (part: number, whole: number) =>
  whole ? Math.round((part * 1000) / whole) / 10 : 0;

/** Names sort as SQLite's default (binary) collation does. */
const byText = (a: string, b: string) => a < b ? -1 : a > b ? 1 : 0;

/** GET /api/admin/analytics for a range (without the series). */
export function expectedAnalytics(
  ids: Record<string, string>,
  startDate: string,
  endDate: string,
) {
  const range = dayRange(startDate, endDate);
  const events = allEvents().filter((e) => inRange(e.at, range));
  const money = moneyRows().filter((r) => inRange(r.at, range));
  const enrolled = events.filter((e) => e.type === "enrollment.created");
  const views = events.filter((e) => e.type === "program.viewed");
  const viewers = new Set(views.map((e) => e.user ?? e.visitor));
  const viewedPairs = [
    ...new Map(
      views.map((e) => [`${e.user ?? e.visitor}|${e.program}`, e]),
    ).values(),
  ];
  const converted = viewedPairs.filter((v) =>
    v.user !== undefined &&
    enrolled.some((e) => e.user === v.user && e.program === v.program)
  );
  const programRevenue = (key: string) =>
    sum(
      money.filter((r) =>
        r.source === "payment" && r.currency === SCHOOL_CURRENCY &&
        r.program === key
      ).map((r) => r.minor),
    );
  const topPrograms = PROGRAMS.map((p) => ({
    id: ids[p.key]!,
    title: p.title,
    instructorId: ids[p.owner]!,
    enrollments: enrolled.filter((e) => e.program === p.key).length,
    views: views.filter((e) => e.program === p.key).length,
    revenue: programRevenue(p.key) / 100,
  })).filter((p) => p.enrollments > 0 || p.revenue > 0).sort((a, b) =>
    b.enrollments - a.enrollments || b.revenue - a.revenue ||
    byText(a.title, b.title)
  ).slice(0, 10);
  const instructors = USERS.map((u) => {
    const mine = PROGRAMS.filter((p) => p.owner === u.key).map((p) => p.key);
    return {
      id: ids[u.key]!,
      name: u.name,
      enrollments: enrolled.filter((e) => mine.includes(e.program!)).length,
      revenue: sum(mine.map(programRevenue)) / 100,
    };
  }).filter((i) => i.enrollments > 0 || i.revenue > 0).sort((a, b) =>
    b.revenue - a.revenue || b.enrollments - a.enrollments ||
    byText(a.name, b.name)
  ).slice(0, 10);
  const retention = expectedRetention(range);
  return {
    startDate: ymd(new Date(range.from)),
    endDate: ymd(new Date(new Date(range.to).getTime() - DAY)),
    totalRevenue: schoolTotal(money),
    currency: SCHOOL_CURRENCY,
    revenueByCurrency: byCurrency(money),
    totalEnrollments: enrolled.length,
    programViews: views.length,
    uniqueViewers: viewers.size,
    // (visitor, program) pairs viewed, and those where that signed-in visitor enrolled in that
    // program in the range.
    conversionRate: pct(converted.length, viewedPairs.length),
    conversion: {
      viewedPrograms: viewedPairs.length,
      enrolledAfterViewing: converted.length,
    },
    topPrograms,
    topInstructors: instructors,
    userRetention: pct(retention.returned.length, retention.cohort.length),
    retention: {
      activeUsers: retention.cohort.length,
      returned: retention.returned.length,
      windowDays: 30,
    },
  };
}

export const METRIC_NAMES = [
  "revenue",
  "enrollments",
  "views",
  "users",
  "activeUsers",
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** Every day (or month, past 92 days) of the range, oldest first, zero where nothing happened. */
export function expectedSeries(
  metric: MetricName,
  startDate: string,
  endDate: string,
): { period: string; value: number }[] {
  const range = dayRange(startDate, endDate);
  const monthly = range.to - range.from > 92 * DAY;
  const periodOf = (date: Date) => monthly ? ym(date) : ymd(date);
  const periods: string[] = [];
  for (let t = range.from; t < range.to; t += DAY) {
    const period = periodOf(new Date(t));
    if (periods.at(-1) !== period) periods.push(period);
  }
  const events = allEvents().filter((e) => inRange(e.at, range));
  const money = moneyRows().filter((r) =>
    inRange(r.at, range) && r.currency === SCHOOL_CURRENCY
  );
  return periods.map((period) => {
    const inPeriod = (date: Date) => periodOf(date) === period;
    const value = {
      revenue: () =>
        sum(money.filter((r) => inPeriod(r.at)).map((r) => r.minor)) / 100,
      enrollments: () =>
        events.filter((e) => e.type === "enrollment.created" && inPeriod(e.at))
          .length,
      views: () =>
        events.filter((e) => e.type === "program.viewed" && inPeriod(e.at))
          .length,
      users: () =>
        USERS.filter((u) =>
          alive(u) && inRange(u.created, range) && inPeriod(u.created)
        ).length,
      activeUsers: () =>
        new Set(
          events.filter((e) => e.user && ACTIVITY.has(e.type) && inPeriod(e.at))
            .map((e) => e.user),
        ).size,
    }[metric]();
    return { period, value };
  });
}

export interface ExpectedReport {
  columns: string[];
  rows: (string | number)[][];
}

/** The daily reports of GET /api/admin/reports/:name and `cli reports`. */
export function expectedReport(
  ids: Record<string, string>,
  name: "revenue" | "enrollments" | "users",
  startDate: string,
  endDate: string,
): ExpectedReport {
  const range = dayRange(startDate, endDate);
  const events = allEvents().filter((e) => inRange(e.at, range));
  if (name === "revenue") {
    const money = moneyRows().filter((r) => inRange(r.at, range));
    const keys = [...new Set(money.map((r) => `${ymd(r.at)} ${r.currency}`))]
      .sort(byText);
    return {
      columns: ["date", "currency", "payments", "subscriptions", "total"],
      rows: keys.map((key) => {
        const [date, currency] = key.split(" ") as [string, string];
        const day = money.filter((r) =>
          ymd(r.at) === date && r.currency === currency
        );
        const of = (source: Money["source"]) =>
          sum(day.filter((r) => r.source === source).map((r) => r.minor));
        return [
          date,
          currency,
          of("payment") / 100,
          of("subscription") / 100,
          (of("payment") + of("subscription")) / 100,
        ];
      }),
    };
  }
  if (name === "enrollments") {
    const enrolled = events.filter((e) => e.type === "enrollment.created");
    const keys = [...new Set(enrolled.map((e) => `${ymd(e.at)} ${e.program}`))];
    const rows = keys.map((key) => {
      const [date, programKey] = key.split(" ") as [string, string];
      return [
        date,
        ids[programKey]!,
        program(programKey).title,
        enrolled.filter((e) => ymd(e.at) === date && e.program === programKey)
          .length,
      ] as [string, string, string, number];
    }).sort((a, b) => byText(a[0], b[0]) || byText(a[2], b[2]));
    return {
      columns: ["date", "program_id", "program", "enrollments"],
      rows,
    };
  }
  // Sign-ups are the accounts created that day and not deleted since; active people are
  // those with an activity event that day.
  const signups = USERS.filter((u) => alive(u) && inRange(u.created, range));
  const activity = events.filter((e) => e.user && ACTIVITY.has(e.type));
  const dates = [
    ...new Set([
      ...signups.map((u) => ymd(u.created)),
      ...activity.map((e) => ymd(e.at)),
    ]),
  ].sort(byText);
  return {
    columns: [
      "date",
      "new_students",
      "new_instructors",
      "new_admins",
      "active_users",
    ],
    rows: dates.map((date) => {
      const joined = signups.filter((u) => ymd(u.created) === date);
      const role = (r: Role) => joined.filter((u) => u.role === r).length;
      return [
        date,
        role("student"),
        role("instructor"),
        role("admin"),
        new Set(
          activity.filter((e) => ymd(e.at) === date).map((e) => e.user),
        ).size,
      ];
    }),
  };
}

/** RFC 4180 with CRLF lines; text starting with = + - @ gets a leading ' (decision 013). */
export function expectedCsv(report: ExpectedReport): string {
  const cell = (value: string | number) => {
    let text = String(value);
    if (typeof value === "string" && "=+-@".includes(text[0] ?? "")) {
      text = `'${text}`;
    }
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [report.columns, ...report.rows].map((row) =>
    row.map(cell).join(",") + "\r\n"
  ).join("");
}

/** The JSON rows: one object per row, keyed by column. */
export const records = (report: ExpectedReport) =>
  report.rows.map((row) =>
    Object.fromEntries(report.columns.map((c, i) => [c, row[i]]))
  );
