import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { payments } from "../../../db/schema/mod.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { makeProgram } from "../../helpers/factories.ts";
import {
  deliverEvent,
  signedEvent,
  startFakeStripe,
} from "../../helpers/fake_stripe.ts";
import {
  createIntent,
  emailsOf,
  enrolledCount,
  enrollmentsOf,
  enrollWith,
  eventRows,
  grantsOf,
  intentsCreatedFor,
  learner,
  startPayment,
} from "./support.ts";

/**
 * Races between confirmations, unknown events, the status endpoint, Idempotency-Key on
 * create-intent, and Stripe being down.
 */
Deno.test("payments: concurrency, status, idempotency, Stripe down", async (t) => {
  const stripe = startFakeStripe();
  const ctx = await createTestContext(stripe.env);
  try {
    const owner = await learner(ctx, "instructor");

    await t.step(
      "concurrent enroll calls with one succeeded payment: one grant, one email, one 201",
      async () => {
        const buyer = await learner(ctx);
        const program = await makeProgram(ctx, owner.user);
        const { piId } = await startPayment(ctx, buyer, program.id);
        stripe.succeed(piId);
        const responses = await Promise.all(
          Array.from(
            { length: 5 },
            () =>
              enrollWith(ctx, buyer.token, program.id, {
                accessType: "bundle",
                paymentIntentId: piId,
              }),
          ),
        );
        const statuses = responses.map((r) => r.status).sort();
        assert.deepEqual(statuses, [200, 200, 200, 200, 201]);
        assert.equal(
          responses.filter((r) => r.body.alreadyEnrolled === false).length,
          1,
        );
        const grants = await grantsOf(ctx, buyer.user.id, program.id);
        assert.equal(grants.length, 1);
        assert.equal(grants[0]!.status, "active");
        assert.equal(
          (await enrollmentsOf(ctx, buyer.user.id, program.id)).length,
          1,
        );
        assert.equal(
          (await emailsOf(ctx, buyer.user.email, "enrollment_confirmed"))
            .length,
          1,
        );
        assert.equal(await enrolledCount(ctx, program.id), 1);
      },
    );

    await t.step(
      "webhook and client enroll at the same time: one grant, one email",
      async () => {
        const buyer = await learner(ctx);
        const program = await makeProgram(ctx, owner.user);
        const { piId } = await startPayment(ctx, buyer, program.id);
        const event = await signedEvent(
          "payment_intent.succeeded",
          stripe.succeed(piId),
        );
        const [hook, duplicateHook, client] = await Promise.all([
          deliverEvent(ctx, event),
          deliverEvent(ctx, event),
          enrollWith(ctx, buyer.token, program.id, {
            accessType: "bundle",
            paymentIntentId: piId,
          }),
        ]);
        assert.equal(hook.status, 200);
        assert.equal(duplicateHook.status, 200);
        assert.equal(
          [hook.body.duplicate, duplicateHook.body.duplicate].filter(Boolean)
            .length,
          1,
          "one delivery of the event is a duplicate",
        );
        assert.ok([200, 201].includes(client.status), `${client.status}`);
        const firstHook = hook.body.duplicate ? duplicateHook : hook;
        const grantedBy = [
          firstHook.body.outcome === "granted",
          client.status === 201,
        ].filter(Boolean).length;
        assert.equal(grantedBy, 1, "exactly one of them granted");
        assert.equal(
          (await grantsOf(ctx, buyer.user.id, program.id)).length,
          1,
        );
        assert.equal((await eventRows(ctx, event.id)).length, 1);
        assert.equal(
          (await emailsOf(ctx, buyer.user.email, "enrollment_confirmed"))
            .length,
          1,
        );
      },
    );

    await t.step(
      "an event type Lectern does not handle is acknowledged as ignored and logged",
      async () => {
        const event = await signedEvent("customer.created", {
          id: "cus_ignored",
          object: "customer",
          email: "someone@school.test",
        });
        const res = await deliverEvent(ctx, event);
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, {
          received: true,
          outcome: "ignored",
          duplicate: false,
        });
        const [row] = await eventRows(ctx, event.id);
        assert.equal(row!.type, "customer.created");
        assert.equal(row!.outcome, "ignored");
        assert.ok(
          ctx.logger.lines.some((line) =>
            line.eventId === event.id && line.type === "customer.created" &&
            line.msg === "stripe event acknowledged, not handled"
          ),
          "logged",
        );
      },
    );

    await t.step(
      "payment status: by transaction id or PaymentIntent id for the payer, 404 others, admins see it",
      async () => {
        const buyer = await learner(ctx);
        const stranger = await learner(ctx);
        const admin = await learner(ctx, "admin");
        const program = await makeProgram(ctx, owner.user);
        const { piId, transactionId } = await startPayment(
          ctx,
          buyer,
          program.id,
        );
        const get = (id: string, token?: string) =>
          api(ctx, "GET", `/api/payments/status/${id}`, { token });

        const pending = await get(transactionId, buyer.token);
        assert.equal(pending.status, 200);
        assert.equal(pending.body.transaction.status, "pending");
        assert.equal(pending.body.transaction.amount, 34.99);

        await deliverEvent(
          ctx,
          await signedEvent("payment_intent.succeeded", stripe.succeed(piId)),
        );
        const byOurs = await get(transactionId, buyer.token);
        const byStripe = await get(piId, buyer.token);
        for (const res of [byOurs, byStripe]) {
          assert.equal(res.status, 200);
          assert.equal(res.body.success, true);
          assert.equal(res.body.transaction.id, transactionId);
          assert.equal(res.body.transaction.paymentIntentId, piId);
          assert.equal(res.body.transaction.programId, program.id);
          assert.equal(res.body.transaction.accessType, "bundle");
          assert.equal(res.body.transaction.amount, 34.99);
          assert.equal(res.body.transaction.currency, "usd");
          assert.equal(res.body.transaction.status, "succeeded");
          assert.equal(res.body.transaction.refundedAmount, 0);
          assert.ok(res.body.transaction.succeededAt);
        }
        for (const id of [transactionId, piId]) {
          const hidden = await get(id, stranger.token);
          assert.equal(hidden.status, 404);
          assert.equal(hidden.body.error.code, "NOT_FOUND");
        }
        const asAdmin = await get(piId, admin.token);
        assert.equal(asAdmin.status, 200);
        assert.equal(asAdmin.body.transaction.id, transactionId);
        assert.equal((await get("pi_nothing_here", buyer.token)).status, 404);
        assert.equal((await get(transactionId)).status, 401);
      },
    );

    await t.step(
      "Idempotency-Key on create-intent: replayed, refused for another body, per user",
      async () => {
        const buyer = await learner(ctx);
        const other = await learner(ctx);
        const program = await makeProgram(ctx, owner.user);
        const key = { "Idempotency-Key": `intent-${crypto.randomUUID()}` };
        const body = { programId: program.id, accessType: "bundle" };

        const first = await createIntent(ctx, buyer.token, body, key);
        assert.equal(first.status, 201);
        assert.equal(first.headers.get("Idempotent-Replayed"), null);
        const before = stripe.requests.length;
        const replay = await createIntent(ctx, buyer.token, body, key);
        assert.equal(replay.status, 201);
        assert.equal(replay.headers.get("Idempotent-Replayed"), "true");
        assert.deepEqual(replay.body, first.body);
        assert.equal(stripe.requests.length, before, "Stripe not called again");
        assert.equal(intentsCreatedFor(stripe, buyer.user.id).length, 1);

        const reused = await createIntent(ctx, buyer.token, {
          ...body,
          accessType: "chatbot",
        }, key);
        assert.equal(reused.status, 409);
        assert.equal(reused.body.error.code, "IDEMPOTENCY_KEY_REUSED");
        assert.equal(intentsCreatedFor(stripe, buyer.user.id).length, 1);
        const rows = await ctx.deps.db.select().from(payments).where(
          eq(payments.userId, buyer.user.id),
        );
        assert.equal(rows.length, 1);

        const theirs = await createIntent(ctx, other.token, body, key);
        assert.equal(theirs.status, 201);
        assert.equal(theirs.headers.get("Idempotent-Replayed"), null);
        assert.notEqual(
          theirs.body.paymentIntentId,
          first.body.paymentIntentId,
        );
        assert.equal(intentsCreatedFor(stripe, other.user.id).length, 1);

        const invalid = await createIntent(ctx, buyer.token, body, {
          "Idempotency-Key": "x".repeat(256),
        });
        assert.equal(invalid.status, 400);
        assert.equal(invalid.body.error.code, "INVALID_IDEMPOTENCY_KEY");

        // A key whose request failed is forgotten: the client may fix the request and retry.
        const failKey = { "Idempotency-Key": `intent-${crypto.randomUUID()}` };
        const wrong = await createIntent(ctx, other.token, {
          programId: program.id,
          accessType: "chatbot",
          amount: 1,
        }, failKey);
        assert.equal(wrong.status, 409);
        const fixed = await createIntent(ctx, other.token, {
          programId: program.id,
          accessType: "chatbot",
        }, failKey);
        assert.equal(fixed.status, 201);
      },
    );

    await t.step(
      "Stripe down: 502 PAYMENT_PROVIDER_ERROR without internals, the payment marked failed",
      async () => {
        const buyer = await learner(ctx);
        const program = await makeProgram(ctx, owner.user);
        const before = stripe.requests.length;
        stripe.state.down = true;
        let res;
        try {
          res = await createIntent(ctx, buyer.token, { programId: program.id });
        } finally {
          stripe.state.down = false;
        }
        assert.equal(res.status, 502);
        assert.equal(res.body.success, false);
        assert.equal(res.body.error.code, "PAYMENT_PROVIDER_ERROR");
        const text = JSON.stringify(res.body);
        for (const leak of ["bad day", "api_error", "sk_test", "127.0.0.1"]) {
          assert.ok(!text.includes(leak), `no "${leak}" in ${text}`);
        }
        const sent = stripe.requests.slice(before);
        assert.ok(sent.length >= 1);
        assert.equal(
          new Set(sent.map((r) => r.idempotencyKey)).size,
          1,
          "retries reuse one idempotency key",
        );
        const rows = await ctx.deps.db.select().from(payments).where(
          eq(payments.userId, buyer.user.id),
        );
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.status, "failed");
        assert.equal(rows[0]!.stripePaymentIntentId, null);
        assert.ok(rows[0]!.failureMessage);

        const later = await createIntent(ctx, buyer.token, {
          programId: program.id,
        });
        assert.equal(later.status, 201, "works again once Stripe is back");

        // Down while the learner enrolls with a paid PaymentIntent: 502, no grant.
        stripe.succeed(later.body.paymentIntentId);
        stripe.state.down = true;
        let enrolled;
        try {
          enrolled = await enrollWith(ctx, buyer.token, program.id, {
            accessType: "bundle",
            paymentIntentId: later.body.paymentIntentId,
          });
        } finally {
          stripe.state.down = false;
        }
        assert.equal(enrolled.status, 502);
        assert.equal(enrolled.body.error.code, "PAYMENT_PROVIDER_ERROR");
        assert.equal(
          (await grantsOf(ctx, buyer.user.id, program.id)).length,
          0,
        );
      },
    );
  } finally {
    stripe.state.down = false;
    await ctx.close();
    await stripe.close();
  }
});
