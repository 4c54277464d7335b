import assert from "node:assert/strict";
import { and, asc, eq } from "drizzle-orm";
import {
  enrollments,
  invoices,
  outboxMessages,
  payments,
  stripeEvents,
  subscriptions,
  type User,
  users,
} from "../../../db/schema/mod.ts";
import { startSession } from "../../../server/features/auth/service.ts";
import { createUser } from "../../../server/features/users/service.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import {
  latestEmail,
  makeProgram,
  uniqueEmail,
} from "../../helpers/factories.ts";
import {
  deliverEvent,
  type FakeStripe,
  signedEvent,
  startFakeStripe,
} from "../../helpers/fake_stripe.ts";

// deno-lint-ignore no-explicit-any
type StripeObject = Record<string, any>;
type Login = { user: User; token: string };

const DAY_MS = 86_400_000;
const DAY_SECONDS = 86_400;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * A signed-in account without a password (as after OAuth sign-up), through the real session
 * service: argon2 for every account would dominate the run.
 */
async function account(
  ctx: TestContext,
  label: string,
  role: "student" | "instructor" = "student",
): Promise<Login> {
  const user = await createUser(ctx.deps.db, {
    email: uniqueEmail(label),
    name: label,
    password: null,
    role,
    emailVerified: true,
  });
  const { token } = await startSession(ctx.deps, user, {});
  return { user, token };
}

const subscribe = (
  ctx: TestContext,
  token: string | undefined,
  body: unknown,
) =>
  api(ctx, "POST", "/api/subscriptions/subscribe", {
    ...(token ? { token } : {}),
    body,
  });

async function subscriptionRows(ctx: TestContext, userId: string) {
  return await ctx.deps.db.select().from(subscriptions).where(
    eq(subscriptions.userId, userId),
  ).orderBy(asc(subscriptions.createdAt));
}

async function userRow(ctx: TestContext, userId: string) {
  const [row] = await ctx.deps.db.select().from(users).where(
    eq(users.id, userId),
  );
  return row!;
}

async function emailsOf(ctx: TestContext, to: string, template: string) {
  return await ctx.deps.db.select().from(outboxMessages).where(
    and(eq(outboxMessages.to, to), eq(outboxMessages.template, template)),
  );
}

/** Requests the fake Stripe received that concern one user (by metadata or their customer id). */
function stripeRequestsOf(
  fake: FakeStripe,
  method: string,
  pathPattern: RegExp,
  match: (body: StripeObject) => boolean = () => true,
) {
  return fake.requests.filter((r) =>
    r.method === method && pathPattern.test(r.path) && match(r.body)
  );
}

/** A Stripe subscription as the fake keeps it, cloned and changed, for a webhook payload. */
function remoteSubscription(
  fake: FakeStripe,
  id: string,
  changes: StripeObject = {},
): StripeObject {
  const stored = fake.subscriptions.get(id);
  if (!stored) throw new Error(`the fake has no subscription ${id}`);
  const copy = structuredClone(stored);
  // Webhooks carry the invoice id, not the expanded invoice.
  if (typeof copy.latest_invoice === "object") {
    copy.latest_invoice = copy.latest_invoice.id;
  }
  return { ...copy, ...changes };
}

async function deliver(
  ctx: TestContext,
  type: string,
  object: StripeObject,
  options: { id?: string; created?: number } = {},
) {
  const response = await deliverEvent(
    ctx,
    await signedEvent(type, object, options),
  );
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.equal(response.body.received, true);
  return response.body as { outcome: string; duplicate: boolean };
}

/** A program with one lesson, created by its owner through the curriculum API. */
async function programWithLesson(
  ctx: TestContext,
  owner: Login,
  level: "Beginner" | "Intermediate" | "Advanced" | "All Levels",
) {
  const program = await makeProgram(ctx, owner.user, {
    title: `${level} program`,
    level,
  });
  const module = await api(ctx, "POST", `/api/programs/${program.id}/modules`, {
    token: owner.token,
    body: { title: "Module one" },
  });
  assert.equal(module.status, 201, JSON.stringify(module.body));
  const lesson = await api(
    ctx,
    "POST",
    `/api/programs/${program.id}/modules/${module.body.module.id}/lessons`,
    {
      token: owner.token,
      body: { title: "Lesson one", content: "# Hello\n\nThe content." },
    },
  );
  assert.equal(lesson.status, 201, JSON.stringify(lesson.body));
  return {
    program,
    lessonPath: `/api/programs/${program.id}/lessons/${lesson.body.lesson.id}`,
  };
}

const assertNear = (iso: string, expectedMs: number, label: string) => {
  const delta = Math.abs(new Date(iso).getTime() - expectedMs);
  assert.ok(delta < 5 * 60_000, `${label}: ${iso} is near ${expectedMs}`);
};

