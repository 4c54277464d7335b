import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import Stripe from "stripe";
import { payments, stripeEvents } from "../../../db/schema/mod.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { enroll, latestEmail, makeProgram } from "../../helpers/factories.ts";
import {
  deliverEvent,
  signedEvent,
  startFakeStripe,
  STRIPE_TEST_ENV,
} from "../../helpers/fake_stripe.ts";
import {
  createIntent,
  emailsOf,
  enrollmentsOf,
  enrollWith,
  eventRows,
  grantsOf,
  intentsCreatedFor,
  learner,
  paymentByIntent,
  programWithLesson,
  readLesson,
  startPayment,
} from "./support.ts";

/**
 * One-time purchases: create-intent, enrolling with a PaymentIntent, the webhook, and the checks
 * between them (signatures, ownership, amounts). Refunds, failures, concurrency and the rest are in
 * payments_refunds_test.ts and payments_api_test.ts.
 */
Deno.test("payments: intents, enrollment with a payment, webhook", async (t) => {
  const stripe = startFakeStripe();
  const ctx = await createTestContext(stripe.env);
  try {
    const owner = await learner(ctx, "instructor");

    await t.step(
      "create-intent: the server prices the purchase and tags the PaymentIntent",
      async () => {
        const buyer = await learner(ctx);
        const program = await makeProgram(ctx, owner.user);
        const before = stripe.requests.length;
        const res = await createIntent(ctx, buyer.token, {
          programId: program.id,
          accessType: "bundle",
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        assert.equal(res.body.amount, 34.99);
        assert.equal(res.body.currency, "usd");
        assert.match(res.body.paymentIntentId, /^pi_/);
        assert.match(res.body.clientSecret, /_secret_/);

        const sent = stripe.requests.slice(before);
        assert.equal(sent.length, 1, "one call to Stripe");
        const [create] = sent;
        assert.equal(create!.method, "POST");
        assert.equal(create!.path, "/v1/payment_intents");
        assert.equal(create!.body.amount, "3499");
        assert.equal(create!.body.currency, "usd");
        assert.deepEqual(
          {
            userId: create!.body.metadata.userId,
            programId: create!.body.metadata.programId,
            accessType: create!.body.metadata.accessType,
          },
          {
            userId: buyer.user.id,
            programId: program.id,
            accessType: "bundle",
          },
        );
        assert.equal(create!.body.metadata.paymentId, res.body.transactionId);
        assert.ok(
          create!.idempotencyKey?.startsWith("lectern-payment-"),
          `idempotency key ${create!.idempotencyKey}`,
        );
        assert.equal(
          create!.authorization,
          `Bearer ${stripe.env.STRIPE_SECRET_KEY}`,
        );

        const row = await paymentByIntent(ctx, res.body.paymentIntentId);
        assert.equal(row.id, res.body.transactionId);
        assert.equal(row.userId, buyer.user.id);
        assert.equal(row.amount, 3499);
        assert.equal(row.currency, "usd");
        assert.equal(row.status, "pending");
        assert.equal(row.accessType, "bundle");
      },
    );

    await t.step(
      "create-intent: a client amount is only checked (409 AMOUNT_MISMATCH, nothing sent)",
      async () => {
        const buyer = await learner(ctx);
        const program = await makeProgram(ctx, owner.user);
        const before = stripe.requests.length;
        const wrong = await createIntent(ctx, buyer.token, {
          programId: program.id,
          accessType: "bundle",
          amount: 1,
        });
        assert.equal(wrong.status, 409);
        assert.equal(wrong.body.success, false);
        assert.equal(wrong.body.error.code, "AMOUNT_MISMATCH");
        assert.equal(wrong.body.error.details.expected, 34.99);
        assert.ok(wrong.body.requestId);
        assert.equal(stripe.requests.length, before, "Stripe was not called");
        const rows = await ctx.deps.db.select().from(payments).where(
          eq(payments.userId, buyer.user.id),
        );
        assert.equal(rows.length, 0, "no payment recorded");

        const right = await createIntent(ctx, buyer.token, {
          programId: program.id,
          accessType: "documentation",
          amount: 14.99,
        });
        assert.equal(right.status, 201);
        assert.equal(right.body.amount, 14.99);
        assert.equal(stripe.requests.at(-1)!.body.amount, "1499");
      },
    );

    await t.step(
      "create-intent: a second call for the same purchase reuses the PaymentIntent",
      async () => {
        const buyer = await learner(ctx);
        const program = await makeProgram(ctx, owner.user);
        const first = await createIntent(ctx, buyer.token, {
          programId: program.id,
        });
        const second = await createIntent(ctx, buyer.token, {
          programId: program.id,
        });
        assert.equal(first.status, 201);
        assert.equal(second.status, 201);
        assert.equal(second.body.paymentIntentId, first.body.paymentIntentId);
        assert.equal(second.body.transactionId, first.body.transactionId);
        assert.equal(second.body.clientSecret, first.body.clientSecret);
        assert.equal(intentsCreatedFor(stripe, buyer.user.id).length, 1);
        const rows = await ctx.deps.db.select().from(payments).where(
          eq(payments.userId, buyer.user.id),
        );
        assert.equal(rows.length, 1);
        const other = await createIntent(ctx, buyer.token, {
          programId: program.id,
          accessType: "chatbot",
        });
        assert.notEqual(
          other.body.paymentIntentId,
          first.body.paymentIntentId,
          "another access type is another purchase",
        );
      },
    );

    await t.step(
      "create-intent refusals: free 409 NOTHING_TO_PAY, owned 409 ALREADY_ENROLLED, draft, bad type 422",
      async () => {
        const buyer = await learner(ctx);
        const before = stripe.requests.length;
        const free = await makeProgram(ctx, owner.user, {
          pricing: {
            chatbot: 0,
            documentation: 14.99,
            examSimulator: 19.99,
            bundle: 34.99,
          },
        });
        const nothing = await createIntent(ctx, buyer.token, {
          programId: free.id,
          accessType: "chatbot",
        });
        assert.equal(nothing.status, 409);
        assert.equal(nothing.body.error.code, "NOTHING_TO_PAY");

        const owned = await makeProgram(ctx, owner.user);
        await enroll(ctx, buyer.user.id, owned.id, "bundle");
        for (const accessType of ["bundle", "chatbot"]) {
          const already = await createIntent(ctx, buyer.token, {
            programId: owned.id,
            accessType,
          });
          assert.equal(already.status, 409, accessType);
          assert.equal(already.body.error.code, "ALREADY_ENROLLED");
        }
        const own = await createIntent(ctx, owner.token, {
          programId: owned.id,
        });
        assert.equal(own.status, 409, "the owner has access already");

        const draft = await makeProgram(ctx, owner.user, { status: "draft" });
        const hidden = await createIntent(ctx, buyer.token, {
          programId: draft.id,
        });
        assert.ok([404, 409].includes(hidden.status), `${hidden.status}`);
        assert.equal(hidden.body.success, false);

        const invalid = await createIntent(ctx, buyer.token, {
          programId: owned.id,
          accessType: "lifetime",
        });
        assert.equal(invalid.status, 422);
        assert.equal(invalid.body.error.code, "VALIDATION_FAILED");
        assert.ok(invalid.body.error.details.fields.accessType);

        const anonymous = await createIntent(ctx, "", { programId: owned.id });
        assert.equal(anonymous.status, 401);
        assert.equal(stripe.requests.length, before, "Stripe never called");
        const rows = await ctx.deps.db.select().from(payments).where(
          eq(payments.userId, buyer.user.id),
        );
        assert.equal(rows.length, 0);
      },
    );

    await t.step(
      "client enroll first (201, access), then the webhook: already granted, one of everything",
      async () => {
        const buyer = await learner(ctx);
        const { program, lessonId } = await programWithLesson(ctx, owner.user);
        const { piId, transactionId } = await startPayment(
          ctx,
          buyer,
          program.id,
        );
        const locked = await readLesson(ctx, buyer.token, program.id, lessonId);
        assert.equal(locked.status, 402, "no access before paying");

        const succeeded = stripe.succeed(piId);
        const res = await enrollWith(ctx, buyer.token, program.id, {
          accessType: "bundle",
          paymentIntentId: piId,
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.alreadyEnrolled, false);
        assert.deepEqual(res.body.enrollment.accessTypes, ["bundle"]);
        assert.deepEqual(res.body.enrollment.access, {
          chatbot: true,
          documentation: true,
          examSimulator: true,
        });
        const lesson = await readLesson(ctx, buyer.token, program.id, lessonId);
        assert.equal(lesson.status, 200);
        assert.equal(lesson.body.lesson.id, lessonId);

        const event = await signedEvent("payment_intent.succeeded", succeeded);
        const hook = await deliverEvent(ctx, event);
        assert.equal(hook.status, 200);
        assert.deepEqual(hook.body, {
          received: true,
          outcome: "already granted",
          duplicate: false,
        });

        const grants = await grantsOf(ctx, buyer.user.id, program.id);
        assert.equal(grants.length, 1);
        assert.equal(grants[0]!.source, "payment");
        assert.equal(grants[0]!.paymentId, transactionId);
        assert.equal(grants[0]!.status, "active");
        assert.equal(grants[0]!.accessType, "bundle");
        assert.equal(
          (await enrollmentsOf(ctx, buyer.user.id, program.id)).length,
          1,
        );
        const payment = await paymentByIntent(ctx, piId);
        assert.equal(payment.status, "succeeded");
        assert.ok(payment.succeededAt);
        const mails = await emailsOf(
          ctx,
          buyer.user.email,
          "enrollment_confirmed",
        );
        assert.equal(mails.length, 1, "exactly one confirmation");
        assert.match(mails[0]!.subject, new RegExp(program.title));
      },
    );

    await t.step(
      "webhook first (granted), then client enroll: 200 alreadyEnrolled, still one grant",
      async () => {
        const buyer = await learner(ctx);
        const { program, lessonId } = await programWithLesson(ctx, owner.user);
        const { piId } = await startPayment(ctx, buyer, program.id);
        const event = await signedEvent(
          "payment_intent.succeeded",
          stripe.succeed(piId),
        );
        const hook = await deliverEvent(ctx, event);
        assert.equal(hook.status, 200);
        assert.equal(hook.body.outcome, "granted");
        assert.equal(hook.body.duplicate, false);
        assert.equal(
          (await readLesson(ctx, buyer.token, program.id, lessonId)).status,
          200,
        );
        const mail = await latestEmail(ctx, buyer.user.email);
        assert.equal(mail.template, "enrollment_confirmed");

        const res = await enrollWith(ctx, buyer.token, program.id, {
          accessType: "bundle",
          paymentIntentId: piId,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.alreadyEnrolled, true);
        assert.deepEqual(res.body.enrollment.accessTypes, ["bundle"]);
        assert.equal(
          (await grantsOf(ctx, buyer.user.id, program.id)).length,
          1,
        );
        assert.equal(
          (await emailsOf(ctx, buyer.user.email, "enrollment_confirmed"))
            .length,
          1,
        );
        const [row] = await eventRows(ctx, event.id);
        assert.equal(row!.type, "payment_intent.succeeded");
        assert.equal(row!.outcome, "granted");
      },
    );

    await t.step(
      "the same event delivered twice: the second is a duplicate that changes nothing",
      async () => {
        const buyer = await learner(ctx);
        const program = await makeProgram(ctx, owner.user);
        const { piId } = await startPayment(ctx, buyer, program.id);
        const event = await signedEvent(
          "payment_intent.succeeded",
          stripe.succeed(piId),
        );
        const first = await deliverEvent(ctx, event);
        assert.equal(first.body.outcome, "granted");
        const grantsBefore = await grantsOf(ctx, buyer.user.id, program.id);
        const paymentBefore = await paymentByIntent(ctx, piId);

        const second = await deliverEvent(ctx, event);
        assert.equal(second.status, 200);
        assert.equal(second.body.duplicate, true);
        assert.equal(second.body.outcome, "granted", "the first outcome");
        assert.deepEqual(
          await grantsOf(ctx, buyer.user.id, program.id),
          grantsBefore,
        );
        assert.deepEqual(await paymentByIntent(ctx, piId), paymentBefore);
        assert.equal((await eventRows(ctx, event.id)).length, 1);
        assert.equal(
          (await emailsOf(ctx, buyer.user.email, "enrollment_confirmed"))
            .length,
          1,
        );
        // A fresh signature over the same event id is still the same event.
        const resigned = await signedEvent(
          "payment_intent.succeeded",
          stripe.succeed(piId),
          { id: event.id },
        );
        const third = await deliverEvent(ctx, resigned);
        assert.equal(third.body.duplicate, true);
        assert.equal((await eventRows(ctx, event.id)).length, 1);
      },
    );

    await t.step(
      "a bad signature is 400 INVALID_SIGNATURE and changes nothing",
      async () => {
        const buyer = await learner(ctx);
        const program = await makeProgram(ctx, owner.user);
        const { piId } = await startPayment(ctx, buyer, program.id);
        const succeeded = stripe.succeed(piId);
        const eventsBefore = await ctx.deps.db.select().from(stripeEvents);

        const signed = await signedEvent("payment_intent.succeeded", succeeded);
        const tampered = {
          payload: signed.payload.replace('"amount":3499', '"amount":1'),
          signature: signed.signature,
        };
        assert.notEqual(tampered.payload, signed.payload);
        const otherSecret = await signedEvent(
          "payment_intent.succeeded",
          succeeded,
          { secret: "whsec_someone_else" },
        );
        const stale = await signedEvent("payment_intent.succeeded", succeeded);
        // Correctly signed, but ten minutes ago: outside Stripe's five-minute tolerance (replay).
        const signer = new Stripe("sk_test_signing_only", {
          httpClient: Stripe.createFetchHttpClient(),
        });
        const old = {
          payload: stale.payload,
          signature: await signer.webhooks.generateTestHeaderStringAsync({
            payload: stale.payload,
            secret: STRIPE_TEST_ENV.STRIPE_WEBHOOK_SECRET,
            timestamp: Math.floor(Date.now() / 1000) - 600,
          }),
        };
        const attempts = [
          await deliverEvent(ctx, old),
          await deliverEvent(ctx, tampered),
          await deliverEvent(ctx, otherSecret),
          await deliverEvent(ctx, { payload: stale.payload, signature: "" }),
          await deliverEvent(ctx, {
            payload: stale.payload,
            signature: "t=1,v1=deadbeef",
          }),
        ];
        attempts.push(
          await api(ctx, "POST", "/api/payments/webhook", {
            body: stale.payload,
          }),
        );
        for (const [index, res] of attempts.entries()) {
          assert.equal(res.status, 400, `attempt ${index}`);
          assert.equal(res.body.success, false);
          assert.equal(res.body.error.code, "INVALID_SIGNATURE", `${index}`);
        }
        assert.deepEqual(
          await ctx.deps.db.select().from(stripeEvents),
          eventsBefore,
          "no stripe_events row",
        );
        assert.equal(
          (await grantsOf(ctx, buyer.user.id, program.id)).length,
          0,
        );
        assert.equal((await paymentByIntent(ctx, piId)).status, "pending");
        assert.equal(
          (await emailsOf(ctx, buyer.user.email, "enrollment_confirmed"))
            .length,
          0,
        );
      },
    );

    await t.step(
      "enrolling with a PaymentIntent that has not succeeded: 402 PAYMENT_NOT_COMPLETED",
      async () => {
        const buyer = await learner(ctx);
        const program = await makeProgram(ctx, owner.user);
        const { piId } = await startPayment(ctx, buyer, program.id);
        const res = await enrollWith(ctx, buyer.token, program.id, {
          accessType: "bundle",
          paymentIntentId: piId,
        });
        assert.equal(res.status, 402);
        assert.equal(res.body.error.code, "PAYMENT_NOT_COMPLETED");
        assert.equal(
          res.body.error.details.paymentStatus,
          "requires_payment_method",
        );
        assert.equal(
          (await grantsOf(ctx, buyer.user.id, program.id)).length,
          0,
        );
        assert.equal(
          (await enrollmentsOf(ctx, buyer.user.id, program.id)).length,
          0,
        );
        assert.equal((await paymentByIntent(ctx, piId)).status, "pending");

        const unknown = await enrollWith(ctx, buyer.token, program.id, {
          accessType: "bundle",
          paymentIntentId: "pi_doesnotexist",
        });
        assert.equal(unknown.status, 404);
        const malformed = await enrollWith(ctx, buyer.token, program.id, {
          accessType: "bundle",
          paymentIntentId: "ch_notanintent",
        });
        assert.equal(malformed.status, 422);
      },
    );

    await t.step(
      "someone else's payment is 403, another program or access type is 409 PAYMENT_MISMATCH",
      async () => {
        const payer = await learner(ctx);
        const thief = await learner(ctx);
        const program = await makeProgram(ctx, owner.user);
        const elsewhere = await makeProgram(ctx, owner.user);
        const { piId } = await startPayment(ctx, payer, program.id, "chatbot");
        stripe.succeed(piId);

        const stolen = await enrollWith(ctx, thief.token, program.id, {
          accessType: "chatbot",
          paymentIntentId: piId,
        });
        assert.equal(stolen.status, 403);
        assert.equal(stolen.body.error.code, "PAYMENT_MISMATCH");

        const otherType = await enrollWith(ctx, payer.token, program.id, {
          accessType: "bundle",
          paymentIntentId: piId,
        });
        assert.equal(otherType.status, 409);
        assert.equal(otherType.body.error.code, "PAYMENT_MISMATCH");

        const otherProgram = await enrollWith(ctx, payer.token, elsewhere.id, {
          accessType: "chatbot",
          paymentIntentId: piId,
        });
        assert.equal(otherProgram.status, 409);
        assert.equal(otherProgram.body.error.code, "PAYMENT_MISMATCH");

        assert.equal(
          (await grantsOf(ctx, thief.user.id, program.id)).length,
          0,
        );
        assert.equal(
          (await grantsOf(ctx, payer.user.id, elsewhere.id)).length,
          0,
        );
        assert.equal(
          (await grantsOf(ctx, payer.user.id, program.id)).length,
          0,
        );
        assert.equal((await paymentByIntent(ctx, piId)).status, "pending");

        const own = await enrollWith(ctx, payer.token, program.id, {
          accessType: "chatbot",
          paymentIntentId: piId,
        });
        assert.equal(own.status, 201, "the right learner still can");
      },
    );

    await t.step(
      "a PaymentIntent charged another amount grants nothing (webhook and client)",
      async () => {
        const buyer = await learner(ctx);
        const program = await makeProgram(ctx, owner.user);
        const { piId } = await startPayment(ctx, buyer, program.id);
        stripe.intents.get(piId)!.amount = 100;
        const event = await signedEvent(
          "payment_intent.succeeded",
          stripe.succeed(piId),
        );
        const hook = await deliverEvent(ctx, event);
        assert.equal(hook.status, 200);
        assert.equal(hook.body.outcome, "amount mismatch");
        assert.equal(
          (await eventRows(ctx, event.id))[0]!.outcome,
          "amount mismatch",
        );
        assert.equal(
          (await grantsOf(ctx, buyer.user.id, program.id)).length,
          0,
        );
        assert.notEqual((await paymentByIntent(ctx, piId)).status, "succeeded");
        assert.ok(
          ctx.logger.lines.some((line) =>
            line.level === "error" && line.intentId === piId
          ),
          "the mismatch is logged as an error",
        );

        const res = await enrollWith(ctx, buyer.token, program.id, {
          accessType: "bundle",
          paymentIntentId: piId,
        });
        assert.equal(res.status, 409);
        assert.equal(res.body.error.code, "AMOUNT_MISMATCH");
        assert.equal(
          (await grantsOf(ctx, buyer.user.id, program.id)).length,
          0,
        );
        assert.equal(
          (await emailsOf(ctx, buyer.user.email, "enrollment_confirmed"))
            .length,
          0,
        );
      },
    );
  } finally {
    await ctx.close();
    await stripe.close();
  }
});
