import assert from "node:assert/strict";
import { bookSession } from "../../../server/features/tutoring/sessions.ts";
import { freeSlots } from "../../../server/features/tutoring/slots.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import {
  booked,
  code,
  dayAhead,
  everyDay,
  givePremium,
  person,
  publish,
  utc,
} from "./support.ts";

const NY = "America/New_York";

Deno.test("tutoring: availability and free slots", async (t) => {
  const ctx = await createTestContext();
  try {
    const instructor = await person(ctx, "instructor", "Nora York");
    const student = await person(ctx);
    const put = (token: string | undefined, body: unknown) =>
      api(ctx, "PUT", "/api/tutoring/availability", {
        ...(token ? { token } : {}),
        body,
      });
    const slotsOf = (
      instructorId: string,
      from: string,
      to: string,
      now: string,
      extra: {
        durationMinutes?: number;
        timeZone?: string;
        viewerId?: string;
      } = {},
    ) =>
      freeSlots(ctx.deps.db, {
        instructorId,
        from: new Date(from),
        to: new Date(to),
        durationMinutes: extra.durationMinutes ?? 60,
        timeZone: extra.timeZone ?? "UTC",
        viewerId: extra.viewerId,
      }, new Date(now)).then((result) => result.slots);

    await t.step(
      "PUT /availability: only instructors, only valid hours",
      async () => {
        const weekly = everyDay("09:00", "12:00");
        assert.equal(
          (await put(undefined, { timeZone: NY, weekly })).status,
          401,
        );
        const notInstructor = await put(student.token, {
          timeZone: NY,
          weekly,
        });
        assert.equal(notInstructor.status, 403);

        const badZone = await put(instructor.token, {
          timeZone: "America/Gotham",
          weekly,
        });
        assert.equal(badZone.status, 422);
        assert.ok(badZone.body.error.details.fields.timeZone);

        const backwards = await put(instructor.token, {
          timeZone: NY,
          weekly: [{ weekday: 1, start: "12:00", end: "09:00" }],
        });
        assert.equal(backwards.status, 422);
        assert.ok(backwards.body.error.details.fields["weekly.0.end"]);

        const empty = await put(instructor.token, {
          timeZone: NY,
          weekly: [{ weekday: 1, start: "09:00", end: "09:00" }],
        });
        assert.equal(empty.status, 422);
        assert.ok(empty.body.error.details.fields["weekly.0.end"]);

        const overlapping = await put(instructor.token, {
          timeZone: NY,
          weekly: [
            { weekday: 2, start: "10:00", end: "12:00" },
            { weekday: 2, start: "09:00", end: "10:30" },
          ],
        });
        assert.equal(overlapping.status, 422);
        assert.match(
          overlapping.body.error.details.fields["weekly.0.start"],
          /Overlaps/,
        );

        for (
          const [start, end] of [["24:00", "24:00"], ["25:00", "26:00"], [
            "09:00",
            "24:30",
          ], ["9:00", "10:00"]]
        ) {
          const res = await put(instructor.token, {
            timeZone: NY,
            weekly: [{ weekday: 3, start, end }],
          });
          assert.equal(res.status, 422, `${start}-${end}`);
        }
        const badWeekday = await put(instructor.token, {
          timeZone: NY,
          weekly: [{ weekday: 8, start: "09:00", end: "10:00" }],
        });
        assert.equal(badWeekday.status, 422);
        const unknownField = await put(instructor.token, {
          timeZone: NY,
          weekly,
          surprise: true,
        });
        assert.equal(unknownField.status, 422);

        // Nothing above was saved.
        const none = await api(
          ctx,
          "GET",
          `/api/tutoring/availability?instructorId=${instructor.user.id}`,
        );
        assert.equal(none.status, 404);

        // Windows that touch do not overlap; the same hours on other days are separate.
        const saved = await put(instructor.token, {
          timeZone: NY,
          weekly: [
            ...weekly,
            { weekday: 1, start: "12:00", end: "13:00" },
          ],
          hourlyRate: 45.5,
          currency: "EUR",
        });
        assert.equal(saved.status, 200, JSON.stringify(saved.body));
        assert.equal(saved.body.availability.timeZone, NY);
        assert.equal(saved.body.availability.hourlyRate, 45.5);
        assert.equal(saved.body.availability.currency, "eur");
        assert.equal(saved.body.availability.cancellationHours, 24);
        assert.equal(saved.body.availability.accepting, true);
      },
    );

    await t.step("GET /availability is public", async () => {
      const res = await api(
        ctx,
        "GET",
        `/api/tutoring/availability?instructorId=${instructor.user.id}`,
      );
      assert.equal(res.status, 200);
      assert.equal(res.body.availability.instructorId, instructor.user.id);
      assert.equal(res.body.availability.timeZone, NY);
      assert.equal(res.body.availability.weekly.length, 8);
      assert.equal(res.body.availability.hourlyRate, 45.5);
      const unknown = await api(
        ctx,
        "GET",
        "/api/tutoring/availability?instructorId=nobody",
      );
      assert.equal(unknown.status, 404);
      const student404 = await api(
        ctx,
        "GET",
        `/api/tutoring/availability?instructorId=${student.user.id}`,
      );
      assert.equal(student404.status, 404);
    });

    // From here on: New York, 09:00-12:00 every day (the second PUT replaces the first).
    await publish(ctx, instructor, {
      timeZone: NY,
      weekly: everyDay("09:00", "12:00"),
    });

    await t.step(
      "slots follow the wall clock across the spring-forward change",
      async () => {
        const slots = await slotsOf(
          instructor.user.id,
          "2026-03-06T00:00:00Z",
          "2026-03-10T00:00:00Z",
          "2026-03-01T00:00:00Z",
          { timeZone: "Europe/Paris" },
        );
        // 09:00, 09:30, 10:00, 10:30, 11:00 on each of Mar 6, 7, 8, 9.
        assert.equal(slots.length, 20);
        const starts = slots.map((s) => s.startsAt);
        assert.deepEqual(starts.slice(5, 15), [
          "2026-03-07T14:00:00.000Z",
          "2026-03-07T14:30:00.000Z",
          "2026-03-07T15:00:00.000Z",
          "2026-03-07T15:30:00.000Z",
          "2026-03-07T16:00:00.000Z",
          "2026-03-08T13:00:00.000Z",
          "2026-03-08T13:30:00.000Z",
          "2026-03-08T14:00:00.000Z",
          "2026-03-08T14:30:00.000Z",
          "2026-03-08T15:00:00.000Z",
        ]);
        const saturday = slots[5]!;
        const sunday = slots[10]!;
        assert.equal(saturday.endsAt, "2026-03-07T15:00:00.000Z");
        assert.equal(sunday.endsAt, "2026-03-08T14:00:00.000Z");
        // Paris has not changed yet (it does on Mar 29): the NY change moves the Paris time.
        assert.equal(saturday.start, "2026-03-07T15:00:00+01:00");
        assert.equal(saturday.end, "2026-03-07T16:00:00+01:00");
        assert.equal(sunday.start, "2026-03-08T14:00:00+01:00");
        assert.equal(slots[19]!.start, "2026-03-09T16:00:00+01:00");

        const inNewYork = await slotsOf(
          instructor.user.id,
          "2026-03-07T00:00:00Z",
          "2026-03-09T00:00:00Z",
          "2026-03-01T00:00:00Z",
          { timeZone: NY },
        );
        assert.deepEqual(
          inNewYork.map((s) => s.start.slice(11)),
          [
            ...["09:00", "09:30", "10:00", "10:30", "11:00"].map((t) =>
              `${t}:00-05:00`
            ),
            ...["09:00", "09:30", "10:00", "10:30", "11:00"].map((t) =>
              `${t}:00-04:00`
            ),
          ],
        );
      },
    );

    await t.step("the fall-back change moves them back", async () => {
      const slots = await slotsOf(
        instructor.user.id,
        "2026-10-31T00:00:00Z",
        "2026-11-02T00:00:00Z",
        "2026-10-20T00:00:00Z",
        { timeZone: "Asia/Kolkata" },
      );
      assert.equal(slots.length, 10);
      assert.equal(slots[0]!.startsAt, "2026-10-31T13:00:00.000Z");
      assert.equal(slots[0]!.start, "2026-10-31T18:30:00+05:30");
      assert.equal(slots[5]!.startsAt, "2026-11-01T14:00:00.000Z");
      assert.equal(slots[5]!.start, "2026-11-01T19:30:00+05:30");
    });

    const night = await person(ctx, "instructor", "Night Owl");
    await publish(ctx, night, {
      timeZone: NY,
      weekly: [{ weekday: 7, start: "00:00", end: "04:00" }],
    });

    await t.step(
      "a window over the skipped hour has no slot in the gap",
      async () => {
        const half = await slotsOf(
          night.user.id,
          "2026-03-08T00:00:00Z",
          "2026-03-09T00:00:00Z",
          "2026-03-01T00:00:00Z",
          { durationMinutes: 30, timeZone: NY },
        );
        assert.deepEqual(half.map((s) => s.start.slice(11, 16)), [
          "00:00",
          "00:30",
          "01:00",
          "01:30",
          "03:00",
          "03:30",
        ]);
        assert.deepEqual(half.map((s) => s.startsAt.slice(11, 16)), [
          "05:00",
          "05:30",
          "06:00",
          "06:30",
          "07:00",
          "07:30",
        ]);
        // An hour from 01:30 EST ends at 03:30 EDT: still inside the window.
        const hour = await slotsOf(
          night.user.id,
          "2026-03-08T00:00:00Z",
          "2026-03-09T00:00:00Z",
          "2026-03-01T00:00:00Z",
          { durationMinutes: 60, timeZone: NY },
        );
        assert.deepEqual(
          hour.map((s) => `${s.start.slice(11, 16)}-${s.end.slice(11, 16)}`),
          [
            "00:00-01:00",
            "00:30-01:30",
            "01:00-03:00",
            "01:30-03:30",
            "03:00-04:00",
          ],
        );
      },
    );

    await t.step(
      "the repeated hour of the fall-back night is offered once",
      async () => {
        const slots = await slotsOf(
          night.user.id,
          "2026-11-01T00:00:00Z",
          "2026-11-02T00:00:00Z",
          "2026-10-20T00:00:00Z",
          { durationMinutes: 30, timeZone: NY },
        );
        const local = slots.map((s) => s.start.slice(11, 16));
        assert.equal(local.filter((t) => t === "01:00").length, 1);
        assert.equal(local.filter((t) => t === "01:30").length, 1);
        assert.equal(new Set(slots.map((s) => s.startsAt)).size, slots.length);
        assert.equal(
          slots.find((s) => s.start.startsWith("2026-11-01T01:30"))!.startsAt,
          "2026-11-01T05:30:00.000Z",
        );
        for (const slot of slots) {
          assert.ok(
            slot.startsAt >= "2026-11-01T04:00:00.000Z" &&
              slot.endsAt <= "2026-11-01T09:00:00.000Z",
            `${slot.startsAt} lies inside 00:00 EDT - 04:00 EST`,
          );
        }
        assert.ok(local.includes("00:00") && local.includes("03:30"));
      },
    );

    await t.step(
      "notice and horizon: ≥ 1 hour ahead, ≤ 90 days ahead",
      async () => {
        const soon = await slotsOf(
          instructor.user.id,
          "2026-03-08T00:00:00Z",
          "2026-03-09T00:00:00Z",
          "2026-03-08T12:30:00Z",
        );
        assert.equal(soon[0]!.startsAt, "2026-03-08T13:30:00.000Z");
        assert.equal(soon.length, 4);
        const far = await slotsOf(
          instructor.user.id,
          "2026-03-06T00:00:00Z",
          "2026-03-10T00:00:00Z",
          "2025-12-08T14:30:00Z", // + 90 days = 2026-03-08T14:30Z
        );
        assert.equal(far.length, 12);
        assert.equal(far.at(-1)!.startsAt, "2026-03-08T13:30:00.000Z");
        const tooLate = await slotsOf(
          instructor.user.id,
          "2026-03-06T00:00:00Z",
          "2026-03-10T00:00:00Z",
          "2025-11-01T00:00:00Z",
        );
        assert.deepEqual(tooLate, []);
      },
    );

    await t.step("days off remove their local day", async () => {
      const resting = await person(ctx, "instructor");
      await publish(ctx, resting, {
        timeZone: NY,
        weekly: everyDay("09:00", "12:00"),
        daysOff: [{ date: "2026-03-08", reason: "Family" }],
      });
      const slots = await slotsOf(
        resting.user.id,
        "2026-03-07T00:00:00Z",
        "2026-03-10T00:00:00Z",
        "2026-03-01T00:00:00Z",
        { timeZone: NY },
      );
      assert.deepEqual(
        [...new Set(slots.map((s) => s.start.slice(0, 10)))],
        ["2026-03-07", "2026-03-09"],
      );
      assert.equal(slots.length, 10);
    });

    await t.step(
      "an instructor who is not accepting has no slots",
      async () => {
        const away = await person(ctx, "instructor");
        await publish(ctx, away, {
          timeZone: NY,
          weekly: everyDay("09:00", "12:00"),
          accepting: false,
        });
        assert.deepEqual(
          await slotsOf(
            away.user.id,
            "2026-03-07T00:00:00Z",
            "2026-03-10T00:00:00Z",
            "2026-03-01T00:00:00Z",
          ),
          [],
        );
      },
    );

    await t.step(
      "booked sessions and the caller's own sessions are busy",
      async () => {
        const learner = await person(ctx);
        await givePremium(ctx, learner.user.id);
        const now = new Date("2026-03-01T00:00:00Z");
        const { session } = await bookSession(ctx.deps, learner.user, {
          instructorId: instructor.user.id,
          startsAt: new Date("2026-03-08T13:00:00Z"),
          durationMinutes: 60,
          topic: "Arpeggios",
        }, now);
        assert.equal(session.status, "booked");
        const range = ["2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z"] as const;
        const anyone = await slotsOf(
          instructor.user.id,
          ...range,
          now.toISOString(),
        );
        assert.deepEqual(anyone.map((s) => s.startsAt.slice(11, 16)), [
          "14:00",
          "14:30",
          "15:00",
        ]);
        const halfHours = await slotsOf(
          instructor.user.id,
          ...range,
          now.toISOString(),
          { durationMinutes: 30 },
        );
        assert.deepEqual(halfHours.map((s) => s.startsAt.slice(11, 16)), [
          "14:00",
          "14:30",
          "15:00",
          "15:30",
        ]);

        // Another instructor with the same hours: free for everyone but that learner.
        const other = await person(ctx, "instructor");
        await publish(ctx, other, {
          timeZone: NY,
          weekly: everyDay("09:00", "12:00"),
        });
        const forOthers = await slotsOf(
          other.user.id,
          ...range,
          now.toISOString(),
        );
        assert.equal(forOthers.length, 5);
        const forLearner = await slotsOf(
          other.user.id,
          ...range,
          now.toISOString(),
          {
            viewerId: learner.user.id,
          },
        );
        assert.deepEqual(forLearner.map((s) => s.startsAt.slice(11, 16)), [
          "14:00",
          "14:30",
          "15:00",
        ]);
      },
    );

    await t.step(
      "GET /slots over HTTP: shape, viewer's sessions, validation",
      async () => {
        // Kolkata has no daylight saving: the expected instants hold whenever this runs.
        const tutor = await person(ctx, "instructor", "Kavya Rao");
        await publish(ctx, tutor, {
          timeZone: "Asia/Kolkata",
          weekly: everyDay("09:00", "12:00"),
        });
        const from = utc(dayAhead(3), "00:00");
        const to = utc(dayAhead(5), "00:00");
        const path = (query: Record<string, string>) =>
          `/api/tutoring/slots?${new URLSearchParams({
            instructorId: tutor.user.id,
            from,
            to,
            ...query,
          })}`;
        const res = await api(ctx, "GET", path({ tz: "Asia/Tokyo" }));
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        assert.equal(res.body.instructorId, tutor.user.id);
        assert.equal(res.body.instructorTimeZone, "Asia/Kolkata");
        assert.equal(res.body.timeZone, "Asia/Tokyo");
        assert.equal(res.body.durationMinutes, 60);
        assert.equal(res.body.slots.length, 10);
        assert.deepEqual(res.body.slots[0], {
          startsAt: utc(dayAhead(3), "03:30"),
          endsAt: utc(dayAhead(3), "04:30"),
          start: `${dayAhead(3)}T12:30:00+09:00`,
          end: `${dayAhead(3)}T13:30:00+09:00`,
        });
        const utcDefault = await api(
          ctx,
          "GET",
          path({ durationMinutes: "90" }),
        );
        assert.equal(utcDefault.body.timeZone, "UTC");
        assert.equal(utcDefault.body.durationMinutes, 90);
        assert.equal(utcDefault.body.slots.length, 8);
        assert.equal(
          utcDefault.body.slots[0].start,
          `${dayAhead(3)}T03:30:00+00:00`,
        );
        assert.equal(
          utcDefault.body.slots[0].endsAt,
          utc(dayAhead(3), "05:00"),
        );

        // The caller's own session elsewhere hides the slots it overlaps, for them only.
        const learner = await person(ctx);
        await givePremium(ctx, learner.user.id);
        const twin = await person(ctx, "instructor");
        await publish(ctx, twin, {
          timeZone: "UTC",
          weekly: everyDay("00:00", "24:00"),
        });
        await booked(ctx, learner, {
          instructorId: twin.user.id,
          startsAt: utc(dayAhead(3), "03:30"),
        });
        const anonymous = await api(ctx, "GET", path({}));
        assert.equal(anonymous.body.slots.length, 10);
        const mine = await api(ctx, "GET", path({}), { token: learner.token });
        assert.equal(mine.status, 200);
        assert.equal(mine.body.slots.length, 8);
        assert.equal(mine.body.slots[0].startsAt, utc(dayAhead(3), "04:30"));

        const bad = async (query: Record<string, string>, field: string) => {
          const r = await api(ctx, "GET", path(query));
          assert.equal(r.status, 422, JSON.stringify(query));
          assert.ok(
            r.body.error.details.fields[field],
            `${field} in ${JSON.stringify(r.body.error.details)}`,
          );
        };
        await bad({ tz: "Moon/Base" }, "tz");
        await bad({ to: from }, "to");
        await bad({ to: utc(dayAhead(40), "00:00") }, "to");
        await bad({ durationMinutes: "50" }, "durationMinutes");
        await bad({ durationMinutes: "10" }, "durationMinutes");
        await bad({ from: "tomorrow" }, "from");
        const nobody = await api(ctx, "GET", path({ instructorId: "nobody" }));
        assert.equal(nobody.status, 404);
        assert.equal(code(nobody), "NOT_FOUND");
      },
    );
  } finally {
    await ctx.close();
  }
});
