import assert from "node:assert/strict";
import { runTutoringJobs } from "../../../server/features/tutoring/jobs.ts";
import {
  bookSession,
  cancelSession,
  rescheduleSession,
  writeSessionNotes,
} from "../../../server/features/tutoring/sessions.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import {
  booked,
  code,
  dayAhead,
  everyDay,
  givePremium,
  noticesOf,
  person,
  publish,
  sessionRow,
  utc,
} from "./support.ts";

const HOUR = 3_600_000;
const MINUTE = 60_000;
const before = (date: Date, ms: number) => new Date(date.getTime() - ms);
const after = (date: Date, ms: number) => new Date(date.getTime() + ms);

Deno.test("tutoring: reminders, completion and notes", async (t) => {
  const ctx = await createTestContext();
  try {
    const instructor = await person(ctx, "instructor", "Ravi Kolkata");
    await publish(ctx, instructor, {
      timeZone: "Asia/Kolkata",
      weekly: everyDay("00:00", "24:00"),
    });
    const learner = await person(ctx, "student", "Rita Reminded");
    await givePremium(ctx, learner.user.id);
    /** A mentorship session booked well ahead of `start`, with the service's clock. */
    const bookAt = async (start: string, bookedAt?: Date, minutes = 60) => {
      const startsAt = new Date(start);
      const { session } = await bookSession(ctx.deps, learner.user, {
        instructorId: instructor.user.id,
        startsAt,
        durationMinutes: minutes,
        topic: "Ragas",
      }, bookedAt ?? before(startsAt, 7 * 24 * HOUR));
      return session;
    };
    const reminders = async (sessionId: string) => ({
      learner: await noticesOf(
        ctx,
        learner.user.id,
        "session_reminder",
        sessionId,
      ),
      instructor: await noticesOf(
        ctx,
        instructor.user.id,
        "session_reminder",
        sessionId,
      ),
    });

    await t.step(
      "a day before and an hour before, to both, each once",
      async () => {
        const session = await bookAt("2026-04-10T10:00:00Z");
        const start = session.startsAt;
        assert.equal(
          (await runTutoringJobs(ctx.deps, before(start, 25 * HOUR))).reminders,
          0,
        );
        const day = await runTutoringJobs(ctx.deps, before(start, 23 * HOUR));
        assert.equal(day.reminders, 2);
        let sent = await reminders(session.id);
        assert.equal(sent.learner.length, 1);
        assert.equal(sent.instructor.length, 1);
        assert.equal(sent.learner[0]!.title, "Session tomorrow");
        assert.match(
          sent.learner[0]!.message,
          /2026-04-10T15:30:00\+05:30 \(Asia\/Kolkata\)/,
        );
        assert.equal(
          sent.learner[0]!.link,
          `/api/tutoring/sessions/${session.id}`,
        );

        // Later runs inside the same day send nothing more.
        assert.equal(
          (await runTutoringJobs(ctx.deps, before(start, 23 * HOUR))).reminders,
          0,
        );
        assert.equal(
          (await runTutoringJobs(ctx.deps, before(start, 2 * HOUR))).reminders,
          0,
        );
        const hour = await runTutoringJobs(
          ctx.deps,
          before(start, 50 * MINUTE),
        );
        assert.equal(hour.reminders, 2);
        assert.equal(
          (await runTutoringJobs(ctx.deps, before(start, 50 * MINUTE)))
            .reminders,
          0,
        );
        assert.equal(
          (await runTutoringJobs(ctx.deps, before(start, 5 * MINUTE)))
            .reminders,
          0,
        );
        sent = await reminders(session.id);
        assert.deepEqual(sent.learner.map((n) => n.title), [
          "Session tomorrow",
          "Session in less than an hour",
        ]);
        assert.equal(sent.instructor.length, 2);
        const row = await sessionRow(ctx, session.id);
        assert.ok(row.remindedDayBeforeAt && row.remindedHourBeforeAt);
      },
    );

    await t.step(
      "two schedulers running at once still remind once",
      async () => {
        const session = await bookAt("2026-04-20T10:00:00Z");
        const now = before(session.startsAt, 20 * HOUR);
        const runs = await Promise.all([
          runTutoringJobs(ctx.deps, now),
          runTutoringJobs(ctx.deps, now),
          runTutoringJobs(ctx.deps, now),
        ]);
        assert.equal(runs.reduce((sum, run) => sum + run.reminders, 0), 2);
        const sent = await reminders(session.id);
        assert.equal(sent.learner.length, 1);
        assert.equal(sent.instructor.length, 1);
      },
    );

    await t.step(
      "booked at short notice; the day-before reminder is skipped once the hour-before one is due",
      async () => {
        const start = new Date("2026-05-01T10:00:00Z");
        const session = await bookAt(
          start.toISOString(),
          before(start, 2 * HOUR),
        );
        assert.equal(
          (await runTutoringJobs(ctx.deps, before(start, 90 * MINUTE)))
            .reminders,
          2,
        );
        let sent = await reminders(session.id);
        assert.deepEqual(sent.learner.map((n) => n.title), [
          "Session tomorrow",
        ]);
        assert.equal(
          (await runTutoringJobs(ctx.deps, before(start, 40 * MINUTE)))
            .reminders,
          2,
        );
        sent = await reminders(session.id);
        assert.equal(sent.learner.length, 2);

        // First seen when the hour-before one is already due: the day-before one is skipped.
        const late = new Date("2026-05-02T10:00:00Z");
        const quick = await bookAt(late.toISOString(), before(late, 2 * HOUR));
        assert.equal(
          (await runTutoringJobs(ctx.deps, before(late, 45 * MINUTE)))
            .reminders,
          2,
        );
        assert.equal(
          (await runTutoringJobs(ctx.deps, before(late, 30 * MINUTE)))
            .reminders,
          0,
        );
        const quickSent = await reminders(quick.id);
        assert.deepEqual(quickSent.learner.map((n) => n.title), [
          "Session in less than an hour",
        ]);
        assert.equal(
          (await sessionRow(ctx, quick.id)).remindedDayBeforeAt,
          null,
        );
      },
    );

    await t.step("a reschedule starts the reminders over", async () => {
      const session = await bookAt("2026-06-10T10:00:00Z");
      const start = session.startsAt;
      await runTutoringJobs(ctx.deps, before(start, 23 * HOUR));
      await runTutoringJobs(ctx.deps, before(start, 30 * MINUTE));
      assert.equal((await reminders(session.id)).learner.length, 2);
      const newStart = new Date("2026-06-12T10:00:00Z");
      const moved = await rescheduleSession(
        ctx.deps,
        instructor.user,
        session.id,
        { startsAt: newStart },
        before(start, 20 * MINUTE),
      );
      assert.equal(moved.remindedDayBeforeAt, null);
      assert.equal(moved.remindedHourBeforeAt, null);
      assert.equal(
        (await runTutoringJobs(ctx.deps, before(newStart, 23 * HOUR)))
          .reminders,
        2,
      );
      assert.equal(
        (await runTutoringJobs(ctx.deps, before(newStart, 10 * MINUTE)))
          .reminders,
        2,
      );
      assert.equal(
        (await runTutoringJobs(ctx.deps, before(newStart, 5 * MINUTE)))
          .reminders,
        0,
      );
      const sent = await reminders(session.id);
      assert.equal(sent.learner.length, 4);
      assert.equal(sent.instructor.length, 4);
      assert.match(sent.learner[3]!.message, /2026-06-12T15:30:00\+05:30/);
    });

    await t.step("cancelled sessions get no reminder", async () => {
      const session = await bookAt("2026-07-10T10:00:00Z");
      await cancelSession(
        ctx.deps,
        learner.user,
        session.id,
        undefined,
        before(session.startsAt, 5 * 24 * HOUR),
      );
      assert.equal(
        (await runTutoringJobs(ctx.deps, before(session.startsAt, 23 * HOUR)))
          .reminders,
        0,
      );
      assert.equal(
        (await runTutoringJobs(ctx.deps, before(session.startsAt, 30 * MINUTE)))
          .reminders,
        0,
      );
      assert.equal((await reminders(session.id)).learner.length, 0);
    });

    await t.step(
      "sessions that ended become completed; others are left alone",
      async () => {
        const ending = await bookAt("2026-08-10T10:00:00Z");
        const running = await bookAt("2026-08-10T12:00:00Z", undefined, 120);
        const cancelled = await bookAt("2026-08-10T15:00:00Z");
        await cancelSession(
          ctx.deps,
          instructor.user,
          cancelled.id,
          "Away",
          before(cancelled.startsAt, HOUR),
        );
        const now = new Date("2026-08-10T13:00:00Z");
        const result = await runTutoringJobs(ctx.deps, now);
        assert.ok(result.completed >= 1);
        assert.equal((await sessionRow(ctx, ending.id)).status, "completed");
        assert.equal((await sessionRow(ctx, running.id)).status, "booked");
        assert.equal((await sessionRow(ctx, cancelled.id)).status, "cancelled");
        assert.equal(
          (await runTutoringJobs(ctx.deps, new Date("2026-08-10T13:00:00Z")))
            .completed,
          0,
        );
        await runTutoringJobs(ctx.deps, new Date("2026-08-10T14:00:00Z"));
        assert.equal((await sessionRow(ctx, running.id)).status, "completed");
      },
    );

    await t.step(
      "notes: only the instructor, only once the session has started",
      async () => {
        const upcoming = await booked(ctx, learner, {
          instructorId: instructor.user.id,
          startsAt: utc(dayAhead(3), "10:00"),
        });
        const notesPath = `/api/tutoring/sessions/${upcoming.id}/notes`;
        const early = await api(ctx, "PUT", notesPath, {
          token: instructor.token,
          body: { notes: "Prepared material" },
        });
        assert.equal(early.status, 409);
        assert.equal(code(early), "SESSION_NOT_STARTED");
        const byLearner = await api(ctx, "PUT", notesPath, {
          token: learner.token,
          body: { notes: "My own notes" },
        });
        assert.equal(byLearner.status, 403);
        assert.equal(code(byLearner), "NOT_THE_INSTRUCTOR");
        const empty = await api(ctx, "PUT", notesPath, {
          token: instructor.token,
          body: { notes: "   " },
        });
        assert.equal(empty.status, 422);
        assert.equal((await sessionRow(ctx, upcoming.id)).notes, null);

        // Once it has begun (the service's clock), the notes are kept and the learner told.
        const started = after(new Date(upcoming.startsAt), 10 * MINUTE);
        const written = await writeSessionNotes(
          ctx.deps,
          instructor.user,
          upcoming.id,
          "Practice the alap slowly.",
          started,
        );
        assert.equal(written.notes, "Practice the alap slowly.");
        assert.equal(
          written.notesUpdatedAt?.toISOString(),
          started.toISOString(),
        );
        const told = await noticesOf(
          ctx,
          learner.user.id,
          "session_notes",
          upcoming.id,
        );
        assert.equal(told.length, 1);
        assert.match(told[0]!.message, /"Scales"/);
        await writeSessionNotes(
          ctx.deps,
          instructor.user,
          upcoming.id,
          "Practice the alap slowly, then the gat.",
          after(started, 5 * MINUTE),
        );
        assert.equal(
          (await noticesOf(ctx, learner.user.id, "session_notes", upcoming.id))
            .length,
          1,
          "an edit does not notify again",
        );
        const seen = await api(
          ctx,
          "GET",
          `/api/tutoring/sessions/${upcoming.id}`,
          {
            token: learner.token,
          },
        );
        assert.equal(
          seen.body.session.notes,
          "Practice the alap slowly, then the gat.",
        );
      },
    );

    await t.step(
      "notes over HTTP on a session that really happened",
      async () => {
        // Booked in March with March's clock: long over by now, and completed by the jobs.
        const past = await bookAt(
          "2026-03-15T10:00:00Z",
          new Date("2026-03-01T00:00:00Z"),
        );
        await runTutoringJobs(ctx.deps, new Date("2026-03-15T12:00:00Z"));
        assert.equal((await sessionRow(ctx, past.id)).status, "completed");
        const res = await api(
          ctx,
          "PUT",
          `/api/tutoring/sessions/${past.id}/notes`,
          {
            token: instructor.token,
            body: { notes: "Well done." },
          },
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.session.notes, "Well done.");
        assert.equal(
          (await noticesOf(ctx, learner.user.id, "session_notes", past.id))
            .length,
          1,
        );

        const gone = await bookAt(
          "2026-03-16T10:00:00Z",
          new Date("2026-03-01T00:00:00Z"),
        );
        await cancelSession(
          ctx.deps,
          learner.user,
          gone.id,
          undefined,
          new Date("2026-03-02T00:00:00Z"),
        );
        const closed = await api(
          ctx,
          "PUT",
          `/api/tutoring/sessions/${gone.id}/notes`,
          {
            token: instructor.token,
            body: { notes: "Never happened" },
          },
        );
        assert.equal(closed.status, 409);
        assert.equal(code(closed), "SESSION_CLOSED");
      },
    );
  } finally {
    await ctx.close();
  }
});
