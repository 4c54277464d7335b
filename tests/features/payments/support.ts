import assert from "node:assert/strict";
import { and, eq } from "drizzle-orm";
import {
  accessGrants,
  type AccessType,
  enrollments,
  outboxMessages,
  payments,
  programs,
  stripeEvents,
  type User,
} from "../../../db/schema/mod.ts";
import { startSession } from "../../../server/features/auth/service.ts";
import {
  addLesson,
  addModule,
} from "../../../server/features/curriculum/service.ts";
import { createUser } from "../../../server/features/users/service.ts";
import type { CreateProgramInput } from "../../../server/features/programs/schemas.ts";
import { api, type TestContext } from "../../helpers/context.ts";
import { makeProgram, uniqueEmail } from "../../helpers/factories.ts";
import type { FakeStripe } from "../../helpers/fake_stripe.ts";

export interface Learner {
  user: User;
  token: string;
}

/**
 * A signed-in account through the real session service. No password (as after OAuth sign-up):
 * argon2 for every learner would dominate the run.
 */
export async function learner(
  ctx: TestContext,
  role: "student" | "instructor" | "admin" = "student",
): Promise<Learner> {
  const user = await createUser(ctx.deps.db, {
    email: uniqueEmail(role),
    name: `Test ${role}`,
    password: null,
    role,
    emailVerified: true,
  });
  const { token } = await startSession(ctx.deps, user, {});
  return { user, token };
}

/** A published program (default pricing, bundle 34.99 USD) with one lesson. */
export async function programWithLesson(
  ctx: TestContext,
  owner: Pick<User, "id" | "role">,
  fields: Partial<CreateProgramInput> = {},
) {
  const program = await makeProgram(ctx, owner, fields);
  const module = await addModule(ctx.deps, owner, program.id, {
    title: "Module one",
  });
  const lesson = await addLesson(ctx.deps, owner, program.id, module.id, {
    title: "Lesson one",
    content: "# Secret lesson content",
  });
  return { program, lessonId: lesson.id };
}

export const createIntent = (
  ctx: TestContext,
  token: string,
  body: { programId: string; accessType?: string; amount?: number },
  headers: Record<string, string> = {},
) =>
  api(ctx, "POST", "/api/payments/create-intent", {
    token,
    headers,
    body: { accessType: "bundle", ...body },
  });

export const enrollWith = (
  ctx: TestContext,
  token: string,
  programId: string,
  body: { accessType: AccessType | string; paymentIntentId?: string },
) => api(ctx, "POST", `/api/programs/${programId}/enroll`, { token, body });

/** create-intent for the learner; returns the PaymentIntent id and our transaction id. */
export async function startPayment(
  ctx: TestContext,
  who: Learner,
  programId: string,
  accessType: AccessType = "bundle",
): Promise<{ piId: string; transactionId: string }> {
  const res = await createIntent(ctx, who.token, { programId, accessType });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return {
    piId: res.body.paymentIntentId,
    transactionId: res.body.transactionId,
  };
}

export async function paymentByIntent(ctx: TestContext, piId: string) {
  const [row] = await ctx.deps.db.select().from(payments).where(
    eq(payments.stripePaymentIntentId, piId),
  );
  assert.ok(row, `a payment row for ${piId}`);
  return row;
}

export async function grantsOf(
  ctx: TestContext,
  userId: string,
  programId: string,
) {
  return await ctx.deps.db.select().from(accessGrants).where(and(
    eq(accessGrants.userId, userId),
    eq(accessGrants.programId, programId),
  ));
}

export async function enrollmentsOf(
  ctx: TestContext,
  userId: string,
  programId: string,
) {
  return await ctx.deps.db.select().from(enrollments).where(and(
    eq(enrollments.userId, userId),
    eq(enrollments.programId, programId),
  ));
}

export async function emailsOf(ctx: TestContext, to: string, template: string) {
  return await ctx.deps.db.select().from(outboxMessages).where(and(
    eq(outboxMessages.to, to),
    eq(outboxMessages.template, template),
  ));
}

export async function eventRows(ctx: TestContext, id: string) {
  return await ctx.deps.db.select().from(stripeEvents).where(
    eq(stripeEvents.id, id),
  );
}

export async function enrolledCount(ctx: TestContext, programId: string) {
  const [row] = await ctx.deps.db.select({ n: programs.enrolledCount }).from(
    programs,
  ).where(eq(programs.id, programId));
  return row!.n;
}

/** The PaymentIntents the fake Stripe was asked to create for one user. */
export const intentsCreatedFor = (stripe: FakeStripe, userId: string) =>
  stripe.requests.filter((r) =>
    r.method === "POST" && r.path === "/v1/payment_intents" &&
    r.body.metadata?.userId === userId
  );

export const readLesson = (
  ctx: TestContext,
  token: string,
  programId: string,
  lessonId: string,
) =>
  api(ctx, "GET", `/api/programs/${programId}/lessons/${lessonId}`, { token });