Deno.test("subscriptions: plans, Stripe billing, access and webhooks", async (t) => {
  const fake = startFakeStripe();
  const ctx = await createTestContext(fake.env);
  try {
    const owner = await account(ctx, "owner", "instructor");
    const beginner = await programWithLesson(ctx, owner, "Beginner");
    const advanced = await programWithLesson(ctx, owner, "Advanced");
    const alice = await account(ctx, "alice"); // basic, cancels, ended by webhook
    const bob = await account(ctx, "bob"); // premium, renewed by invoice
    let aliceSubscription: { id: string; stripeSubscriptionId: string };
    let bobStripeId: string;

    await t.step(
      "GET /plans lists free, basic and premium in 002's shape",
      async () => {
        const res = await api(ctx, "GET", "/api/subscriptions/plans");
        assert.equal(res.status, 200);
        assert.equal(res.body.success, true);
        const plans = res.body.plans as StripeObject[];
        assert.deepEqual(plans.map((p) => p.id), ["free", "basic", "premium"]);
        assert.deepEqual(plans.map((p) => p.price), [0, 19.99, 39.99]);
        assert.deepEqual(plans.map((p) => p.name), [
          "Free",
          "Basic",
          "Premium",
        ]);
        assert.deepEqual(plans.map((p) => p.billingCycle), [
          null,
          "monthly",
          "monthly",
        ]);
        assert.deepEqual(plans.map((p) => p.limits.aiMessages), [10, 100, -1]);
        assert.deepEqual(plans.map((p) => p.limits.programs), [5, -1, -1]);
        for (const plan of plans) {
          assert.ok(Array.isArray(plan.features) && plan.features.length > 0);
          assert.ok(plan.features.every((f: unknown) => typeof f === "string"));
          assert.equal(typeof plan.limits.aiTokensPerMessage, "number");
          assert.ok(plan.limits.aiTokensPerMessage > 0);
          assert.equal(plan.currency, "usd");
          assert.equal("covers" in plan, false, "internal fields stay inside");
          assert.equal("rank" in plan, false);
        }
      },
    );

    await t.step(
      "subscribing needs a session, a paid plan and a pm_ id",
      async () => {
        const before = fake.requests.length;
        const anonymous = await subscribe(ctx, undefined, {
          planId: "basic",
          paymentMethodId: "pm_card_visa",
        });
        assert.equal(anonymous.status, 401);
        const bad = [
          { planId: "free", paymentMethodId: "pm_card_visa" },
          { planId: "gold", paymentMethodId: "pm_card_visa" },
          { planId: "basic", paymentMethodId: "card_visa" },
          { planId: "basic", paymentMethodId: "pm_card visa; drop" },
          { planId: "basic", paymentMethodId: 42 },
          { planId: "basic" },
          { planId: "basic", paymentMethodId: "pm_card_visa", extra: true },
        ];
        for (const body of bad) {
          const res = await subscribe(ctx, alice.token, body);
          assert.equal(res.status, 422, JSON.stringify(body));
          assert.equal(res.body.success, false);
        }
        assert.equal(fake.requests.length, before, "Stripe was never called");
        assert.deepEqual(await subscriptionRows(ctx, alice.user.id), []);
      },
    );

    await t.step(
      "GET /current on the free plan: planId free, no subscription",
      async () => {
        const anonymous = await api(ctx, "GET", "/api/subscriptions/current");
        assert.equal(anonymous.status, 401);
        const res = await api(ctx, "GET", "/api/subscriptions/current", {
          token: alice.token,
        });
        assert.equal(res.status, 200);
        assert.equal(res.body.planId, "free");
        assert.equal(res.body.subscription, null);
      },
    );

    await t.step(
      "a free learner gets 402 on lessons, with the plans that would open them",
      async () => {
        const res = await api(ctx, "GET", beginner.lessonPath, {
          token: alice.token,
        });
        assert.equal(res.status, 402);
        assert.equal(res.body.error.code, "PAYMENT_REQUIRED");
        assert.deepEqual(res.body.error.details.plans, ["basic", "premium"]);
      },
    );

    await t.step(
      "subscribe basic: Stripe customer, card, subscription, invoice, tier, email",
      async () => {
        const res = await subscribe(ctx, alice.token, {
          planId: "basic",
          paymentMethodId: "pm_card_visa",
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        const { subscription, invoice } = res.body;
        assert.equal(subscription.planId, "basic");
        assert.equal(subscription.planName, "Basic");
        assert.equal(subscription.status, "active");
        assert.equal(subscription.source, "stripe");
        assert.equal(subscription.cancelAtPeriodEnd, false);
        assert.equal(subscription.amount, 19.99);
        assertNear(
          subscription.currentPeriodEnd,
          Date.now() + 30 * DAY_MS,
          "currentPeriodEnd",
        );
        assert.equal(
          subscription.nextBillingDate,
          subscription.currentPeriodEnd,
        );
        assert.equal(invoice.amount, 19.99);
        assert.equal(invoice.status, "paid");
        assert.equal(invoice.currency, "usd");
        assert.match(invoice.invoiceUrl, /^https:\/\/invoice\.stripe\.test\//);
        assert.match(invoice.stripeInvoiceId, /^in_/);

        // What Stripe was asked.
        const customerCalls = stripeRequestsOf(
          fake,
          "POST",
          /^\/v1\/customers$/,
          (b) => b.metadata?.userId === alice.user.id,
        );
        assert.equal(customerCalls.length, 1);
        assert.equal(
          customerCalls[0]!.idempotencyKey,
          `lectern-customer-${alice.user.id}`,
        );
        assert.equal(customerCalls[0]!.body.email, alice.user.email);
        assert.equal(
          customerCalls[0]!.authorization,
          "Bearer sk_test_lectern_fake",
        );
        const row = await userRow(ctx, alice.user.id);
        assert.match(row.stripeCustomerId ?? "", /^cus_/);
        assert.ok(fake.customers.has(row.stripeCustomerId!));
        const attach = stripeRequestsOf(
          fake,
          "POST",
          /^\/v1\/payment_methods\/pm_card_visa\/attach$/,
          (b) => b.customer === row.stripeCustomerId,
        );
        assert.equal(attach.length, 1);
        const created = stripeRequestsOf(
          fake,
          "POST",
          /^\/v1\/subscriptions$/,
          (b) => b.metadata?.userId === alice.user.id,
        );
        assert.equal(created.length, 1);
        assert.equal(created[0]!.body.customer, row.stripeCustomerId);
        assert.equal(created[0]!.body.items[0].price, "price_basic_monthly");
        assert.equal(created[0]!.body.metadata.planId, "basic");
        assert.equal(created[0]!.body.default_payment_method, "pm_card_visa");

        // What Lectern recorded.
        assert.equal(row.subscriptionTier, "basic");
        const [saved, ...others] = await subscriptionRows(ctx, alice.user.id);
        assert.equal(others.length, 0);
        assert.equal(saved!.id, subscription.id);
        assert.equal(saved!.status, "active");
        assert.equal(saved!.planId, "basic");
        assert.equal(saved!.amount, 1999);
        assert.ok(fake.subscriptions.has(saved!.stripeSubscriptionId!));
        aliceSubscription = {
          id: saved!.id,
          stripeSubscriptionId: saved!.stripeSubscriptionId!,
        };
        const invoiceRows = await ctx.deps.db.select().from(invoices).where(
          eq(invoices.userId, alice.user.id),
        );
        assert.equal(invoiceRows.length, 1);
        assert.equal(invoiceRows[0]!.subscriptionId, saved!.id);
        assert.equal(invoiceRows[0]!.amount, 1999);
        const email = await latestEmail(ctx, alice.user.email);
        assert.equal(email.template, "subscription_started");
        assert.match(email.text, /Basic/);

        const profile = await api(ctx, "GET", "/api/users/profile", {
          token: alice.token,
        });
        assert.equal(profile.status, 200);
        assert.equal(profile.body.user.subscriptionTier, "basic");
        assert.equal(
          profile.body.user.subscriptionExpiry,
          subscription.currentPeriodEnd,
        );
      },
    );

    await t.step(
      "a second subscribe is 409 ALREADY_SUBSCRIBED and calls Stripe for nothing",
      async () => {
        const before = fake.requests.length;
        for (const planId of ["basic", "premium"]) {
          const res = await subscribe(ctx, alice.token, {
            planId,
            paymentMethodId: "pm_card_visa",
          });
          assert.equal(res.status, 409);
          assert.equal(res.body.error.code, "ALREADY_SUBSCRIBED");
        }
        assert.equal(fake.requests.length, before);
        assert.equal((await subscriptionRows(ctx, alice.user.id)).length, 1);
      },
    );

    await t.step(
      "GET /current for a subscriber is in 002's shape",
      async () => {
        const res = await api(ctx, "GET", "/api/subscriptions/current", {
          token: alice.token,
        });
        assert.equal(res.status, 200);
        assert.equal(res.body.planId, "basic");
        const s = res.body.subscription;
        assert.equal(s.id, aliceSubscription.id);
        assert.equal(s.planName, "Basic");
        assert.equal(s.status, "active");
        assert.equal(s.amount, 19.99);
        assert.equal(s.currency, "usd");
        assert.equal(s.cancelAtPeriodEnd, false);
        assert.equal(s.nextBillingDate, s.currentPeriodEnd);
        assertNear(
          s.nextBillingDate,
          Date.now() + 30 * DAY_MS,
          "nextBillingDate",
        );
      },
    );

    await t.step(
      "basic opens Beginner lessons but not Advanced ones (402 names premium)",
      async () => {
        const open = await api(ctx, "GET", beginner.lessonPath, {
          token: alice.token,
        });
        assert.equal(open.status, 200, JSON.stringify(open.body));
        assert.equal(open.body.lesson.title, "Lesson one");
        assert.match(open.body.lesson.content, /The content/);
        const closed = await api(ctx, "GET", advanced.lessonPath, {
          token: alice.token,
        });
        assert.equal(closed.status, 402);
        assert.equal(closed.body.error.code, "PAYMENT_REQUIRED");
        assert.deepEqual(closed.body.error.details.plans, ["premium"]);
        assert.equal(closed.body.error.details.programId, advanced.program.id);
      },
    );

    await t.step(
      "enrolling with bundle in a plan-covered program needs no payment",
      async () => {
        const intentsBefore = stripeRequestsOf(
          fake,
          "POST",
          /^\/v1\/payment_intents/,
        ).length;
        const res = await api(
          ctx,
          "POST",
          `/api/programs/${beginner.program.id}/enroll`,
          { token: alice.token, body: { accessType: "bundle" } },
        );
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.alreadyEnrolled, false);
        assert.deepEqual(res.body.enrollment.access, {
          chatbot: true,
          documentation: true,
          examSimulator: true,
        });
        const rows = await ctx.deps.db.select().from(enrollments).where(and(
          eq(enrollments.userId, alice.user.id),
          eq(enrollments.programId, beginner.program.id),
        ));
        assert.equal(rows.length, 1);
        const paid = await ctx.deps.db.select().from(payments).where(
          eq(payments.userId, alice.user.id),
        );
        assert.deepEqual(paid, []);
        assert.equal(
          stripeRequestsOf(fake, "POST", /^\/v1\/payment_intents/).length,
          intentsBefore,
        );
        const notCovered = await api(
          ctx,
          "POST",
          `/api/programs/${advanced.program.id}/enroll`,
          { token: alice.token, body: { accessType: "bundle" } },
        );
        assert.equal(notCovered.status, 402);
        assert.equal(notCovered.body.error.code, "PAYMENT_REQUIRED");
      },
    );

    await t.step("premium opens Beginner and Advanced lessons", async () => {
      const res = await subscribe(ctx, bob.token, {
        planId: "premium",
        paymentMethodId: "pm_card_visa",
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.subscription.planId, "premium");
      assert.equal(res.body.subscription.amount, 39.99);
      assert.equal(res.body.invoice.amount, 39.99);
      const [created] = stripeRequestsOf(
        fake,
        "POST",
        /^\/v1\/subscriptions$/,
        (b) => b.metadata?.userId === bob.user.id,
      );
      assert.equal(created!.body.items[0].price, "price_premium_monthly");
      assert.equal(
        (await userRow(ctx, bob.user.id)).subscriptionTier,
        "premium",
      );
      for (const path of [beginner.lessonPath, advanced.lessonPath]) {
        const lesson = await api(ctx, "GET", path, { token: bob.token });
        assert.equal(
          lesson.status,
          200,
          `${path}: ${JSON.stringify(lesson.body)}`,
        );
      }
      const [row] = await subscriptionRows(ctx, bob.user.id);
      bobStripeId = row!.stripeSubscriptionId!;
    });

    await t.step(
      "a declined card is 402 PAYMENT_FAILED and records no subscription",
      async () => {
        const carol = await account(ctx, "carol");
        const res = await subscribe(ctx, carol.token, {
          planId: "basic",
          paymentMethodId: "pm_card_chargeDeclined",
        });
        assert.equal(res.status, 402, JSON.stringify(res.body));
        assert.equal(res.body.error.code, "PAYMENT_FAILED");
        assert.equal(res.body.error.details.declineCode, "generic_decline");
        assert.deepEqual(await subscriptionRows(ctx, carol.user.id), []);
        assert.equal(
          stripeRequestsOf(
            fake,
            "POST",
            /^\/v1\/subscriptions$/,
            (b) => b.metadata?.userId === carol.user.id,
          ).length,
          0,
          "no subscription was asked of Stripe",
        );
        assert.equal(
          (await userRow(ctx, carol.user.id)).subscriptionTier,
          "free",
        );
        assert.equal(
          (await emailsOf(ctx, carol.user.email, "subscription_started"))
            .length,
          0,
        );
        const current = await api(ctx, "GET", "/api/subscriptions/current", {
          token: carol.token,
        });
        assert.equal(current.body.planId, "free");

        // Another card works, with the customer made on the first try.
        const retry = await subscribe(ctx, carol.token, {
          planId: "basic",
          paymentMethodId: "pm_card_visa",
        });
        assert.equal(retry.status, 201, JSON.stringify(retry.body));
        assert.equal(retry.body.subscription.status, "active");
        assert.equal(
          stripeRequestsOf(
            fake,
            "POST",
            /^\/v1\/customers$/,
            (b) => b.metadata?.userId === carol.user.id,
          ).length,
          1,
        );
        assert.equal((await subscriptionRows(ctx, carol.user.id)).length, 1);
      },
    );

    await t.step(
      "an Idempotency-Key replays the first subscribe without calling Stripe again",
      async () => {
        const ivy = await account(ctx, "ivy");
        const send = () =>
          api(ctx, "POST", "/api/subscriptions/subscribe", {
            token: ivy.token,
            headers: { "Idempotency-Key": "subscribe-ivy-1" },
            body: { planId: "basic", paymentMethodId: "pm_card_visa" },
          });
        const first = await send();
        assert.equal(first.status, 201, JSON.stringify(first.body));
        const second = await send();
        assert.equal(second.status, 201);
        assert.deepEqual(second.body, first.body);
        assert.equal(
          stripeRequestsOf(
            fake,
            "POST",
            /^\/v1\/subscriptions$/,
            (b) => b.metadata?.userId === ivy.user.id,
          ).length,
          1,
        );
        assert.equal((await subscriptionRows(ctx, ivy.user.id)).length, 1);
        assert.equal(
          (await emailsOf(ctx, ivy.user.email, "subscription_started")).length,
          1,
        );
      },
    );

    await t.step(
      "cancel: Stripe cancels at period end, access stays, one email, idempotent",
      async () => {
        const anonymous = await api(ctx, "POST", "/api/subscriptions/cancel");
        assert.equal(anonymous.status, 401);
        const res = await api(ctx, "POST", "/api/subscriptions/cancel", {
          token: alice.token,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.subscription.cancelAtPeriodEnd, true);
        assert.equal(res.body.subscription.nextBillingDate, null);
        assert.equal(res.body.subscription.status, "active");
        assertNear(
          res.body.subscription.currentPeriodEnd,
          Date.now() + 30 * DAY_MS,
          "access until",
        );
        const path =
          `/v1/subscriptions/${aliceSubscription.stripeSubscriptionId}`;
        const updates = fake.requests.filter((r) =>
          r.method === "POST" && r.path === path
        );
        assert.equal(updates.length, 1);
        assert.equal(updates[0]!.body.cancel_at_period_end, "true");
        const [row] = await subscriptionRows(ctx, alice.user.id);
        assert.equal(row!.cancelAtPeriodEnd, true);
        assert.equal(row!.status, "active");
        assert.equal(
          (await userRow(ctx, alice.user.id)).subscriptionTier,
          "basic",
        );
        const lesson = await api(ctx, "GET", beginner.lessonPath, {
          token: alice.token,
        });
        assert.equal(lesson.status, 200, "access lasts until the period ends");
        const emails = await emailsOf(
          ctx,
          alice.user.email,
          "subscription_canceled",
        );
        assert.equal(emails.length, 1);

        const again = await api(ctx, "POST", "/api/subscriptions/cancel", {
          token: alice.token,
        });
        assert.equal(again.status, 200);
        assert.equal(again.body.subscription.cancelAtPeriodEnd, true);
        assert.equal(again.body.subscription.id, aliceSubscription.id);
        assert.equal(
          fake.requests.filter((r) => r.method === "POST" && r.path === path)
            .length,
          1,
          "Stripe is not asked twice",
        );
        assert.equal(
          (await emailsOf(ctx, alice.user.email, "subscription_canceled"))
            .length,
          1,
          "one email",
        );
        const current = await api(ctx, "GET", "/api/subscriptions/current", {
          token: alice.token,
        });
        assert.equal(current.body.planId, "basic");
        assert.equal(current.body.subscription.nextBillingDate, null);
        const resubscribe = await subscribe(ctx, alice.token, {
          planId: "basic",
          paymentMethodId: "pm_card_visa",
        });
        assert.equal(
          resubscribe.status,
          409,
          "still subscribed until period end",
        );
      },
    );

    await t.step("cancel with no subscription is 404", async () => {
      const nobody = await account(ctx, "nobody");
      const res = await api(ctx, "POST", "/api/subscriptions/cancel", {
        token: nobody.token,
      });
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, "NOT_FOUND");
      assert.equal(
        (await emailsOf(ctx, nobody.user.email, "subscription_canceled"))
          .length,
        0,
      );
    });

    await t.step(
      "webhooks out of order: an older subscription event is ignored",
      async () => {
        const base = nowSeconds();
        const t1 = base - 100;
        const t2 = base - 50;
        const newer = await deliver(
          ctx,
          "customer.subscription.updated",
          remoteSubscription(fake, aliceSubscription.stripeSubscriptionId, {
            status: "past_due",
          }),
          { created: t2 },
        );
        assert.equal(newer.outcome, "recorded");
        assert.equal(newer.duplicate, false);
        let [row] = await subscriptionRows(ctx, alice.user.id);
        assert.equal(row!.status, "past_due");
        assert.equal(row!.lastEventAt?.getTime(), t2 * 1000);
        const stillOpen = await api(ctx, "GET", beginner.lessonPath, {
          token: alice.token,
        });
        assert.equal(
          stillOpen.status,
          200,
          "past_due keeps access while Stripe retries",
        );

        const older = await deliver(
          ctx,
          "customer.subscription.updated",
          remoteSubscription(fake, aliceSubscription.stripeSubscriptionId, {
            status: "active",
          }),
          { created: t1 },
        );
        assert.equal(older.outcome, "stale event ignored");
        [row] = await subscriptionRows(ctx, alice.user.id);
        assert.equal(
          row!.status,
          "past_due",
          "the older event changed nothing",
        );
        assert.equal(row!.lastEventAt?.getTime(), t2 * 1000);
      },
    );

    await t.step(
      "customer.subscription.deleted ends access; late events do not resurrect it; replays are duplicates",
      async () => {
        const endedAt = nowSeconds();
        const deletedId = `evt_deleted_${crypto.randomUUID()}`;
        const deleted = await deliver(
          ctx,
          "customer.subscription.deleted",
          remoteSubscription(fake, aliceSubscription.stripeSubscriptionId, {
            status: "canceled",
            ended_at: endedAt,
            canceled_at: endedAt,
          }),
          { id: deletedId, created: endedAt - 10 },
        );
        assert.equal(deleted.outcome, "recorded");
        let [row] = await subscriptionRows(ctx, alice.user.id);
        assert.equal(row!.status, "canceled");
        assert.ok(row!.canceledAt, "canceledAt is set");
        assert.ok(row!.currentPeriodEnd.getTime() <= Date.now());
        assert.equal(
          (await userRow(ctx, alice.user.id)).subscriptionTier,
          "free",
        );
        const lesson = await api(ctx, "GET", beginner.lessonPath, {
          token: alice.token,
        });
        assert.equal(lesson.status, 402);
        assert.equal(lesson.body.error.code, "PAYMENT_REQUIRED");
        const current = await api(ctx, "GET", "/api/subscriptions/current", {
          token: alice.token,
        });
        assert.equal(current.body.planId, "free");
        assert.equal(current.body.subscription, null);

        for (const created of [endedAt + 60, endedAt - 5, endedAt - 3600]) {
          const late = await deliver(
            ctx,
            "customer.subscription.updated",
            remoteSubscription(fake, aliceSubscription.stripeSubscriptionId, {
              status: "active",
              cancel_at_period_end: false,
            }),
            { created },
          );
          assert.ok(
            ["already canceled", "stale event ignored"].includes(late.outcome),
            late.outcome,
          );
          [row] = await subscriptionRows(ctx, alice.user.id);
          assert.equal(row!.status, "canceled", `created ${created}`);
          assert.equal(
            (await userRow(ctx, alice.user.id)).subscriptionTier,
            "free",
          );
        }
        const stillClosed = await api(ctx, "GET", beginner.lessonPath, {
          token: alice.token,
        });
        assert.equal(stillClosed.status, 402);

        const replay = await deliver(
          ctx,
          "customer.subscription.deleted",
          remoteSubscription(fake, aliceSubscription.stripeSubscriptionId, {
            status: "canceled",
            ended_at: endedAt,
          }),
          { id: deletedId, created: endedAt - 10 },
        );
        assert.equal(replay.duplicate, true);
        assert.equal(
          replay.outcome,
          "recorded",
          "the first outcome is replayed",
        );
        const events = await ctx.deps.db.select().from(stripeEvents).where(
          eq(stripeEvents.id, deletedId),
        );
        assert.equal(events.length, 1);

        const noSubscription = await api(
          ctx,
          "POST",
          "/api/subscriptions/cancel",
          {
            token: alice.token,
          },
        );
        assert.equal(noSubscription.status, 404);
      },
    );

    await t.step(
      "after the subscription ended, subscribing again reuses the Stripe customer",
      async () => {
        const customerId = (await userRow(ctx, alice.user.id)).stripeCustomerId;
        const res = await subscribe(ctx, alice.token, {
          planId: "basic",
          paymentMethodId: "pm_card_mastercard",
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.subscription.status, "active");
        assert.notEqual(res.body.subscription.id, aliceSubscription.id);
        assert.equal(
          stripeRequestsOf(
            fake,
            "POST",
            /^\/v1\/customers$/,
            (b) => b.metadata?.userId === alice.user.id,
          ).length,
          1,
          "one customers.create for the user, ever",
        );
        const creates = stripeRequestsOf(
          fake,
          "POST",
          /^\/v1\/subscriptions$/,
          (b) => b.metadata?.userId === alice.user.id,
        );
        assert.equal(creates.length, 2);
        assert.equal(creates[1]!.body.customer, customerId);
        assert.equal(
          (await userRow(ctx, alice.user.id)).stripeCustomerId,
          customerId,
        );
        assert.equal(
          (await userRow(ctx, alice.user.id)).subscriptionTier,
          "basic",
        );
        const lesson = await api(ctx, "GET", beginner.lessonPath, {
          token: alice.token,
        });
        assert.equal(lesson.status, 200);
      },
    );

    await t.step(
      "after the subscription ended, subscribing again with the same card starts a new subscription",
      async () => {
        const erin = await account(ctx, "erin");
        const first = await subscribe(ctx, erin.token, {
          planId: "basic",
          paymentMethodId: "pm_card_visa",
        });
        assert.equal(first.status, 201, JSON.stringify(first.body));
        const [row] = await subscriptionRows(ctx, erin.user.id);
        const endedAt = nowSeconds();
        const deleted = await deliver(
          ctx,
          "customer.subscription.deleted",
          remoteSubscription(fake, row!.stripeSubscriptionId!, {
            status: "canceled",
            ended_at: endedAt,
            canceled_at: endedAt,
          }),
          { created: endedAt },
        );
        assert.equal(deleted.outcome, "recorded");
        assert.equal(
          (await userRow(ctx, erin.user.id)).subscriptionTier,
          "free",
        );

        const again = await subscribe(ctx, erin.token, {
          planId: "basic",
          paymentMethodId: "pm_card_visa",
        });
        assert.equal(again.status, 201, JSON.stringify(again.body));
        assert.equal(
          again.body.subscription.status,
          "active",
          "a new, active subscription (not the ended one replayed)",
        );
        assert.notEqual(again.body.subscription.id, row!.id);
        assert.equal(
          (await userRow(ctx, erin.user.id)).subscriptionTier,
          "basic",
        );
        const lesson = await api(ctx, "GET", beginner.lessonPath, {
          token: erin.token,
        });
        assert.equal(lesson.status, 200);
      },
    );

    await t.step(
      "invoice.payment_succeeded renews the period and records the invoice once",
      async () => {
        const [before] = await subscriptionRows(ctx, bob.user.id);
        const stored = fake.subscriptions.get(bobStripeId)!;
        const firstInvoice = stored.latest_invoice as StripeObject;
        const newEnd = nowSeconds() + 60 * DAY_SECONDS;
        const renewal = {
          ...structuredClone(firstInvoice),
          id: `in_renewal_${crypto.randomUUID().slice(0, 8)}`,
          created: nowSeconds() + 3600,
          hosted_invoice_url: "https://invoice.stripe.test/renewal",
          invoice_pdf: "https://invoice.stripe.test/renewal.pdf",
          lines: {
            object: "list",
            data: [{
              period: {
                start: Math.floor(before!.currentPeriodEnd.getTime() / 1000),
                end: newEnd,
              },
            }],
          },
        };
        const first = await deliver(ctx, "invoice.payment_succeeded", renewal);
        assert.equal(first.outcome, "subscription renewed");
        const [after] = await subscriptionRows(ctx, bob.user.id);
        assert.equal(after!.currentPeriodEnd.getTime(), newEnd * 1000);
        assert.equal(after!.status, "active");
        const current = await api(ctx, "GET", "/api/subscriptions/current", {
          token: bob.token,
        });
        assert.equal(
          current.body.subscription.currentPeriodEnd,
          new Date(newEnd * 1000).toISOString(),
        );
        const rowsOf = () =>
          ctx.deps.db.select().from(invoices).where(
            eq(invoices.stripeInvoiceId, renewal.id),
          );
        const rows = await rowsOf();
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.subscriptionId, after!.id);
        assert.equal(rows[0]!.amount, 3999);
        assert.equal(rows[0]!.periodEnd?.getTime(), newEnd * 1000);

        const second = await deliver(ctx, "invoice.payment_succeeded", renewal);
        assert.equal(second.duplicate, false, "another event id");
        assert.equal(second.outcome, "invoice recorded");
        assert.equal((await rowsOf()).length, 1, "one row per Stripe invoice");
        const all = await ctx.deps.db.select().from(invoices).where(
          eq(invoices.userId, bob.user.id),
        );
        assert.equal(all.length, 2);
        const [unchanged] = await subscriptionRows(ctx, bob.user.id);
        assert.equal(unchanged!.currentPeriodEnd.getTime(), newEnd * 1000);

        // GET /invoices: newest first, paginated.
        const anonymous = await api(ctx, "GET", "/api/subscriptions/invoices");
        assert.equal(anonymous.status, 401);
        const page1 = await api(
          ctx,
          "GET",
          "/api/subscriptions/invoices?limit=1",
          {
            token: bob.token,
          },
        );
        assert.equal(page1.status, 200);
        assert.equal(page1.body.invoices.length, 1);
        assert.equal(page1.body.invoices[0].stripeInvoiceId, renewal.id);
        assert.equal(page1.body.invoices[0].amount, 39.99);
        assert.equal(page1.body.invoices[0].status, "paid");
        assert.equal(
          page1.body.invoices[0].invoiceUrl,
          "https://invoice.stripe.test/renewal",
        );
        assert.equal(
          page1.body.invoices[0].downloadUrl,
          "https://invoice.stripe.test/renewal.pdf",
        );
        assert.deepEqual(page1.body.pagination, {
          currentPage: 1,
          totalPages: 2,
          total: 2,
          limit: 1,
          hasNext: true,
          hasPrev: false,
        });
        const page2 = await api(
          ctx,
          "GET",
          "/api/subscriptions/invoices?limit=1&page=2",
          { token: bob.token },
        );
        assert.equal(page2.status, 200);
        assert.equal(page2.body.invoices[0].stripeInvoiceId, firstInvoice.id);
        assert.equal(page2.body.pagination.hasNext, false);
        assert.equal(page2.body.pagination.hasPrev, true);
        const all1 = await api(ctx, "GET", "/api/subscriptions/invoices", {
          token: bob.token,
        });
        assert.deepEqual(
          all1.body.invoices.map((i: { stripeInvoiceId: string }) =>
            i.stripeInvoiceId
          ),
          [renewal.id, firstInvoice.id],
        );
        const bad = await api(
          ctx,
          "GET",
          "/api/subscriptions/invoices?limit=0",
          {
            token: bob.token,
          },
        );
        assert.equal(bad.status, 422);
        const others = await api(ctx, "GET", "/api/subscriptions/invoices", {
          token: owner.token,
        });
        assert.deepEqual(others.body.invoices, [], "only your own invoices");
      },
    );

    await t.step(
      "a subscription created only through a webhook is recorded",
      async () => {
        // Found by the customer id Lectern stored for the user.
        const dave = await account(ctx, "dave");
        const customerId = `cus_webhook_only_${
          crypto.randomUUID().slice(0, 8)
        }`;
        await ctx.deps.db.update(users).set({ stripeCustomerId: customerId })
          .where(eq(users.id, dave.user.id));
        const start = nowSeconds();
        const remote = (
          id: string,
          customer: string,
          price: string,
          metadata: Record<string, string> = {},
        ) => ({
          id,
          object: "subscription",
          customer,
          status: "active",
          cancel_at_period_end: false,
          canceled_at: null,
          ended_at: null,
          created: start,
          metadata,
          items: {
            object: "list",
            data: [{
              id: `si_${id}`,
              object: "subscription_item",
              price: {
                id: price,
                unit_amount: price === "price_basic_monthly" ? 1999 : 3999,
                currency: "usd",
              },
              current_period_start: start,
              current_period_end: start + 30 * DAY_SECONDS,
            }],
          },
        });
        const daveSub = `sub_webhook_only_${crypto.randomUUID().slice(0, 8)}`;
        const byCustomer = await deliver(
          ctx,
          "customer.subscription.created",
          remote(daveSub, customerId, "price_basic_monthly"),
        );
        assert.equal(byCustomer.outcome, "recorded");
        const [daveRow] = await subscriptionRows(ctx, dave.user.id);
        assert.equal(daveRow!.stripeSubscriptionId, daveSub);
        assert.equal(daveRow!.planId, "basic");
        assert.equal(daveRow!.status, "active");
        assert.equal(daveRow!.source, "stripe");
        assert.equal(daveRow!.amount, 1999);
        assert.equal(
          daveRow!.currentPeriodEnd.getTime(),
          (start + 30 * DAY_SECONDS) * 1000,
        );
        assert.equal(
          (await userRow(ctx, dave.user.id)).subscriptionTier,
          "basic",
        );
        const daveCurrent = await api(
          ctx,
          "GET",
          "/api/subscriptions/current",
          {
            token: dave.token,
          },
        );
        assert.equal(daveCurrent.body.planId, "basic");
        const daveLesson = await api(ctx, "GET", beginner.lessonPath, {
          token: dave.token,
        });
        assert.equal(daveLesson.status, 200);

        // Found by metadata.userId, for a customer Lectern has never seen.
        const fay = await account(ctx, "fay");
        const faySub = `sub_webhook_meta_${crypto.randomUUID().slice(0, 8)}`;
        const byMetadata = await deliver(
          ctx,
          "customer.subscription.created",
          remote(faySub, "cus_never_seen_before", "price_premium_monthly", {
            userId: fay.user.id,
          }),
        );
        assert.equal(byMetadata.outcome, "recorded");
        const [fayRow] = await subscriptionRows(ctx, fay.user.id);
        assert.equal(fayRow!.stripeSubscriptionId, faySub);
        assert.equal(fayRow!.planId, "premium");
        assert.equal(
          (await userRow(ctx, fay.user.id)).subscriptionTier,
          "premium",
        );
        const fayLesson = await api(ctx, "GET", advanced.lessonPath, {
          token: fay.token,
        });
        assert.equal(fayLesson.status, 200);

        // Nobody to give it to: acknowledged, nothing recorded.
        const strayId = `sub_stray_${crypto.randomUUID().slice(0, 8)}`;
        const stray = await deliver(
          ctx,
          "customer.subscription.created",
          remote(strayId, "cus_nobody_knows", "price_basic_monthly"),
        );
        assert.equal(stray.outcome, "unknown subscription");
        const strayRows = await ctx.deps.db.select().from(subscriptions).where(
          eq(subscriptions.stripeSubscriptionId, strayId),
        );
        assert.deepEqual(strayRows, []);
      },
    );

    await t.step(
      "a period that ended without any event gives the free tier",
      async () => {
        const gus = await account(ctx, "gus");
        const res = await subscribe(ctx, gus.token, {
          planId: "basic",
          paymentMethodId: "pm_card_visa",
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        const open = await api(ctx, "GET", beginner.lessonPath, {
          token: gus.token,
        });
        assert.equal(open.status, 200);
        await ctx.deps.db.update(subscriptions).set({
          currentPeriodEnd: new Date(Date.now() - DAY_MS),
        }).where(eq(subscriptions.userId, gus.user.id));
        const closed = await api(ctx, "GET", beginner.lessonPath, {
          token: gus.token,
        });
        assert.equal(closed.status, 402);
        assert.equal(closed.body.error.code, "PAYMENT_REQUIRED");
        const current = await api(ctx, "GET", "/api/subscriptions/current", {
          token: gus.token,
        });
        assert.equal(current.body.planId, "free");
        assert.equal(current.body.subscription, null);
        const profile = await api(ctx, "GET", "/api/users/profile", {
          token: gus.token,
        });
        assert.equal(profile.body.user.subscriptionTier, "free");
        assert.equal(profile.body.user.subscriptionExpiry, null);
        const cancel = await api(ctx, "POST", "/api/subscriptions/cancel", {
          token: gus.token,
        });
        assert.equal(cancel.status, 404, "nothing current to cancel");
      },
    );
  } finally {
    await ctx.close();
    await fake.close();
  }
});

Deno.test("subscriptions: a plan without its Stripe price is 503 PAYMENTS_DISABLED", async () => {
  const fake = startFakeStripe();
  const { STRIPE_PRICE_PREMIUM: _unset, ...env } = fake.env;
  const ctx = await createTestContext(env);
  try {
    const hal = await account(ctx, "hal");
    const res = await subscribe(ctx, hal.token, {
      planId: "premium",
      paymentMethodId: "pm_card_visa",
    });
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.equal(res.body.error.code, "PAYMENTS_DISABLED");
    assert.match(res.body.error.message, /STRIPE_PRICE_PREMIUM/);
    assert.deepEqual(res.body.error.details.env, ["STRIPE_PRICE_PREMIUM"]);
    assert.equal(fake.requests.length, 0, "Stripe was never called");
    assert.deepEqual(await subscriptionRows(ctx, hal.user.id), []);
    const plans = await api(ctx, "GET", "/api/subscriptions/plans");
    assert.equal(plans.status, 200, "the plans are still listed");
  } finally {
    await ctx.close();
    await fake.close();
  }
});
