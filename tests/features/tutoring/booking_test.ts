import assert from "node:assert/strict";
import { and, eq, ne } from "drizzle-orm";
import { tutoringSessions } from "../../../db/schema/mod.ts";
import { setSubscriptionByAdmin } from "../../../server/features/subscriptions/service.ts";
import { bookSession } from "../../../server/features/tutoring/sessions.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import {
  ADMIN_ACTOR,
  endAccess,
  enroll,
  makeProgram,
} from "../../helpers/factories.ts";
import {
  book,
  booked,
  code,
  dayAhead,
  everyDay,
  givePremium,
  instructorWithHours,
  noticesOf,
  person,
  utc,
} from "./support.ts";

/** The sessions holding time for an instructor (anything not cancelled). */
async function liveSessionsOf(ctx: TestContext, instructorId: string) {
  return await ctx.deps.db.select().from(tutoringSessions).where(and(
    eq(tutoringSessions.instructorId, instructorId),
    ne(tutoringSessions.status, "cancelled"),
  ));
}

async function premiumLearner(ctx: TestContext, name = "Pat Premium") {
  const learner = await person(ctx, "student", name);
  await givePremium(ctx, learner.user.id);
  return learner;
}

Deno.test("tutoring: booking rules (no Stripe configured)", async (t) => {
  const ctx = await createTestContext();
  try {
    // UTC, 09:00-12:00 every day, mentorship learners only.
    const instructor = await instructorWithHours(ctx, {
      weekly: everyDay("09:00", "12:00"),
    });
    const day = dayAhead(3);

    await t.step("a premium learner books free; both are told", async () => {
      const learner = await premiumLearner(ctx);
      const res = await book(ctx, learner, {
        instructorId: instructor.user.id,
        startsAt: utc(day, "09:00"),
        topic: "Sight reading",
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const session = res.body.session;
      assert.equal(session.status, "booked");
      assert.equal(session.access, "mentorship");
      assert.equal(session.price, null);
      assert.equal(session.durationMinutes, 60, "60 minutes by default");
      assert.equal(session.startsAt, utc(day, "09:00"));
      assert.equal(session.endsAt, utc(day, "10:00"));
      assert.equal(session.learnerId, learner.user.id);
      assert.equal(res.body.clientSecret, null);
      assert.equal(
        session.calendarUrl,
        `/api/tutoring/sessions/${session.id}/calendar.ics`,
      );
      const toLearner = await noticesOf(
        ctx,
        learner.user.id,
        "session_booked",
        session.id,
      );
      const toInstructor = await noticesOf(
        ctx,
        instructor.user.id,
        "session_booked",
        session.id,
      );
      assert.equal(toLearner.length, 1);
      assert.equal(toInstructor.length, 1);
      assert.match(toLearner[0]!.message, /Ada Instructor/);
      assert.match(toInstructor[0]!.message, /Pat Premium/);
      const one = await api(
        ctx,
        "GET",
        `/api/tutoring/sessions/${session.id}`,
        {
          token: learner.token,
        },
      );
      assert.equal(one.status, 200);
      assert.equal(one.body.session.topic, "Sight reading");
    });

    await t.step("only inside the instructor's hours", async () => {
      const learner = await premiumLearner(ctx);
      for (
        const [start, minutes] of [
          ["08:00", 60],
          ["11:30", 60],
          ["12:00", 30],
          ["08:45", 30],
        ] as const
      ) {
        const res = await book(ctx, learner, {
          instructorId: instructor.user.id,
          startsAt: utc(day, start),
          durationMinutes: minutes,
          topic: "Out of hours",
        });
        assert.equal(res.status, 409, `${start} for ${minutes}`);
        assert.equal(code(res), "OUTSIDE_AVAILABILITY");
      }
      // Up to the very end of a window is fine.
      await booked(ctx, learner, {
        instructorId: instructor.user.id,
        startsAt: utc(day, "11:30"),
        durationMinutes: 30,
      });
    });

    await t.step("a day off is closed", async () => {
      const resting = await instructorWithHours(ctx, {
        weekly: everyDay("09:00", "12:00"),
        daysOff: [{ date: dayAhead(4) }],
      });
      const learner = await premiumLearner(ctx);
      const res = await book(ctx, learner, {
        instructorId: resting.user.id,
        startsAt: utc(dayAhead(4), "10:00"),
        topic: "Holiday",
      });
      assert.equal(res.status, 409);
      assert.equal(code(res), "OUTSIDE_AVAILABILITY");
      await booked(ctx, learner, {
        instructorId: resting.user.id,
        startsAt: utc(dayAhead(5), "10:00"),
      });
    });

    await t.step("never over another session of either person", async () => {
      const first = await premiumLearner(ctx);
      const second = await premiumLearner(ctx);
      const when = dayAhead(6);
      await booked(ctx, first, {
        instructorId: instructor.user.id,
        startsAt: utc(when, "10:00"),
      });
      for (
        const [start, minutes] of [
          ["10:00", 60],
          ["09:30", 60],
          ["10:30", 15],
          ["09:00", 180],
        ] as const
      ) {
        const res = await book(ctx, second, {
          instructorId: instructor.user.id,
          startsAt: utc(when, start),
          durationMinutes: minutes,
          topic: "Clash",
        });
        assert.equal(res.status, 409, `${start} for ${minutes}`);
        assert.equal(code(res), "SLOT_TAKEN");
        assert.match(res.body.error.message, /instructor already has/);
      }
      // Back to back is not an overlap.
      await booked(ctx, second, {
        instructorId: instructor.user.id,
        startsAt: utc(when, "09:00"),
      });
      await booked(ctx, second, {
        instructorId: instructor.user.id,
        startsAt: utc(when, "11:00"),
      });

      // The learner's own session with someone else blocks them too.
      const other = await instructorWithHours(ctx, {}, "Other Instructor");
      const mine = await book(ctx, first, {
        instructorId: other.user.id,
        startsAt: utc(when, "10:30"),
        durationMinutes: 30,
        topic: "Double",
      });
      assert.equal(mine.status, 409);
      assert.equal(code(mine), "SLOT_TAKEN");
      assert.match(mine.body.error.message, /You already have/);

      // An instructor teaching then cannot be booked by another instructor as a learner either.
      await givePremium(ctx, instructor.user.id);
      const teaching = await book(ctx, instructor, {
        instructorId: other.user.id,
        startsAt: utc(when, "10:30"),
        durationMinutes: 15,
        topic: "Teacher's lesson",
      });
      assert.equal(teaching.status, 409);
      assert.equal(code(teaching), "SLOT_TAKEN");
      // ...and the instructor's session as a learner makes them busy as an instructor.
      await booked(ctx, instructor, {
        instructorId: other.user.id,
        startsAt: utc(dayAhead(7), "09:00"),
      });
      const third = await premiumLearner(ctx);
      const busy = await book(ctx, third, {
        instructorId: instructor.user.id,
        startsAt: utc(dayAhead(7), "09:30"),
        durationMinutes: 30,
        topic: "Busy",
      });
      assert.equal(busy.status, 409);
      assert.equal(code(busy), "SLOT_TAKEN");
      await setSubscriptionByAdmin(
        ctx.deps,
        ADMIN_ACTOR,
        instructor.user.id,
        "free",
        undefined,
      );
    });

    await t.step("notice and horizon (422)", async () => {
      const learner = await premiumLearner(ctx);
      const anytime = await instructorWithHours(ctx);
      const soon = new Date(Date.now() + 30 * 60_000);
      soon.setUTCSeconds(0, 0);
      const tooSoon = await book(ctx, learner, {
        instructorId: anytime.user.id,
        startsAt: soon.toISOString(),
        durationMinutes: 15,
        topic: "Now",
      });
      assert.equal(tooSoon.status, 422);
      assert.ok(tooSoon.body.error.details.fields.startsAt);
      const tooFar = await book(ctx, learner, {
        instructorId: anytime.user.id,
        startsAt: utc(dayAhead(92), "10:00"),
        topic: "Later",
      });
      assert.equal(tooFar.status, 422);
      assert.match(tooFar.body.error.details.fields.startsAt, /90 days/);

      // The exact boundaries, with a fixed clock.
      const start = new Date("2026-03-10T10:00:00Z");
      const input = {
        instructorId: anytime.user.id,
        startsAt: start,
        durationMinutes: 30,
        topic: "Boundary",
      };
      await assert.rejects(
        bookSession(
          ctx.deps,
          learner.user,
          input,
          new Date(start.getTime() - 59 * 60_000),
        ),
        (error: { status: number }) => error.status === 422,
      );
      const justInTime = await bookSession(
        ctx.deps,
        learner.user,
        input,
        new Date(start.getTime() - 60 * 60_000),
      );
      assert.equal(justInTime.session.status, "booked");
      const later = { ...input, startsAt: new Date("2026-06-08T10:00:00Z") };
      await assert.rejects(
        bookSession(
          ctx.deps,
          learner.user,
          later,
          new Date(later.startsAt.getTime() - 90 * 86_400_000 - 60_000),
        ),
        (error: { status: number }) => error.status === 422,
      );
      const atHorizon = await bookSession(
        ctx.deps,
        learner.user,
        later,
        new Date(later.startsAt.getTime() - 90 * 86_400_000),
      );
      assert.equal(atHorizon.session.status, "booked");
    });

    await t.step("duration and body validation", async () => {
      const learner = await premiumLearner(ctx);
      const anytime = await instructorWithHours(ctx);
      for (const durationMinutes of [50, 10, 0, 255, 60.5, "60"]) {
        const res = await book(ctx, learner, {
          instructorId: anytime.user.id,
          startsAt: utc(dayAhead(8), "10:00"),
          durationMinutes,
          topic: "Odd length",
        });
        assert.equal(res.status, 422, String(durationMinutes));
        assert.ok(res.body.error.details.fields.durationMinutes);
      }
      const long = await book(ctx, learner, {
        instructorId: anytime.user.id,
        startsAt: utc(dayAhead(8), "10:00"),
        durationMinutes: 240,
        topic: "Marathon",
      });
      assert.equal(long.status, 201);
      assert.equal(long.body.session.endsAt, utc(dayAhead(8), "14:00"));
      const quarter = await book(ctx, learner, {
        instructorId: anytime.user.id,
        startsAt: utc(dayAhead(8), "14:00"),
        durationMinutes: 45,
        topic: "Quick",
      });
      assert.equal(quarter.status, 201);
      for (
        const body of [
          {
            instructorId: anytime.user.id,
            startsAt: utc(dayAhead(8), "16:00"),
            topic: "  ",
          },
          {
            instructorId: anytime.user.id,
            startsAt: "2026-12-01 10:00",
            topic: "No zone",
          },
          {
            instructorId: anytime.user.id,
            startsAt: utc(dayAhead(8), "16:00"),
            topic: "x",
            price: 0,
          },
          { instructorId: anytime.user.id, topic: "No time" },
        ]
      ) {
        const res = await book(ctx, learner, body);
        assert.equal(res.status, 422, JSON.stringify(body));
      }
      const anonymous = await api(ctx, "POST", "/api/tutoring/sessions", {
        body: {
          instructorId: anytime.user.id,
          startsAt: utc(dayAhead(8), "16:00"),
          topic: "Hi",
        },
      });
      assert.equal(anonymous.status, 401);
    });

    await t.step(
      "not with yourself, not with a non-instructor, not when closed",
      async () => {
        const self = await book(ctx, instructor, {
          instructorId: instructor.user.id,
          startsAt: utc(day, "10:00"),
          topic: "Me",
        });
        assert.equal(self.status, 409);
        assert.equal(code(self), "SELF_BOOKING");
        const learner = await premiumLearner(ctx);
        const student = await person(ctx);
        const notInstructor = await book(ctx, learner, {
          instructorId: student.user.id,
          startsAt: utc(day, "10:00"),
          topic: "Peer",
        });
        assert.equal(notInstructor.status, 404);
        const closed = await instructorWithHours(ctx, { accepting: false });
        const res = await book(ctx, learner, {
          instructorId: closed.user.id,
          startsAt: utc(day, "10:00"),
          topic: "Closed",
        });
        assert.equal(res.status, 409);
        assert.equal(code(res), "NOT_ACCEPTING_BOOKINGS");
      },
    );

    await t.step(
      "mentorship: premium or a bundle in one of the instructor's programs",
      async () => {
        const tutor = await instructorWithHours(ctx, {}, "Mentor Mae");
        const otherTutor = await person(ctx, "instructor");
        const ownProgram = await makeProgram(ctx, tutor.user);
        const elsewhere = await makeProgram(ctx, otherTutor.user);
        const slot = (hour: string) => ({
          instructorId: tutor.user.id,
          startsAt: utc(dayAhead(9), hour),
          topic: "Mentoring",
        });

        const free = await person(ctx);
        const refused = await book(ctx, free, slot("08:00"));
        assert.equal(refused.status, 402);
        assert.equal(code(refused), "MENTORSHIP_REQUIRED");
        assert.deepEqual(refused.body.error.details.plans, ["premium"]);
        assert.equal(typeof refused.body.error.details.upgradeUrl, "string");

        const basic = await person(ctx);
        await setSubscriptionByAdmin(
          ctx.deps,
          ADMIN_ACTOR,
          basic.user.id,
          "basic",
          new Date(Date.now() + 30 * 86_400_000),
        );
        assert.equal(
          code(await book(ctx, basic, slot("08:00"))),
          "MENTORSHIP_REQUIRED",
        );

        const otherStudent = await person(ctx);
        await enroll(ctx, otherStudent.user.id, elsewhere.id, "bundle");
        const wrongInstructor = await book(ctx, otherStudent, slot("08:00"));
        assert.equal(
          wrongInstructor.status,
          402,
          "a bundle with another instructor",
        );

        const partial = await person(ctx);
        await enroll(ctx, partial.user.id, ownProgram.id, "chatbot");
        assert.equal(
          (await book(ctx, partial, slot("08:00"))).status,
          402,
          "not a bundle",
        );

        const student = await person(ctx);
        await enroll(ctx, student.user.id, ownProgram.id, "bundle");
        const ok = await book(ctx, student, slot("08:00"));
        assert.equal(ok.status, 201, JSON.stringify(ok.body));
        assert.equal(ok.body.session.status, "booked");
        assert.equal(ok.body.session.access, "mentorship");

        const former = await person(ctx);
        await enroll(ctx, former.user.id, ownProgram.id, "bundle");
        await endAccess(ctx, former.user.id, ownProgram.id);
        assert.equal(
          (await book(ctx, former, slot("10:00"))).status,
          402,
          "revoked bundle",
        );

        const premium = await premiumLearner(ctx);
        const viaPlan = await book(ctx, premium, slot("10:00"));
        assert.equal(viaPlan.status, 201);
        assert.equal(viaPlan.body.session.access, "mentorship");
      },
    );

    await t.step(
      "a paid instructor without Stripe configured: 503, and nothing held",
      async () => {
        const paid = await instructorWithHours(ctx, { hourlyRate: 60 });
        const learner = await person(ctx);
        const res = await book(ctx, learner, {
          instructorId: paid.user.id,
          startsAt: utc(dayAhead(9), "10:00"),
          topic: "Paid",
        });
        assert.equal(res.status, 503);
        assert.equal(code(res), "PAYMENTS_DISABLED");
        assert.equal((await liveSessionsOf(ctx, paid.user.id)).length, 0);
        const premium = await premiumLearner(ctx);
        await booked(ctx, premium, {
          instructorId: paid.user.id,
          startsAt: utc(dayAhead(9), "10:00"),
        });
      },
    );

    await t.step("at most 5 upcoming sessions per learner", async () => {
      const tutor = await instructorWithHours(ctx);
      const learner = await premiumLearner(ctx);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const session = await booked(ctx, learner, {
          instructorId: tutor.user.id,
          startsAt: utc(dayAhead(10 + i), "10:00"),
        });
        ids.push(session.id);
      }
      const sixth = await book(ctx, learner, {
        instructorId: tutor.user.id,
        startsAt: utc(dayAhead(16), "10:00"),
        topic: "One more",
      });
      assert.equal(sixth.status, 409);
      assert.equal(code(sixth), "TOO_MANY_UPCOMING");
      const cancel = await api(
        ctx,
        "POST",
        `/api/tutoring/sessions/${ids[0]}/cancel`,
        {
          token: learner.token,
          body: {},
        },
      );
      assert.equal(cancel.status, 200);
      await booked(ctx, learner, {
        instructorId: tutor.user.id,
        startsAt: utc(dayAhead(16), "10:00"),
      });
    });
  } finally {
    await ctx.close();
  }
});

Deno.test("tutoring: concurrent overlapping bookings, exactly one wins", async (t) => {
  const ctx = await createTestContext();
  try {
    const instructor = await instructorWithHours(ctx);
    const day = dayAhead(4);
    const race = async (
      attempts: {
        who: Awaited<ReturnType<typeof premiumLearner>>;
        body: Record<string, unknown>;
      }[],
    ) => {
      const results = await Promise.all(
        attempts.map(({ who, body }) =>
          book(ctx, who, { topic: "Race", ...body })
        ),
      );
      return results;
    };
    const statuses = (results: { status: number }[]) =>
      results.map((r) => r.status).sort();

    await t.step("two learners, one instructor, the same time", async () => {
      const [a, b] = [await premiumLearner(ctx), await premiumLearner(ctx)];
      const body = {
        instructorId: instructor.user.id,
        startsAt: utc(day, "09:00"),
      };
      const results = await race([{ who: a, body }, { who: b, body }]);
      assert.deepEqual(statuses(results), [201, 409]);
      assert.equal(code(results.find((r) => r.status === 409)!), "SLOT_TAKEN");
      const live = (await liveSessionsOf(ctx, instructor.user.id)).filter((s) =>
        s.startsAt.toISOString() === utc(day, "09:00")
      );
      assert.equal(live.length, 1);
    });

    await t.step("overlapping, not identical, times", async () => {
      for (
        const [first, second] of [
          [{ start: "11:00", minutes: 60 }, { start: "11:30", minutes: 60 }],
          [{ start: "13:00", minutes: 120 }, { start: "13:45", minutes: 15 }],
          [{ start: "16:15", minutes: 45 }, { start: "15:30", minutes: 60 }],
        ] as const
      ) {
        const [a, b] = [await premiumLearner(ctx), await premiumLearner(ctx)];
        const results = await race([
          {
            who: a,
            body: {
              instructorId: instructor.user.id,
              startsAt: utc(day, first.start),
              durationMinutes: first.minutes,
            },
          },
          {
            who: b,
            body: {
              instructorId: instructor.user.id,
              startsAt: utc(day, second.start),
              durationMinutes: second.minutes,
            },
          },
        ]);
        assert.deepEqual(
          statuses(results),
          [201, 409],
          JSON.stringify([first, second]),
        );
      }
    });

    await t.step("one learner, two instructors, the same time", async () => {
      const other = await instructorWithHours(ctx, {}, "Second Instructor");
      const learner = await premiumLearner(ctx);
      const results = await race([
        {
          who: learner,
          body: {
            instructorId: instructor.user.id,
            startsAt: utc(day, "19:00"),
          },
        },
        {
          who: learner,
          body: { instructorId: other.user.id, startsAt: utc(day, "19:30") },
        },
      ]);
      assert.deepEqual(statuses(results), [201, 409]);
      const mine = await ctx.deps.db.select().from(tutoringSessions).where(
        eq(tutoringSessions.learnerId, learner.user.id),
      );
      assert.equal(mine.length, 1);
    });

    await t.step("five learners on one slot", async () => {
      const learners = [];
      for (let i = 0; i < 5; i++) learners.push(await premiumLearner(ctx));
      const results = await race(
        learners.map((who) => ({
          who,
          body: {
            instructorId: instructor.user.id,
            startsAt: utc(day, "21:00"),
          },
        })),
      );
      assert.deepEqual(statuses(results), [201, 409, 409, 409, 409]);
    });

    await t.step(
      "one learner racing themself past the upcoming limit",
      async () => {
        const learner = await premiumLearner(ctx);
        const results = await race(
          [0, 1, 2, 3, 4, 5, 6].map((i) => ({
            who: learner,
            body: {
              instructorId: instructor.user.id,
              startsAt: utc(
                dayAhead(5),
                `${String(8 + i).padStart(2, "0")}:00`,
              ),
            },
          })),
        );
        assert.deepEqual(statuses(results), [
          201,
          201,
          201,
          201,
          201,
          409,
          409,
        ]);
        for (const r of results.filter((r) => r.status === 409)) {
          assert.equal(code(r), "TOO_MANY_UPCOMING");
        }
      },
    );

    await t.step("adjacent bookings at once both succeed", async () => {
      const [a, b] = [await premiumLearner(ctx), await premiumLearner(ctx)];
      const results = await race([
        {
          who: a,
          body: {
            instructorId: instructor.user.id,
            startsAt: utc(dayAhead(6), "09:00"),
          },
        },
        {
          who: b,
          body: {
            instructorId: instructor.user.id,
            startsAt: utc(dayAhead(6), "10:00"),
          },
        },
      ]);
      assert.deepEqual(statuses(results), [201, 201]);
    });
  } finally {
    await ctx.close();
  }
});
