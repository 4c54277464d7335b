import assert from "node:assert/strict";
import {
  bookSession,
  cancelSession,
  rescheduleSession,
} from "../../../server/features/tutoring/sessions.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import {
  booked,
  code,
  dayAhead,
  everyDay,
  givePremium,
  instructorWithHours,
  noticesOf,
  type Person,
  person,
  sessionRow,
  utc,
} from "./support.ts";

const HOUR = 3_600_000;

/** The lines of an .ics body after unfolding (RFC 5545 3.1). */
const unfold = (body: string) => body.replace(/\r\n /g, "").split("\r\n");
const property = (body: string, name: string) =>
  unfold(body).find((line) =>
    line.startsWith(`${name}:`) || line.startsWith(`${name};`)
  );
const stamp = (iso: string) => iso.replace(/[-:]/g, "").replace(/\.\d{3}/, "");

Deno.test("tutoring: rescheduling, cancelling and the calendar file", async (t) => {
  const ctx = await createTestContext();
  try {
    // A learner may change things up to 48 hours before; 09:00-17:00 UTC every day.
    const instructor = await instructorWithHours(ctx, {
      weekly: everyDay("09:00", "17:00"),
      cancellationHours: 48,
    }, 'Dr. "Ace" Smith, Jr.');
    const learner = await person(ctx, "student", "Lou Learner");
    await givePremium(ctx, learner.user.id);
    const stranger = await person(ctx);
    const admin = await person(ctx, "admin");
    const path = (id: string, rest = "") =>
      `/api/tutoring/sessions/${id}${rest}`;
    const reschedule = (
      who: Person,
      id: string,
      body: Record<string, unknown>,
    ) => api(ctx, "PUT", path(id, "/reschedule"), { token: who.token, body });
    const cancel = (
      who: Person,
      id: string,
      body: Record<string, unknown> = {},
    ) => api(ctx, "POST", path(id, "/cancel"), { token: who.token, body });
    const calendar = (who: Person, id: string) =>
      api(ctx, "GET", path(id, "/calendar.ics"), { token: who.token });

    await t.step("strangers see nothing (404); admins may look", async () => {
      const session = await booked(ctx, learner, {
        instructorId: instructor.user.id,
        startsAt: utc(dayAhead(5), "09:00"),
      });
      const id = session.id;
      assert.equal(
        (await api(ctx, "GET", path(id), { token: stranger.token })).status,
        404,
      );
      assert.equal((await calendar(stranger, id)).status, 404);
      assert.equal(
        (await reschedule(stranger, id, {
          startsAt: utc(dayAhead(5), "11:00"),
        })).status,
        404,
      );
      assert.equal((await cancel(stranger, id)).status, 404);
      assert.equal(
        (await api(ctx, "PUT", path(id, "/notes"), {
          token: stranger.token,
          body: { notes: "Hi" },
        })).status,
        404,
      );
      assert.equal(
        (await api(ctx, "GET", path(id, "/calendar.ics"))).status,
        401,
      );
      assert.equal(
        (await api(ctx, "GET", path("nope"), { token: learner.token })).status,
        404,
      );
      const seen = await api(ctx, "GET", path(id), { token: admin.token });
      assert.equal(seen.status, 200);
      // Nothing changed through those attempts.
      const row = await sessionRow(ctx, id);
      assert.equal(row.status, "booked");
      assert.equal(row.sequence, 0);
    });

    await t.step(
      "inside the cancellation window only the instructor may change it",
      async () => {
        // Three days ahead is outside 48 hours... so use a day and a half.
        const soon = new Date(Date.now() + 36 * HOUR);
        soon.setUTCMinutes(0, 0, 0);
        soon.setUTCHours(Math.min(Math.max(soon.getUTCHours(), 9), 15));
        const session = await booked(ctx, learner, {
          instructorId: instructor.user.id,
          startsAt: soon.toISOString(),
          durationMinutes: 60,
        });
        const later = utc(dayAhead(6), "10:00");
        const moved = await reschedule(learner, session.id, {
          startsAt: later,
        });
        assert.equal(moved.status, 409);
        assert.equal(code(moved), "CANCELLATION_WINDOW_PASSED");
        assert.equal(moved.body.error.details.cancellationHours, 48);
        assert.equal(
          moved.body.error.details.deadline,
          new Date(Date.parse(session.startsAt) - 48 * HOUR).toISOString(),
        );
        const cancelled = await cancel(learner, session.id);
        assert.equal(cancelled.status, 409);
        assert.equal(code(cancelled), "CANCELLATION_WINDOW_PASSED");
        assert.equal((await sessionRow(ctx, session.id)).status, "booked");

        const byInstructor = await reschedule(instructor, session.id, {
          startsAt: later,
        });
        assert.equal(
          byInstructor.status,
          200,
          JSON.stringify(byInstructor.body),
        );
        assert.equal(byInstructor.body.session.startsAt, later);
        // Now outside the window again, the learner may cancel it themself.
        const done = await cancel(learner, session.id, { reason: "Exam week" });
        assert.equal(done.status, 200);
        assert.equal(done.body.session.status, "cancelled");
        assert.equal(done.body.session.cancelledBy, learner.user.id);
        assert.equal(done.body.session.cancelReason, "Exam week");
        const told = await noticesOf(
          ctx,
          instructor.user.id,
          "session_cancelled",
          session.id,
        );
        assert.equal(told.length, 1);
        assert.match(told[0]!.message, /Exam week/);
        assert.equal(
          (await noticesOf(
            ctx,
            learner.user.id,
            "session_cancelled",
            session.id,
          )).length,
          0,
          "the one who cancels is not notified",
        );
        const again = await cancel(instructor, session.id);
        assert.equal(again.status, 409);
        assert.equal(code(again), "SESSION_CLOSED");
      },
    );

    await t.step("the window's edges, with a fixed clock", async () => {
      const start = new Date("2026-03-20T10:00:00Z");
      const { session } = await bookSession(ctx.deps, learner.user, {
        instructorId: instructor.user.id,
        startsAt: start,
        durationMinutes: 60,
        topic: "Edge",
      }, new Date("2026-03-01T00:00:00Z"));
      const deadline = start.getTime() - 48 * HOUR;
      await assert.rejects(
        cancelSession(
          ctx.deps,
          learner.user,
          session.id,
          undefined,
          new Date(deadline + 1000),
        ),
        (e: { code: string }) => e.code === "CANCELLATION_WINDOW_PASSED",
      );
      await assert.rejects(
        rescheduleSession(
          ctx.deps,
          learner.user,
          session.id,
          { startsAt: new Date("2026-03-25T10:00:00Z") },
          new Date(deadline + 1000),
        ),
        (e: { code: string }) => e.code === "CANCELLATION_WINDOW_PASSED",
      );
      const moved = await rescheduleSession(
        ctx.deps,
        learner.user,
        session.id,
        { startsAt: new Date("2026-03-25T10:00:00Z") },
        new Date(deadline),
      );
      assert.equal(moved.startsAt.toISOString(), "2026-03-25T10:00:00.000Z");
      // Once it has started nobody changes it, the instructor included.
      await assert.rejects(
        cancelSession(
          ctx.deps,
          instructor.user,
          session.id,
          undefined,
          new Date("2026-03-25T10:00:00Z"),
        ),
        (e: { code: string }) => e.code === "SESSION_STARTED",
      );
      const byInstructor = await cancelSession(
        ctx.deps,
        instructor.user,
        session.id,
        "Ill",
        new Date("2026-03-25T09:59:00Z"),
      );
      assert.equal(byInstructor.status, "cancelled");
    });

    await t.step(
      "reschedule re-checks hours and clashes, but not against itself",
      async () => {
        const session = await booked(ctx, learner, {
          instructorId: instructor.user.id,
          startsAt: utc(dayAhead(7), "10:00"),
        });
        const other = await person(ctx);
        await givePremium(ctx, other.user.id);
        await booked(ctx, other, {
          instructorId: instructor.user.id,
          startsAt: utc(dayAhead(7), "13:00"),
        });

        const outside = await reschedule(learner, session.id, {
          startsAt: utc(dayAhead(7), "16:30"),
        });
        assert.equal(outside.status, 409);
        assert.equal(code(outside), "OUTSIDE_AVAILABILITY");
        const clash = await reschedule(learner, session.id, {
          startsAt: utc(dayAhead(7), "12:30"),
        });
        assert.equal(clash.status, 409);
        assert.equal(code(clash), "SLOT_TAKEN");
        const tooSoon = await reschedule(instructor, session.id, {
          startsAt: new Date(Date.now() + 10 * 60_000).toISOString(),
        });
        assert.equal(tooSoon.status, 422);
        const badLength = await reschedule(learner, session.id, {
          startsAt: utc(dayAhead(7), "10:00"),
          durationMinutes: 20,
        });
        assert.equal(badLength.status, 422);
        let row = await sessionRow(ctx, session.id);
        assert.equal(row.startsAt.toISOString(), utc(dayAhead(7), "10:00"));
        assert.equal(row.sequence, 0, "refused moves change nothing");

        // Half an hour later overlaps only its own old time.
        const shifted = await reschedule(learner, session.id, {
          startsAt: utc(dayAhead(7), "10:30"),
        });
        assert.equal(shifted.status, 200, JSON.stringify(shifted.body));
        assert.equal(shifted.body.session.endsAt, utc(dayAhead(7), "11:30"));
        const longer = await reschedule(learner, session.id, {
          startsAt: utc(dayAhead(7), "10:30"),
          durationMinutes: 150,
        });
        assert.equal(longer.status, 200, JSON.stringify(longer.body));
        assert.equal(longer.body.session.endsAt, utc(dayAhead(7), "13:00"));
        row = await sessionRow(ctx, session.id);
        assert.equal(row.sequence, 2);
        const told = await noticesOf(
          ctx,
          instructor.user.id,
          "session_rescheduled",
          session.id,
        );
        assert.equal(told.length, 2);
        assert.equal(
          (await noticesOf(
            ctx,
            learner.user.id,
            "session_rescheduled",
            session.id,
          )).length,
          0,
        );
        // The time it left is free again.
        const third = await person(ctx);
        await givePremium(ctx, third.user.id);
        await booked(ctx, third, {
          instructorId: instructor.user.id,
          startsAt: utc(dayAhead(7), "09:00"),
          durationMinutes: 90,
        });
      },
    );

    await t.step(
      "calendar.ics: CRLF, UTC times, UID, SEQUENCE, escaping, quoting",
      async () => {
        const topic = "Chords, scales; and \\ backslashes\nSecond line";
        const session = await booked(ctx, learner, {
          instructorId: instructor.user.id,
          startsAt: utc(dayAhead(8), "09:00"),
          durationMinutes: 45,
          topic,
        });
        assert.equal(session.topic, topic, "the topic is stored as written");
        const res = await calendar(learner, session.id);
        assert.equal(res.status, 200);
        assert.match(res.headers.get("content-type") ?? "", /^text\/calendar/);
        assert.match(
          res.headers.get("content-disposition") ?? "",
          /attachment; filename=".*\.ics"/,
        );
        const body = res.body as string;
        assert.equal(typeof body, "string");
        assert.ok(body.endsWith("\r\n"));
        assert.doesNotMatch(
          body.replace(/\r\n/g, ""),
          /[\r\n]/,
          "every line ends in CRLF",
        );
        const lines = unfold(body);
        assert.equal(lines[0], "BEGIN:VCALENDAR");
        assert.ok(lines.includes("VERSION:2.0"));
        assert.ok(
          lines.includes("BEGIN:VEVENT") && lines.includes("END:VEVENT"),
        );
        assert.equal(lines.at(-2), "END:VCALENDAR");
        assert.equal(property(body, "UID"), `UID:${session.id}@lectern.test`);
        assert.equal(
          property(body, "DTSTART"),
          `DTSTART:${stamp(utc(dayAhead(8), "09:00"))}`,
        );
        assert.equal(
          property(body, "DTEND"),
          `DTEND:${stamp(utc(dayAhead(8), "09:45"))}`,
        );
        assert.match(property(body, "DTSTART")!, /^DTSTART:\d{8}T\d{6}Z$/);
        assert.match(property(body, "DTSTAMP")!, /^DTSTAMP:\d{8}T\d{6}Z$/);
        assert.equal(property(body, "SEQUENCE"), "SEQUENCE:0");
        assert.equal(property(body, "STATUS"), "STATUS:CONFIRMED");
        assert.equal(
          property(body, "SUMMARY"),
          'SUMMARY:Tutoring: Chords\\, scales\\; and \\\\ backslashes\\nSecond line (Dr. "Ace" Smith\\, Jr.)',
        );
        const organizer = property(body, "ORGANIZER")!;
        assert.match(
          organizer,
          /^ORGANIZER;CN="[^"]*":mailto:[^"]+@school\.test$/,
        );
        assert.match(organizer, /Ace/);
        assert.equal(
          property(body, "ATTENDEE"),
          `ATTENDEE;CN="Lou Learner";ROLE=REQ-PARTICIPANT:mailto:${learner.user.email}`,
        );
        // The instructor downloads the same event.
        const theirs = await calendar(instructor, session.id);
        assert.equal(
          property(theirs.body, "UID"),
          `UID:${session.id}@lectern.test`,
        );
      },
    );

    await t.step(
      "calendar.ics folds long lines at 75 octets without splitting characters",
      async () => {
        const topic = `Étude n° ${"ré-mi-fa ♪ ".repeat(30)}end`;
        const session = await booked(ctx, learner, {
          instructorId: instructor.user.id,
          startsAt: utc(dayAhead(8), "11:00"),
          topic,
        });
        const res = await calendar(learner, session.id);
        const body = res.body as string;
        const physical = body.split("\r\n").slice(0, -1);
        const encoder = new TextEncoder();
        for (const line of physical) {
          assert.ok(
            encoder.encode(line).length <= 75,
            `${encoder.encode(line).length}: ${line}`,
          );
        }
        const continued = physical.filter((line) => line.startsWith(" "));
        assert.ok(
          continued.length >= 5,
          "the long summary spans several lines",
        );
        assert.equal(
          property(body, "SUMMARY"),
          `SUMMARY:Tutoring: ${topic} (Dr. "Ace" Smith\\, Jr.)`,
        );
        // Folding counts octets: a line full of 3-byte characters holds fewer than 75 of them.
        const summaryStart = physical.find((line) =>
          line.startsWith("SUMMARY:")
        )!;
        assert.ok(encoder.encode(summaryStart).length > 70);
        assert.ok(summaryStart.length < 75);
      },
    );

    await t.step({
      name:
        "calendar.ics: a carriage return in the topic cannot start a new line",
      fn: async () => {
        const writer = await person(ctx);
        await givePremium(ctx, writer.user.id);
        const session = await booked(ctx, writer, {
          instructorId: instructor.user.id,
          startsAt: utc(dayAhead(8), "14:00"),
          topic: "Line one\rATTENDEE:mailto:intruder@evil.test",
        });
        const res = await calendar(writer, session.id);
        assert.equal(res.status, 200);
        const body = res.body as string;
        assert.doesNotMatch(
          body.replace(/\r\n/g, ""),
          /[\r\n]/,
          "no bare CR or LF",
        );
        assert.equal(
          unfold(body).filter((line) => line.startsWith("ATTENDEE")).length,
          1,
        );
      },
    });

    await t.step("calendar.ics after a move and a cancellation", async () => {
      const session = await booked(ctx, learner, {
        instructorId: instructor.user.id,
        startsAt: utc(dayAhead(9), "09:00"),
      });
      const first = await calendar(learner, session.id);
      const moved = await reschedule(learner, session.id, {
        startsAt: utc(dayAhead(9), "14:00"),
      });
      assert.equal(moved.status, 200);
      const second = await calendar(learner, session.id);
      assert.equal(property(second.body, "UID"), property(first.body, "UID"));
      assert.equal(property(second.body, "SEQUENCE"), "SEQUENCE:1");
      assert.equal(
        property(second.body, "DTSTART"),
        `DTSTART:${stamp(utc(dayAhead(9), "14:00"))}`,
      );
      assert.equal(
        property(second.body, "DTEND"),
        `DTEND:${stamp(utc(dayAhead(9), "15:00"))}`,
      );
      assert.equal(property(second.body, "STATUS"), "STATUS:CONFIRMED");
      assert.equal(
        (await cancel(instructor, session.id, { reason: "Sick" })).status,
        200,
      );
      const third = await calendar(learner, session.id);
      assert.equal(third.status, 200);
      assert.equal(property(third.body, "UID"), property(first.body, "UID"));
      assert.equal(property(third.body, "SEQUENCE"), "SEQUENCE:2");
      assert.equal(property(third.body, "STATUS"), "STATUS:CANCELLED");
      assert.equal(property(third.body, "METHOD"), "METHOD:CANCEL");
      assert.equal(
        (await noticesOf(ctx, learner.user.id, "session_cancelled", session.id))
          .length,
        1,
      );
      // The cancelled time is free for someone else.
      const next = await person(ctx);
      await givePremium(ctx, next.user.id);
      await booked(ctx, next, {
        instructorId: instructor.user.id,
        startsAt: utc(dayAhead(9), "14:00"),
      });
    });
  } finally {
    await ctx.close();
  }
});
