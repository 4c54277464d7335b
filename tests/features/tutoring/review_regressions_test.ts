import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { tutoringSessions } from "../../../db/schema/mod.ts";
import { setSubscriptionByAdmin } from "../../../server/features/subscriptions/service.ts";
import { runTutoringJobs } from "../../../server/features/tutoring/jobs.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { ADMIN_ACTOR } from "../../helpers/factories.ts";
import { startFakeStripe } from "../../helpers/fake_stripe.ts";
import {
  book,
  booked,
  code,
  dayAhead,
  givePremium,
  instructorWithHours,
  person,
  publish,
  utc,
} from "./support.ts";

Deno.test("tutoring: rules a review found loose", async (t) => {
  const stripe = startFakeStripe();
  const ctx = await createTestContext(stripe.env);
  try {
    const paid = await instructorWithHours(ctx, { hourlyRate: 40 }, "Paid");
    const date = dayAhead(5);

    await t.step(
      "an unpaid hold that lapsed opens no conversation",
      async () => {
        const stranger = await person(ctx);
        const held = await book(ctx, stranger, {
          instructorId: paid.user.id,
          startsAt: utc(date, "10:00"),
          topic: "Hello",
        });
        assert.equal(held.status, 201, JSON.stringify(held.body));
        assert.equal(held.body.session.status, "pending_payment");
        const [row] = await ctx.deps.db.select().from(tutoringSessions).where(
          eq(tutoringSessions.id, held.body.session.id),
        );
        await runTutoringJobs(
          ctx.deps,
          new Date(row!.holdExpiresAt!.getTime() + 1000),
        );
        for (
          const [from, to] of [[stranger, paid], [paid, stranger]] as const
        ) {
          const res = await api(ctx, "POST", `/api/messages/${to.user.id}`, {
            token: from.token,
            body: { content: "hi" },
          });
          assert.equal(res.status, 403, JSON.stringify(res.body));
          assert.equal(code(res), "NOT_CONNECTED");
        }
      },
    );

    await t.step("sessions start on the half hour of a window", async () => {
      const learner = await person(ctx);
      await givePremium(ctx, learner.user.id);
      const odd = await book(ctx, learner, {
        instructorId: paid.user.id,
        startsAt: utc(date, "14:10"),
        topic: "Odd start",
      });
      assert.equal(odd.status, 409, JSON.stringify(odd.body));
      assert.equal(code(odd), "OUTSIDE_AVAILABILITY");
      await booked(ctx, learner, {
        instructorId: paid.user.id,
        startsAt: utc(date, "14:30"),
      });
    });

    await t.step(
      "a mentorship session is not lengthened after mentorship ends",
      async () => {
        const learner = await person(ctx);
        await givePremium(ctx, learner.user.id);
        const session = await booked(ctx, learner, {
          instructorId: paid.user.id,
          startsAt: utc(date, "16:00"),
          durationMinutes: 30,
        });
        assert.equal(session.access, "mentorship");
        await setSubscriptionByAdmin(
          ctx.deps,
          ADMIN_ACTOR,
          learner.user.id,
          "free",
          undefined,
        );
        const longer = await api(
          ctx,
          "PUT",
          `/api/tutoring/sessions/${session.id}/reschedule`,
          {
            token: learner.token,
            body: { startsAt: utc(date, "18:00"), durationMinutes: 240 },
          },
        );
        assert.equal(longer.status, 422, JSON.stringify(longer.body));
        const moved = await api(
          ctx,
          "PUT",
          `/api/tutoring/sessions/${session.id}/reschedule`,
          { token: learner.token, body: { startsAt: utc(date, "18:00") } },
        );
        assert.equal(moved.status, 200, JSON.stringify(moved.body));
        assert.equal(moved.body.session.durationMinutes, 30);
      },
    );

    await t.step(
      "an hourly rate of 0 is refused (Stripe cannot charge 0)",
      async () => {
        const res = await api(ctx, "PUT", "/api/tutoring/availability", {
          token: paid.token,
          body: { timeZone: "UTC", weekly: [], hourlyRate: 0 },
        });
        assert.equal(res.status, 422, JSON.stringify(res.body));
        assert.ok(res.body.error.details.fields.hourlyRate);
        await publish(ctx, paid, {
          timeZone: "UTC",
          weekly: [{ weekday: 1, start: "09:00", end: "10:00" }],
          hourlyRate: null,
        });
      },
    );
  } finally {
    await ctx.close();
    await stripe.close();
  }
});
