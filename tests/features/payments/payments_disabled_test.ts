import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { payments } from "../../../db/schema/mod.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { makeProgram } from "../../helpers/factories.ts";
import { deliverEvent, signedEvent } from "../../helpers/fake_stripe.ts";
import {
  createIntent,
  emailsOf,
  enrollWith,
  grantsOf,
  learner,
} from "./support.ts";

/** A server without STRIPE_SECRET_KEY: every paid route says so; free programs still work. */
Deno.test("payments disabled: 503 PAYMENTS_DISABLED, free enrollment still works", async (t) => {
  const ctx = await createTestContext();
  try {
    const owner = await learner(ctx, "instructor");
    const buyer = await learner(ctx);
    const program = await makeProgram(ctx, owner.user, {
      pricing: {
        chatbot: 0,
        documentation: 14.99,
        examSimulator: 19.99,
        bundle: 34.99,
      },
    });
    const assertDisabled = (
      res: Awaited<ReturnType<typeof api>>,
      label: string,
    ) => {
      assert.equal(res.status, 503, `${label}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.success, false);
      assert.equal(res.body.error.code, "PAYMENTS_DISABLED", label);
      assert.ok(
        res.body.error.details.env.includes("STRIPE_SECRET_KEY"),
        `${label} names STRIPE_SECRET_KEY`,
      );
      assert.ok(res.body.requestId);
    };

    await t.step(
      "create-intent, paid enroll, subscribe and webhook are 503",
      async () => {
        assertDisabled(
          await createIntent(ctx, buyer.token, { programId: program.id }),
          "create-intent",
        );
        assertDisabled(
          await enrollWith(ctx, buyer.token, program.id, {
            accessType: "bundle",
            paymentIntentId: "pi_anything",
          }),
          "enroll with a payment",
        );
        assertDisabled(
          await api(ctx, "POST", "/api/subscriptions/subscribe", {
            token: buyer.token,
            body: { planId: "basic", paymentMethodId: "pm_card_visa" },
          }),
          "subscribe",
        );
        assertDisabled(
          await deliverEvent(
            ctx,
            await signedEvent("payment_intent.succeeded", {
              id: "pi_anything",
              object: "payment_intent",
              amount: 3499,
              currency: "usd",
              status: "succeeded",
            }),
          ),
          "webhook",
        );
        const rows = await ctx.deps.db.select().from(payments).where(
          eq(payments.userId, buyer.user.id),
        );
        assert.equal(rows.length, 0);
        assert.equal(
          (await grantsOf(ctx, buyer.user.id, program.id)).length,
          0,
        );
      },
    );

    await t.step("a free access type still enrolls (201)", async () => {
      const res = await enrollWith(ctx, buyer.token, program.id, {
        accessType: "chatbot",
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.deepEqual(res.body.enrollment.accessTypes, ["chatbot"]);
      const grants = await grantsOf(ctx, buyer.user.id, program.id);
      assert.equal(grants.length, 1);
      assert.equal(grants[0]!.source, "free");
      assert.equal(
        (await emailsOf(ctx, buyer.user.email, "enrollment_confirmed")).length,
        1,
      );
      const paid = await enrollWith(ctx, buyer.token, program.id, {
        accessType: "bundle",
      });
      assert.equal(paid.status, 402, "a paid type without payment: 402");
      assert.equal(paid.body.error.code, "PAYMENT_REQUIRED");
    });
  } finally {
    await ctx.close();
  }
});
