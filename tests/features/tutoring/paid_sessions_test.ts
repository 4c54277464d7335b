import assert from "node:assert/strict";
import { bookSession } from "../../../server/features/tutoring/sessions.ts";
import { runTutoringJobs } from "../../../server/features/tutoring/jobs.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import {
  deliverEvent,
  signedEvent,
  startFakeStripe,
} from "../../helpers/fake_stripe.ts";
import {
  book,
  booked,
  code,
  dayAhead,
  givePremium,
  instructorWithHours,
  noticesOf,
  type Person,
  person,
  sessionRow,
  utc,
} from "./support.ts";

Deno.test("tutoring: paid sessions through Stripe", async (t) => {
  const stripe = startFakeStripe();
  const ctx = await createTestContext(stripe.env);
  try {
    // 40 USD an hour, UTC, any time of day.
    const instructor = await instructorWithHours(
      ctx,
      { hourlyRate: 40 },
      "Paid Paula",
    );

    /** A paid booking that must be held for payment; returns the session and its PaymentIntent id. */
    const hold = async (
      who: Person,
      startsAt: string,
      durationMinutes = 60,
    ) => {
      const res = await book(ctx, who, {
        instructorId: instructor.user.id,
        startsAt,
        durationMinutes,
        topic: "Paid lesson",
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const row = await sessionRow(ctx, res.body.session.id);
      assert.ok(row.stripePaymentIntentId);
      return {
        session: res.body.session,
        clientSecret: res.body.clientSecret as string,
        piId: row.stripePaymentIntentId,
      };
    };
    const pay = async (piId: string) => {
      const event = await signedEvent(
        "payment_intent.succeeded",
        stripe.succeed(piId),
      );
      const res = await deliverEvent(ctx, event);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return { event, res };
    };
    const refundsOf = (piId: string) =>
      [...stripe.refunds.values()].filter((r) => r.payment_intent === piId);

    await t.step(
      "a learner without mentorship gets a hold and a clientSecret",
      async () => {
        const learner = await person(ctx, "student", "Lee Learner");
        const { session, clientSecret, piId } = await hold(
          learner,
          utc(dayAhead(3), "10:00"),
        );
        assert.equal(session.status, "pending_payment");
        assert.equal(session.access, "paid");
        assert.equal(session.price, 40);
        assert.equal(session.currency, "usd");
        assert.equal(
          Date.parse(session.holdExpiresAt) - Date.parse(session.createdAt),
          30 * 60_000,
        );
        assert.equal(clientSecret, stripe.intents.get(piId)!.client_secret);
        const created = stripe.requests.filter((r) =>
          r.method === "POST" && r.path === "/v1/payment_intents" &&
          r.body.metadata?.sessionId === session.id
        );
        assert.equal(created.length, 1);
        assert.equal(created[0]!.body.amount, "4000");
        assert.equal(created[0]!.body.currency, "usd");
        assert.equal(created[0]!.body.metadata.kind, "tutoring_session");
        assert.equal(created[0]!.body.metadata.userId, learner.user.id);
        assert.equal(
          created[0]!.idempotencyKey,
          `lectern-tutoring-${session.id}`,
        );
        assert.equal(
          (await noticesOf(ctx, learner.user.id, "session_booked")).length,
          0,
        );

        const longer = await hold(learner, utc(dayAhead(3), "14:00"), 90);
        assert.equal(longer.session.price, 60);
        assert.equal(stripe.intents.get(longer.piId)!.amount, 6000);
      },
    );

    await t.step("the held time is busy for everyone else", async () => {
      const learner = await person(ctx);
      const { session } = await hold(learner, utc(dayAhead(4), "10:00"));
      const rival = await person(ctx);
      await givePremium(ctx, rival.user.id);
      const res = await book(ctx, rival, {
        instructorId: instructor.user.id,
        startsAt: utc(dayAhead(4), "10:30"),
        durationMinutes: 30,
        topic: "Rival",
      });
      assert.equal(res.status, 409);
      assert.equal(code(res), "SLOT_TAKEN");
      const slots = await api(
        ctx,
        "GET",
        `/api/tutoring/slots?${new URLSearchParams({
          instructorId: instructor.user.id,
          from: utc(dayAhead(4), "09:00"),
          to: utc(dayAhead(4), "12:00"),
        })}`,
      );
      assert.deepEqual(
        slots.body.slots.map((s: { startsAt: string }) => s.startsAt),
        [utc(dayAhead(4), "09:00"), utc(dayAhead(4), "11:00")],
        `the hour from ${session.startsAt} is held`,
      );
    });

    await t.step(
      "payment_intent.succeeded books it, once, and tells both",
      async () => {
        const learner = await person(ctx, "student", "Webhook Will");
        const { session, piId } = await hold(
          learner,
          utc(dayAhead(5), "10:00"),
        );
        const { event, res } = await pay(piId);
        assert.equal(res.body.outcome, "tutoring: booked");
        const row = await sessionRow(ctx, session.id);
        assert.equal(row.status, "booked");
        assert.equal(row.holdExpiresAt, null);
        const notices = async () => [
          (await noticesOf(ctx, learner.user.id, "session_booked", session.id))
            .length,
          (await noticesOf(
            ctx,
            instructor.user.id,
            "session_booked",
            session.id,
          )).length,
        ];
        assert.deepEqual(await notices(), [1, 1]);

        const again = await deliverEvent(ctx, event);
        assert.equal(again.status, 200);
        assert.equal(again.body.duplicate, true);
        // The same news under another event id (Stripe may send both) changes nothing either.
        const { res: other } = await pay(piId);
        assert.equal(other.body.outcome, "tutoring: already booked");
        assert.deepEqual(await notices(), [1, 1]);
        assert.equal((await sessionRow(ctx, session.id)).status, "booked");
      },
    );

    await t.step(
      "a payment of another amount does not book, and goes back",
      async () => {
        const learner = await person(ctx);
        const { session, piId } = await hold(
          learner,
          utc(dayAhead(5), "14:00"),
        );
        const intent = { ...stripe.succeed(piId), amount: 100 };
        const res = await deliverEvent(
          ctx,
          await signedEvent("payment_intent.succeeded", intent),
        );
        assert.equal(res.body.outcome, "tutoring: slot lost");
        await ctx.deps.background.idle();
        const row = await sessionRow(ctx, session.id);
        assert.equal(row.status, "cancelled");
        assert.match(row.cancelReason ?? "", /did not match/);
        assert.notEqual(row.refundStatus, null);
        assert.ok(
          [...stripe.refunds.values()].some((refund) =>
            refund.payment_intent === piId
          ),
          "Stripe was asked to refund it",
        );
      },
    );

    await t.step(
      "POST /confirm-payment books it when the client gets there first",
      async () => {
        const learner = await person(ctx);
        const { session, piId } = await hold(
          learner,
          utc(dayAhead(6), "10:00"),
        );
        const confirm = (who: Person) =>
          api(
            ctx,
            "POST",
            `/api/tutoring/sessions/${session.id}/confirm-payment`,
            {
              token: who.token,
            },
          );
        const early = await confirm(learner);
        assert.equal(early.status, 402);
        assert.equal(code(early), "PAYMENT_INCOMPLETE");
        assert.equal(
          (await sessionRow(ctx, session.id)).status,
          "pending_payment",
        );

        const stranger = await person(ctx);
        assert.equal((await confirm(stranger)).status, 404);

        stripe.succeed(piId);
        const done = await confirm(learner);
        assert.equal(done.status, 200, JSON.stringify(done.body));
        assert.equal(done.body.session.status, "booked");
        assert.equal(
          (await noticesOf(ctx, learner.user.id, "session_booked", session.id))
            .length,
          1,
        );
        const twice = await confirm(learner);
        assert.equal(twice.status, 200);
        const { res } = await pay(piId);
        assert.equal(res.body.outcome, "tutoring: already booked");
        assert.equal(
          (await noticesOf(ctx, learner.user.id, "session_booked", session.id))
            .length,
          1,
        );
        assert.equal(
          (await noticesOf(
            ctx,
            instructor.user.id,
            "session_booked",
            session.id,
          )).length,
          1,
        );

        // A mentorship session has nothing to pay.
        const premium = await person(ctx);
        await givePremium(ctx, premium.user.id);
        const free = await booked(ctx, premium, {
          instructorId: instructor.user.id,
          startsAt: utc(dayAhead(6), "12:00"),
        });
        assert.equal(free.access, "mentorship");
        const nothing = await api(
          ctx,
          "POST",
          `/api/tutoring/sessions/${free.id}/confirm-payment`,
          { token: premium.token },
        );
        assert.equal(nothing.status, 409);
        assert.equal(code(nothing), "NOTHING_TO_PAY");
      },
    );

    await t.step(
      "a lapsed hold frees the time; a late payment is then refunded",
      async () => {
        const slow = await person(ctx, "student", "Slow Sam");
        const startsAt = utc(dayAhead(7), "10:00");
        const { session, piId } = await hold(slow, startsAt);
        const lapse = new Date(Date.parse(session.holdExpiresAt) + 1000);
        const jobs = await runTutoringJobs(ctx.deps, lapse);
        assert.ok(jobs.lapsed >= 1);
        const lapsed = await sessionRow(ctx, session.id);
        assert.equal(lapsed.status, "cancelled");
        assert.match(lapsed.cancelReason ?? "", /not completed in time/);

        const quick = await person(ctx);
        await givePremium(ctx, quick.user.id);
        await booked(ctx, quick, {
          instructorId: instructor.user.id,
          startsAt,
        });

        const { res } = await pay(piId);
        assert.equal(res.body.outcome, "tutoring: slot lost");
        const lost = await sessionRow(ctx, session.id);
        assert.equal(lost.status, "cancelled");
        assert.equal(lost.refundStatus, "succeeded");
        const refunds = refundsOf(piId);
        assert.equal(refunds.length, 1);
        assert.equal(refunds[0]!.amount, 4000);
        const request = stripe.requests.find((r) =>
          r.path === "/v1/refunds" && r.body.payment_intent === piId
        );
        assert.equal(
          request?.idempotencyKey,
          `lectern-tutoring-refund-${session.id}`,
        );
        assert.equal(
          (await noticesOf(ctx, slow.user.id, "session_booked")).length,
          0,
        );

        // confirm-payment says the same, and does not refund twice.
        const confirm = await api(
          ctx,
          "POST",
          `/api/tutoring/sessions/${session.id}/confirm-payment`,
          { token: slow.token },
        );
        assert.notEqual(confirm.status, 200);
        assert.equal(refundsOf(piId).length, 1);
      },
    );

    await t.step(
      "a lapsed hold whose time is still free is revived by the payment",
      async () => {
        const learner = await person(ctx);
        const { session, piId } = await hold(
          learner,
          utc(dayAhead(8), "10:00"),
        );
        await runTutoringJobs(
          ctx.deps,
          new Date(Date.parse(session.holdExpiresAt) + 1000),
        );
        assert.equal((await sessionRow(ctx, session.id)).status, "cancelled");
        const { res } = await pay(piId);
        assert.equal(res.body.outcome, "tutoring: booked");
        const row = await sessionRow(ctx, session.id);
        assert.equal(row.status, "booked");
        assert.equal(row.cancelledAt, null);
        assert.equal(refundsOf(piId).length, 0);
      },
    );

    await t.step(
      "an expired hold the jobs have not swept yet is still overtaken",
      async () => {
        const slow = await person(ctx);
        const startsAt = utc(dayAhead(8), "14:00");
        const { session, piId } = await hold(slow, startsAt);
        const quick = await person(ctx);
        await givePremium(ctx, quick.user.id);
        const afterHold = new Date(Date.parse(session.holdExpiresAt) + 60_000);
        const taken = await bookSession(ctx.deps, quick.user, {
          instructorId: instructor.user.id,
          startsAt: new Date(startsAt),
          durationMinutes: 60,
          topic: "Overtaking",
        }, afterHold);
        assert.equal(taken.session.status, "booked");
        const { res } = await pay(piId);
        assert.equal(res.body.outcome, "tutoring: slot lost");
        assert.equal(
          (await sessionRow(ctx, session.id)).refundStatus,
          "succeeded",
        );
        assert.equal(refundsOf(piId).length, 1);
      },
    );

    await t.step(
      "cancelled before paying: the payment that still comes is refunded",
      async () => {
        const learner = await person(ctx);
        const { session, piId } = await hold(
          learner,
          utc(dayAhead(9), "10:00"),
        );
        const cancel = await api(
          ctx,
          "POST",
          `/api/tutoring/sessions/${session.id}/cancel`,
          {
            token: learner.token,
            body: { reason: "Changed my mind" },
          },
        );
        assert.equal(cancel.status, 200);
        assert.equal(
          cancel.body.session.refundStatus,
          null,
          "nothing was paid yet",
        );
        assert.equal(refundsOf(piId).length, 0);
        const { res } = await pay(piId);
        assert.equal(res.body.outcome, "tutoring: slot lost");
        const row = await sessionRow(ctx, session.id);
        assert.equal(row.status, "cancelled");
        assert.equal(row.cancelReason, "Changed my mind");
        assert.equal(row.refundStatus, "succeeded");
        assert.equal(refundsOf(piId).length, 1);
      },
    );

    await t.step(
      "cancelling a paid session refunds it (learner in time, or the instructor)",
      async () => {
        for (const by of ["learner", "instructor"] as const) {
          const learner = await person(ctx);
          const { session, piId } = await hold(
            learner,
            utc(dayAhead(10), by === "learner" ? "10:00" : "12:00"),
          );
          await pay(piId);
          const res = await api(
            ctx,
            "POST",
            `/api/tutoring/sessions/${session.id}/cancel`,
            {
              token: by === "learner" ? learner.token : instructor.token,
              body: {},
            },
          );
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.equal(res.body.session.status, "cancelled");
          const row = await sessionRow(ctx, session.id);
          assert.equal(row.refundStatus, "succeeded", by);
          const refunds = refundsOf(piId);
          assert.equal(refunds.length, 1, by);
          assert.equal(refunds[0]!.amount, 4000);
          const other = by === "learner" ? instructor : learner;
          assert.equal(
            (await noticesOf(
              ctx,
              other.user.id,
              "session_cancelled",
              session.id,
            )).length,
            1,
          );
        }
      },
    );

    await t.step(
      "a paid session keeps its paid length when moved",
      async () => {
        const learner = await person(ctx);
        const { session, piId } = await hold(
          learner,
          utc(dayAhead(11), "10:00"),
        );
        await pay(piId);
        const path = `/api/tutoring/sessions/${session.id}/reschedule`;
        const longer = await api(ctx, "PUT", path, {
          token: learner.token,
          body: { startsAt: utc(dayAhead(11), "14:00"), durationMinutes: 120 },
        });
        assert.equal(longer.status, 422);
        assert.ok(longer.body.error.details.fields.durationMinutes);
        const moved = await api(ctx, "PUT", path, {
          token: learner.token,
          body: { startsAt: utc(dayAhead(11), "14:00") },
        });
        assert.equal(moved.status, 200);
        assert.equal(moved.body.session.endsAt, utc(dayAhead(11), "15:00"));
        assert.equal(moved.body.session.price, 40);
      },
    );

    await t.step(
      "an unpaid session is tentative, cannot be moved, and unknown intents are ignored",
      async () => {
        const learner = await person(ctx);
        const { session } = await hold(learner, utc(dayAhead(13), "10:00"));
        const ics = await api(
          ctx,
          "GET",
          `/api/tutoring/sessions/${session.id}/calendar.ics`,
          {
            token: learner.token,
          },
        );
        assert.equal(ics.status, 200);
        assert.match(ics.body, /\r\nSTATUS:TENTATIVE\r\n/);
        const moved = await api(
          ctx,
          "PUT",
          `/api/tutoring/sessions/${session.id}/reschedule`,
          {
            token: learner.token,
            body: { startsAt: utc(dayAhead(13), "14:00") },
          },
        );
        assert.equal(moved.status, 409);
        assert.equal(code(moved), "SESSION_NOT_BOOKED");
        const stray = await deliverEvent(
          ctx,
          await signedEvent("payment_intent.succeeded", {
            id: "pi_unknown_tutoring",
            object: "payment_intent",
            amount: 4000,
            currency: "usd",
            status: "succeeded",
            metadata: { kind: "tutoring_session", sessionId: session.id },
          }),
        );
        assert.equal(stray.status, 200);
        assert.equal(stray.body.outcome, "tutoring: unknown session");
        assert.equal(
          (await sessionRow(ctx, session.id)).status,
          "pending_payment",
        );
      },
    );

    await t.step({
      name:
        "a refunded session is not refunded again when the payment is reported again",
      fn: async () => {
        const slow = await person(ctx);
        const startsAt = utc(dayAhead(14), "10:00");
        const { session, piId } = await hold(slow, startsAt);
        await runTutoringJobs(
          ctx.deps,
          new Date(Date.parse(session.holdExpiresAt) + 1000),
        );
        const quick = await person(ctx);
        await givePremium(ctx, quick.user.id);
        await booked(ctx, quick, {
          instructorId: instructor.user.id,
          startsAt,
        });
        await pay(piId);
        assert.equal(
          (await sessionRow(ctx, session.id)).refundStatus,
          "succeeded",
        );
        const refundCalls = () =>
          stripe.requests.filter((r) =>
            r.path === "/v1/refunds" && r.body.payment_intent === piId
          )
            .length;
        assert.equal(refundCalls(), 1);
        const confirm = await api(
          ctx,
          "POST",
          `/api/tutoring/sessions/${session.id}/confirm-payment`,
          { token: slow.token },
        );
        assert.equal(confirm.status, 409);
        assert.equal(
          refundCalls(),
          1,
          "the money already went back: nothing to ask Stripe",
        );
        assert.equal(
          (await sessionRow(ctx, session.id)).refundStatus,
          "succeeded",
        );
      },
    });

    await t.step({
      name:
        "a payment that arrives after the session's start is refunded, not booked",
      fn: async () => {
        const learner = await person(ctx);
        const { session } = await bookSession(ctx.deps, learner.user, {
          instructorId: instructor.user.id,
          startsAt: new Date("2026-03-10T10:00:00Z"),
          durationMinutes: 60,
          topic: "Long ago",
        }, new Date("2026-03-01T00:00:00Z"));
        assert.equal(session.status, "pending_payment");
        const { res } = await pay(session.stripePaymentIntentId!);
        assert.notEqual(res.body.outcome, "tutoring: booked");
        const row = await sessionRow(ctx, session.id);
        assert.equal(row.status, "cancelled");
        assert.equal(row.refundStatus, "succeeded");
      },
    });

    await t.step(
      "Stripe down at booking: 502 and the time is not held",
      async () => {
        const learner = await person(ctx);
        const startsAt = utc(dayAhead(12), "10:00");
        stripe.state.down = true;
        let res;
        try {
          res = await book(ctx, learner, {
            instructorId: instructor.user.id,
            startsAt,
            topic: "Unlucky",
          });
        } finally {
          stripe.state.down = false;
        }
        assert.equal(res.status, 502);
        assert.equal(code(res), "PAYMENT_PROVIDER_ERROR");
        const retry = await book(ctx, learner, {
          instructorId: instructor.user.id,
          startsAt,
          topic: "Lucky",
        });
        assert.equal(retry.status, 201, JSON.stringify(retry.body));
      },
    );
  } finally {
    await ctx.close();
    await stripe.close();
  }
});
