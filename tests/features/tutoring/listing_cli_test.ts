import assert from "node:assert/strict";
import { runTutoringJobs } from "../../../server/features/tutoring/jobs.ts";
import { bookSession } from "../../../server/features/tutoring/sessions.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { ok, runCli } from "../../helpers/cli.ts";
import {
  booked,
  dayAhead,
  givePremium,
  instructorWithHours,
  type Person,
  person,
  utc,
} from "./support.ts";

Deno.test("tutoring: listing sessions (API and CLI)", async (t) => {
  const ctx = await createTestContext();
  try {
    const instructor = await instructorWithHours(ctx, {}, "Lena Lister");
    const other = await instructorWithHours(ctx, {}, "Omar Other");
    const learner = await person(ctx, "student", "Ana Learner");
    const second = await person(ctx, "student", "Ben Second");
    await givePremium(ctx, learner.user.id);
    await givePremium(ctx, second.user.id);

    // Two sessions in the past (one completed by the jobs, one ended but not yet swept).
    const march = new Date("2026-03-01T00:00:00Z");
    const pastCompleted = (await bookSession(ctx.deps, learner.user, {
      instructorId: instructor.user.id,
      startsAt: new Date("2026-03-15T10:00:00Z"),
      durationMinutes: 60,
      topic: "Old completed",
    }, march)).session;
    await runTutoringJobs(ctx.deps, new Date("2026-03-15T12:00:00Z"));
    const pastEnded = (await bookSession(ctx.deps, learner.user, {
      instructorId: instructor.user.id,
      startsAt: new Date("2026-03-20T10:00:00Z"),
      durationMinutes: 30,
      topic: "Old ended",
    }, march)).session;
    // Upcoming: two booked, one cancelled; plus one of another learner, one with another instructor.
    const soon = await booked(ctx, learner, {
      instructorId: instructor.user.id,
      startsAt: utc(dayAhead(3), "10:00"),
      topic: "Soon",
    });
    const cancelled = await booked(ctx, learner, {
      instructorId: instructor.user.id,
      startsAt: utc(dayAhead(4), "10:00"),
      topic: "Called off",
    });
    const cancel = await api(
      ctx,
      "POST",
      `/api/tutoring/sessions/${cancelled.id}/cancel`,
      {
        token: learner.token,
        body: {},
      },
    );
    assert.equal(cancel.status, 200);
    const later = await booked(ctx, learner, {
      instructorId: instructor.user.id,
      startsAt: utc(dayAhead(5), "10:00"),
      topic: "Later",
    });
    const withOther = await booked(ctx, learner, {
      instructorId: other.user.id,
      startsAt: utc(dayAhead(6), "10:00"),
      topic: "Elsewhere",
    });
    const secondOnes = await booked(ctx, second, {
      instructorId: instructor.user.id,
      startsAt: utc(dayAhead(4), "12:00"),
      topic: "Second's",
    });

    const list = async (who: Person, query = "") => {
      const res = await api(ctx, "GET", `/api/tutoring/sessions${query}`, {
        token: who.token,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as {
        sessions: {
          id: string;
          learner: { name: string };
          instructor: { name: string };
        }[];
        pagination: { total: number; limit: number };
      };
    };
    const ids = (body: { sessions: { id: string }[] }) =>
      body.sessions.map((s) => s.id);

    await t.step("a learner's upcoming, past and all", async () => {
      const upcoming = await list(learner);
      assert.deepEqual(ids(upcoming), [soon.id, later.id, withOther.id]);
      assert.equal(upcoming.pagination.total, 3);
      assert.deepEqual(
        ids(await list(learner, "?scope=upcoming")),
        ids(upcoming),
      );
      const past = await list(learner, "?scope=past");
      assert.deepEqual(ids(past), [
        cancelled.id,
        pastEnded.id,
        pastCompleted.id,
      ]);
      const all = await list(learner, "?scope=all");
      assert.equal(all.pagination.total, 6);
      assert.deepEqual(
        ids(all),
        [
          withOther.id,
          later.id,
          cancelled.id,
          soon.id,
          pastEnded.id,
          pastCompleted.id,
        ],
        "all: most recent first",
      );
      assert.ok(!ids(all).includes(secondOnes.id));
      const first = upcoming.sessions[0]!;
      assert.equal(first.learner.name, "Ana Learner");
      assert.equal(first.instructor.name, "Lena Lister");
    });

    await t.step("an instructor sees the sessions they teach", async () => {
      const upcoming = await list(instructor);
      assert.deepEqual(ids(upcoming), [soon.id, secondOnes.id, later.id]);
      const past = await list(instructor, "?scope=past");
      assert.deepEqual(ids(past), [
        cancelled.id,
        pastEnded.id,
        pastCompleted.id,
      ]);
      assert.deepEqual(ids(await list(other, "?scope=all")), [withOther.id]);
      assert.deepEqual(ids(await list(second, "?scope=all")), [secondOnes.id]);
    });

    await t.step("status filter, paging, validation", async () => {
      assert.deepEqual(
        ids(await list(learner, "?scope=all&status=cancelled")),
        [cancelled.id],
      );
      assert.deepEqual(
        ids(await list(learner, "?scope=all&status=completed")),
        [
          pastCompleted.id,
        ],
      );
      const page2 = await list(learner, "?scope=upcoming&limit=2&page=2");
      assert.deepEqual(ids(page2), [withOther.id]);
      assert.equal(page2.pagination.total, 3);
      const bad = await api(
        ctx,
        "GET",
        "/api/tutoring/sessions?scope=someday",
        {
          token: learner.token,
        },
      );
      assert.equal(bad.status, 422);
      assert.equal(
        (await api(ctx, "GET", "/api/tutoring/sessions")).status,
        401,
      );
      const stranger = await person(ctx);
      assert.deepEqual(ids(await list(stranger, "?scope=all")), []);
    });

    await t.step("CLI: tutoring sessions list", async () => {
      const cli = (args: string[]) =>
        runCli(ctx.dataDir, ["tutoring", "sessions", ...args]);
      const human = ok(await cli(["list"]), "tutoring sessions list");
      const lines = human.trim().split("\n");
      assert.equal(lines.at(-1), "4 of 4 sessions");
      assert.equal(lines.length, 5);
      assert.ok(lines[0]!.startsWith(soon.startsAt), lines[0]!);
      assert.match(
        lines[0]!,
        / 60 min {2}booked +Lena Lister with Ana Learner {2}Soon {2}/,
      );
      assert.ok(lines[0]!.endsWith(soon.id));
      assert.ok(lines[1]!.includes(secondOnes.id));
      assert.ok(!human.includes(cancelled.id), "cancelled is not upcoming");

      const json = JSON.parse(
        ok(
          await cli([
            "list",
            "--json",
            "--instructor",
            instructor.user.email,
            "--scope",
            "all",
          ]),
          "list --json --instructor",
        ),
      );
      assert.equal(json.total, 6);
      assert.equal(json.page, 1);
      assert.deepEqual(
        json.sessions.map((s: { id: string }) => s.id),
        [
          later.id,
          secondOnes.id,
          cancelled.id,
          soon.id,
          pastEnded.id,
          pastCompleted.id,
        ],
      );
      const entry = json.sessions.find((s: { id: string }) =>
        s.id === cancelled.id
      );
      assert.equal(entry.status, "cancelled");
      assert.equal(entry.instructor.name, "Lena Lister");
      assert.equal(entry.learner.name, "Ana Learner");

      const mine = JSON.parse(
        ok(
          await cli([
            "list",
            "--json",
            "--learner",
            second.user.email,
            "--scope",
            "all",
          ]),
          "list --json --learner",
        ),
      );
      assert.deepEqual(mine.sessions.map((s: { id: string }) => s.id), [
        secondOnes.id,
      ]);

      const unknown = await cli(["list", "--instructor", "nobody@school.test"]);
      assert.notEqual(unknown.code, 0);
      assert.match(unknown.stderr, /not found/i);
    });
  } finally {
    await ctx.close();
  }
});
