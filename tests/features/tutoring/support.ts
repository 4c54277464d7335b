import assert from "node:assert/strict";
import { and, asc, eq } from "drizzle-orm";
import {
  notifications,
  tutoringSessions,
  type User,
  type WeeklyWindow,
} from "../../../db/schema/mod.ts";
import { startSession } from "../../../server/features/auth/service.ts";
import { setSubscriptionByAdmin } from "../../../server/features/subscriptions/service.ts";
import { createUser } from "../../../server/features/users/service.ts";
import { addDays } from "../../../server/lib/time_zones.ts";
import { api, type TestContext } from "../../helpers/context.ts";
import { ADMIN_ACTOR, uniqueEmail } from "../../helpers/factories.ts";

export interface Person {
  user: User;
  token: string;
}

/**
 * A signed-in account through the real session service, without a password (argon2 for every
 * account would dominate the run).
 */
export async function person(
  ctx: TestContext,
  role: "student" | "instructor" | "admin" = "student",
  name = `Test ${role}`,
): Promise<Person> {
  const user = await createUser(ctx.deps.db, {
    email: uniqueEmail(role),
    name,
    password: null,
    role,
    emailVerified: true,
  });
  const { token } = await startSession(ctx.deps, user, {});
  return { user, token };
}

/** The same hours on all seven weekdays. */
export const everyDay = (start: string, end: string): WeeklyWindow[] =>
  [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start, end }));

/** PUT /api/tutoring/availability, which must succeed. */
export async function publish(
  ctx: TestContext,
  who: Person,
  body: Record<string, unknown>,
) {
  const res = await api(ctx, "PUT", "/api/tutoring/availability", {
    token: who.token,
    body,
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.availability;
}

/** An instructor whose hours are in UTC, every day, mentorship learners only unless told. */
export async function instructorWithHours(
  ctx: TestContext,
  schedule: Record<string, unknown> = {},
  name = "Ada Instructor",
): Promise<Person> {
  const instructor = await person(ctx, "instructor", name);
  await publish(ctx, instructor, {
    timeZone: "UTC",
    weekly: everyDay("00:00", "24:00"),
    ...schedule,
  });
  return instructor;
}

/** Gives a learner the premium plan (mentorship) as the CLI's `subscriptions set` does. */
export async function givePremium(ctx: TestContext, userId: string) {
  await setSubscriptionByAdmin(
    ctx.deps,
    ADMIN_ACTOR,
    userId,
    "premium",
    new Date(Date.now() + 365 * 86_400_000),
  );
}

/** A UTC calendar date `days` after today (real time): far enough for the notice period. */
export const dayAhead = (days: number): string =>
  addDays(new Date().toISOString().slice(0, 10), days);

/** `date` at `clock` UTC, as an ISO string. */
export const utc = (date: string, clock: string): string =>
  new Date(`${date}T${clock}:00Z`).toISOString();

export const book = (
  ctx: TestContext,
  who: Person,
  body: Record<string, unknown>,
) => api(ctx, "POST", "/api/tutoring/sessions", { token: who.token, body });

/** A booking that must succeed; returns the session of the response. */
export async function booked(
  ctx: TestContext,
  who: Person,
  body: Record<string, unknown>,
) {
  const res = await book(ctx, who, { topic: "Scales", ...body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.session;
}

export async function sessionRow(ctx: TestContext, id: string) {
  const [row] = await ctx.deps.db.select().from(tutoringSessions).where(
    eq(tutoringSessions.id, id),
  );
  assert.ok(row, `session ${id} exists`);
  return row;
}

/** A user's notifications of one type (about one record, when named), oldest first. */
export async function noticesOf(
  ctx: TestContext,
  userId: string,
  type: string,
  relatedId?: string,
) {
  return await ctx.deps.db.select().from(notifications).where(and(
    eq(notifications.userId, userId),
    eq(notifications.type, type),
    relatedId ? eq(notifications.relatedId, relatedId) : undefined,
  )).orderBy(asc(notifications.createdAt));
}

export const code = (res: { body: { error?: { code?: string } } }) =>
  res.body?.error?.code;
