import assert from "node:assert/strict";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import { makeProgram } from "../../helpers/factories.ts";
import {
  deliverEvent,
  type FakeStripe,
  signedEvent,
  startFakeStripe,
} from "../../helpers/fake_stripe.ts";
import {
  emailsOf,
  enrolledCount,
  enrollmentsOf,
  enrollWith,
  grantsOf,
  learner,
  paymentByIntent,
  programWithLesson,
  readLesson,
  startPayment,
} from "./support.ts";

/** A learner who paid for the bundle, confirmed by the webhook. */
async function paidLearner(
  ctx: TestContext,
  stripe: FakeStripe,
  programId: string,
) {
  const buyer = await learner(ctx);
  const started = await startPayment(ctx, buyer, programId);
  const hook = await deliverEvent(
    ctx,
    await signedEvent("payment_intent.succeeded", stripe.succeed(started.piId)),
  );
  assert.equal(hook.body.outcome, "granted");
  return { buyer, ...started };
}

/**
 * After a payment succeeds (or does not): refunds, full and partial, in either order with the
 * success, and failure events.
 */
Deno.test("payments: refunds and failures", async (t) => {
  const stripe = startFakeStripe();
  const ctx = await createTestContext(stripe.env);
  try {
    const owner = await learner(ctx, "instructor");

    await t.step(
      "a full refund ends the access: payment and grant refunded, 402, count down, email",
      async () => {
        const { program, lessonId } = await programWithLesson(ctx, owner.user);
        const { buyer, piId, transactionId } = await paidLearner(
          ctx,
          stripe,
          program.id,
        );
        assert.equal(
          (await readLesson(ctx, buyer.token, program.id, lessonId)).status,
          200,
        );
        assert.equal(await enrolledCount(ctx, program.id), 1);

        const refund = await signedEvent(
          "charge.refunded",
          stripe.refundCharge(piId),
        );
        const res = await deliverEvent(ctx, refund);
        assert.equal(res.status, 200);
        assert.equal(res.body.outcome, "refunded, access revoked");

        const payment = await paymentByIntent(ctx, piId);
        assert.equal(payment.status, "refunded");
        assert.equal(payment.refundedAmount, 3499);
        assert.ok(payment.refundedAt);
        const [grant] = await grantsOf(ctx, buyer.user.id, program.id);
        assert.equal(grant!.status, "refunded");
        assert.equal(grant!.paymentId, transactionId);
        assert.ok(grant!.revokedAt);

        const locked = await readLesson(ctx, buyer.token, program.id, lessonId);
        assert.equal(locked.status, 402);
        assert.equal(locked.body.error.code, "PAYMENT_REQUIRED");
        assert.equal(await enrolledCount(ctx, program.id), 0);

        const mails = await emailsOf(ctx, buyer.user.email, "access_refunded");
        assert.equal(mails.length, 1);
        assert.match(mails[0]!.text, /34\.99 USD/);
        assert.match(mails[0]!.text, new RegExp(program.title));

        const status = await api(
          ctx,
          "GET",
          `/api/payments/status/${transactionId}`,
          { token: buyer.token },
        );
        assert.equal(status.body.transaction.status, "refunded");
        assert.equal(status.body.transaction.refundedAmount, 34.99);

        // The refunded payment cannot buy the access back, by either path.
        const again = await enrollWith(ctx, buyer.token, program.id, {
          accessType: "bundle",
          paymentIntentId: piId,
        });
        assert.equal(again.status, 409);
        assert.equal(again.body.error.code, "PAYMENT_REFUNDED");
        const late = await deliverEvent(
          ctx,
          await signedEvent("payment_intent.succeeded", stripe.succeed(piId)),
        );
        assert.equal(late.body.outcome, "refunded before success");
        assert.equal(
          (await grantsOf(ctx, buyer.user.id, program.id))[0]!.status,
          "refunded",
        );
        const replay = await deliverEvent(ctx, refund);
        assert.equal(replay.body.duplicate, true);
        assert.equal(
          (await emailsOf(ctx, buyer.user.email, "access_refunded")).length,
          1,
        );
      },
    );

    await t.step(
      "after a full refund the learner can buy again; a late refund of the old payment changes nothing",
      async () => {
        const { program, lessonId } = await programWithLesson(ctx, owner.user);
        const { buyer, piId: oldPi } = await paidLearner(
          ctx,
          stripe,
          program.id,
        );
        await deliverEvent(
          ctx,
          await signedEvent("charge.refunded", stripe.refundCharge(oldPi)),
        );
        assert.equal(await enrolledCount(ctx, program.id), 0);

        const { piId: newPi, transactionId } = await startPayment(
          ctx,
          buyer,
          program.id,
        );
        assert.notEqual(newPi, oldPi);
        stripe.succeed(newPi);
        const res = await enrollWith(ctx, buyer.token, program.id, {
          accessType: "bundle",
          paymentIntentId: newPi,
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        const grants = await grantsOf(ctx, buyer.user.id, program.id);
        assert.equal(grants.length, 1, "the grant row is reused");
        assert.equal(grants[0]!.status, "active");
        assert.equal(grants[0]!.paymentId, transactionId);
        assert.equal(await enrolledCount(ctx, program.id), 1);
        assert.equal(
          (await readLesson(ctx, buyer.token, program.id, lessonId)).status,
          200,
        );

        // Stripe sends another charge.refunded for the old charge (say, the refund was updated).
        const late = await deliverEvent(
          ctx,
          await signedEvent("charge.refunded", stripe.refundCharge(oldPi)),
        );
        assert.equal(late.status, 200);
        assert.equal(late.body.outcome, "refund recorded");
        assert.equal(
          (await grantsOf(ctx, buyer.user.id, program.id))[0]!.status,
          "active",
          "the new purchase is untouched",
        );
        assert.equal((await paymentByIntent(ctx, newPi)).status, "succeeded");
      },
    );

    await t.step(
      "a partial refund is recorded and the access stays",
      async () => {
        const { program, lessonId } = await programWithLesson(ctx, owner.user);
        const { buyer, piId } = await paidLearner(ctx, stripe, program.id);
        const res = await deliverEvent(
          ctx,
          await signedEvent("charge.refunded", stripe.refundCharge(piId, 1000)),
        );
        assert.equal(res.status, 200);
        assert.equal(res.body.outcome, "refund recorded");
        const payment = await paymentByIntent(ctx, piId);
        assert.equal(payment.status, "succeeded");
        assert.equal(payment.refundedAmount, 1000);
        assert.equal(payment.refundedAt, null);
        const [grant] = await grantsOf(ctx, buyer.user.id, program.id);
        assert.equal(grant!.status, "active");
        assert.equal(
          (await readLesson(ctx, buyer.token, program.id, lessonId)).status,
          200,
        );
        assert.equal(await enrolledCount(ctx, program.id), 1);
        assert.equal(
          (await emailsOf(ctx, buyer.user.email, "access_refunded")).length,
          0,
        );
      },
    );

    await t.step(
      "a refund arriving before the success event: the success grants nothing",
      async () => {
        const buyer = await learner(ctx);
        const program = await makeProgram(ctx, owner.user);
        const { piId } = await startPayment(ctx, buyer, program.id);
        const refund = await deliverEvent(
          ctx,
          await signedEvent("charge.refunded", stripe.refundCharge(piId)),
        );
        assert.equal(refund.status, 200);
        assert.equal((await paymentByIntent(ctx, piId)).status, "refunded");

        const success = await signedEvent(
          "payment_intent.succeeded",
          stripe.succeed(piId),
        );
        const res = await deliverEvent(ctx, success);
        assert.equal(res.status, 200);
        assert.equal(res.body.outcome, "refunded before success");
        assert.equal(
          (await grantsOf(ctx, buyer.user.id, program.id)).length,
          0,
        );
        assert.equal(
          (await enrollmentsOf(ctx, buyer.user.id, program.id)).length,
          0,
        );
        assert.equal((await paymentByIntent(ctx, piId)).status, "refunded");
        assert.equal(
          (await emailsOf(ctx, buyer.user.email, "enrollment_confirmed"))
            .length,
          0,
        );
        const client = await enrollWith(ctx, buyer.token, program.id, {
          accessType: "bundle",
          paymentIntentId: piId,
        });
        assert.equal(client.status, 409);
        assert.equal(client.body.error.code, "PAYMENT_REFUNDED");
        assert.equal(
          (await grantsOf(ctx, buyer.user.id, program.id)).length,
          0,
        );
      },
    );

    await t.step(
      "payment_intent.payment_failed marks the payment failed and emails the learner",
      async () => {
        const buyer = await learner(ctx);
        const program = await makeProgram(ctx, owner.user);
        const { piId } = await startPayment(ctx, buyer, program.id);
        const res = await deliverEvent(
          ctx,
          await signedEvent(
            "payment_intent.payment_failed",
            stripe.fail(piId, "Your card has insufficient funds."),
          ),
        );
        assert.equal(res.status, 200);
        assert.equal(res.body.outcome, "payment failed");
        const payment = await paymentByIntent(ctx, piId);
        assert.equal(payment.status, "failed");
        assert.equal(
          payment.failureMessage,
          "Your card has insufficient funds.",
        );
        const mails = await emailsOf(ctx, buyer.user.email, "payment_failed");
        assert.equal(mails.length, 1);
        assert.match(mails[0]!.text, /insufficient funds/);
        assert.equal(
          (await grantsOf(ctx, buyer.user.id, program.id)).length,
          0,
        );

        // The learner retries the same PaymentIntent with another card, and it goes through.
        const retried = await deliverEvent(
          ctx,
          await signedEvent("payment_intent.succeeded", stripe.succeed(piId)),
        );
        assert.equal(retried.body.outcome, "granted");
        const after = await paymentByIntent(ctx, piId);
        assert.equal(after.status, "succeeded");
        assert.equal(after.failureMessage, null);
      },
    );

    await t.step(
      "a failure event after success does not touch a succeeded payment",
      async () => {
        const program = await makeProgram(ctx, owner.user);
        const { buyer, piId } = await paidLearner(ctx, stripe, program.id);
        const intent = structuredClone(stripe.intents.get(piId)!);
        intent.status = "requires_payment_method";
        intent.last_payment_error = { message: "Too late", code: "expired" };
        const res = await deliverEvent(
          ctx,
          await signedEvent("payment_intent.payment_failed", intent),
        );
        assert.equal(res.status, 200);
        assert.equal(res.body.outcome, "no pending payment");
        const payment = await paymentByIntent(ctx, piId);
        assert.equal(payment.status, "succeeded");
        assert.equal(payment.failureMessage, null);
        assert.equal(
          (await grantsOf(ctx, buyer.user.id, program.id))[0]!.status,
          "active",
        );
        assert.equal(
          (await emailsOf(ctx, buyer.user.email, "payment_failed")).length,
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
