import assert from "node:assert/strict";
import { createTestContext } from "../../helpers/context.ts";
import { startFakeStripe } from "../../helpers/fake_stripe.ts";
import {
  createIntent,
  emailsOf,
  grantsOf,
  learner,
  paymentByIntent,
  programWithLesson,
  readLesson,
  startPayment,
} from "./support.ts";

/** The two ways a learner could be asked to pay twice for one purchase. */
Deno.test("payments: one purchase never becomes two charges", async (t) => {
  const stripe = startFakeStripe();
  const ctx = await createTestContext(stripe.env);
  try {
    const owner = await learner(ctx, "instructor");

    await t.step(
      "parallel create-intent calls for one purchase share one payment and one PaymentIntent",
      async () => {
        const buyer = await learner(ctx);
        const { program } = await programWithLesson(ctx, owner.user);
        const responses = await Promise.all(
          Array.from(
            { length: 4 },
            () => createIntent(ctx, buyer.token, { programId: program.id }),
          ),
        );
        assert.deepEqual(responses.map((r) => r.status), [201, 201, 201, 201]);
        const intentIds = new Set(
          responses.map((r) => r.body.paymentIntentId),
        );
        const transactionIds = new Set(
          responses.map((r) => r.body.transactionId),
        );
        assert.equal(intentIds.size, 1, "one PaymentIntent");
        assert.equal(transactionIds.size, 1, "one payment row");
        const created = [...stripe.intents.values()].filter((intent) =>
          intent.metadata?.userId === buyer.user.id
        );
        assert.equal(created.length, 1, "Stripe holds one PaymentIntent");
      },
    );

    await t.step(
      "create-intent after paying but before any confirmation grants access instead of charging again",
      async () => {
        const buyer = await learner(ctx);
        const { program, lessonId } = await programWithLesson(ctx, owner.user);
        const { piId } = await startPayment(ctx, buyer, program.id);
        stripe.succeed(piId); // paid; no webhook, no enroll call yet
        const again = await createIntent(ctx, buyer.token, {
          programId: program.id,
        });
        assert.equal(again.status, 409);
        assert.equal(again.body.error.code, "ALREADY_ENROLLED");
        assert.equal((await paymentByIntent(ctx, piId))!.status, "succeeded");
        const grants = await grantsOf(ctx, buyer.user.id, program.id);
        assert.equal(grants.length, 1);
        assert.equal(grants[0]!.source, "payment");
        assert.equal(
          (await readLesson(ctx, buyer.token, program.id, lessonId)).status,
          200,
        );
        assert.equal(
          (await emailsOf(ctx, buyer.user.email, "enrollment_confirmed"))
            .length,
          1,
        );
        const created = [...stripe.intents.values()].filter((intent) =>
          intent.metadata?.userId === buyer.user.id
        );
        assert.equal(created.length, 1, "no second PaymentIntent");
      },
    );

    await t.step(
      "a PaymentIntent canceled at Stripe ends that payment; the next call starts a new one",
      async () => {
        const buyer = await learner(ctx);
        const { program } = await programWithLesson(ctx, owner.user);
        const { piId } = await startPayment(ctx, buyer, program.id);
        stripe.intents.get(piId)!.status = "canceled";
        const expired = await createIntent(ctx, buyer.token, {
          programId: program.id,
        });
        assert.equal(expired.status, 409);
        assert.equal(expired.body.error.code, "PAYMENT_EXPIRED");
        assert.equal((await paymentByIntent(ctx, piId))!.status, "failed");
        const fresh = await createIntent(ctx, buyer.token, {
          programId: program.id,
        });
        assert.equal(fresh.status, 201);
        assert.notEqual(fresh.body.paymentIntentId, piId);
      },
    );
  } finally {
    await ctx.close();
    await stripe.close();
  }
});
