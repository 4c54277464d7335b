import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { and, eq } from "drizzle-orm";
import { accommodations, quizAttempts } from "../../../db/schema/mod.ts";
import { finalizeExpiredAttempts } from "../../../server/features/quizzes/attempts.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { enroll, makeProgram } from "../../helpers/factories.ts";
import {
  createQuizOn,
  freshToken,
  learner,
  putAnswers,
  readAttempt,
  singleChoiceQuestions,
  start,
  submit,
} from "./support.ts";

type Question = { id: string; questionText: string };

Deno.test("timed quizzes: deadline, grace, finalization and extra time", async (t) => {
  const ctx = await createTestContext();
  const clock = FakeTimers.install({ toFake: ["Date"], now: Date.now() });
  try {
    const teacher = await learner(ctx, "instructor");
    const program = await makeProgram(ctx, teacher.user);
    const quiz = await createQuizOn(ctx, teacher.token, program.id, {
      questions: singleChoiceQuestions(4),
      isTimed: true,
      duration: 10,
      passingScore: 50,
    });
    const untimed = await createQuizOn(ctx, teacher.token, program.id, {
      title: "Untimed",
      questions: singleChoiceQuestions(2, "Untimed"),
    });

    /** A learner with the exam simulator who has just started `quizId`. */
    const startedBy = async (quizId = quiz.id) => {
      const who = await learner(ctx);
      await enroll(ctx, who.user.id, program.id, "examSimulator");
      const started = await start(ctx, who.token, quizId);
      assert.equal(started.status, 201, JSON.stringify(started.body));
      return {
        who,
        attemptId: started.body.attemptId as string,
        questions: started.body.questions as Question[],
        startedAt: Date.parse(started.body.startedAt),
        expiresAt: started.body.expiresAt === null
          ? null
          : Date.parse(started.body.expiresAt),
      };
    };
    const attemptRow = async (attemptId: string) =>
      (await ctx.deps.db.select().from(quizAttempts).where(
        eq(quizAttempts.id, attemptId),
      ))[0]!;

    // One attempt walked through the deadline by the next three steps.
    const a = await startedBy();
    const right = (i: number) => ({
      questionId: a.questions[i]!.id,
      selectedAnswer: "Right",
    });

    await t.step("the attempt runs for the quiz's 10 minutes", () => {
      assert.equal(a.expiresAt! - a.startedAt, 10 * 60_000);
    });

    await t.step("a save at 9:59 is accepted", async () => {
      clock.setSystemTime(a.startedAt + 9 * 60_000 + 59_000);
      const saved = await putAnswers(ctx, a.who.token, a.attemptId, [right(0)]);
      assert.equal(saved.status, 200, JSON.stringify(saved.body));
      assert.equal(saved.body.saved, 1);
    });

    await t.step(
      "a save 4 s after expiresAt (inside the grace) is accepted",
      async () => {
        clock.setSystemTime(a.expiresAt! + 4_000);
        const saved = await putAnswers(ctx, a.who.token, a.attemptId, [
          right(1),
        ]);
        assert.equal(saved.status, 200, JSON.stringify(saved.body));
        assert.equal((await attemptRow(a.attemptId)).status, "in_progress");
      },
    );

    await t.step(
      "a save 6 s after expiresAt is 409 ATTEMPT_EXPIRED and closes the attempt with what was saved",
      async () => {
        clock.setSystemTime(a.expiresAt! + 6_000);
        const late = await putAnswers(ctx, a.who.token, a.attemptId, [
          right(2),
        ]);
        assert.equal(late.status, 409, JSON.stringify(late.body));
        assert.equal(late.body.error.code, "ATTEMPT_EXPIRED");
        assert.equal(late.body.error.details.attemptId, a.attemptId);

        const row = await attemptRow(a.attemptId);
        assert.equal(row.status, "completed");
        assert.equal(row.finishedBy, "deadline");
        assert.equal(row.submittedAt!.getTime(), a.expiresAt);

        const view = await readAttempt(ctx, a.who.token, a.attemptId);
        assert.equal(view.status, 200);
        const result = view.body.result;
        assert.equal(result.finishedBy, "deadline");
        assert.equal(result.score, 2, "the two answers saved in time count");
        assert.equal(result.scorePercentage, 50);
        assert.equal(result.timeTaken, 600);
        const third = result.feedback.find((f: { questionId: string }) =>
          f.questionId === a.questions[2]!.id
        );
        assert.equal(
          third.selectedAnswer,
          null,
          "the late answer was not saved",
        );
        assert.equal(third.outcome, "unanswered");
      },
    );

    await t.step(
      "submit after the deadline: 200, late answers ignored, marked on what was saved, time = the limit",
      async () => {
        const b = await startedBy();
        clock.setSystemTime(b.startedAt + 60_000);
        const saved = await putAnswers(ctx, b.who.token, b.attemptId, [{
          questionId: b.questions[0]!.id,
          selectedAnswer: "Right",
        }]);
        assert.equal(saved.status, 200);
        clock.setSystemTime(b.expiresAt! + 60_000);
        const done = await submit(
          ctx,
          b.who.token,
          quiz.id,
          b.attemptId,
          b.questions.map((q) => ({
            questionId: q.id,
            selectedAnswer: "Right",
          })),
        );
        assert.equal(done.status, 200, JSON.stringify(done.body));
        const result = done.body.result;
        assert.equal(result.lateAnswersIgnored, true);
        assert.equal(result.finishedBy, "deadline");
        assert.equal(result.score, 1);
        assert.equal(result.scorePercentage, 25);
        assert.equal(result.passed, false);
        assert.equal(result.timeTaken, 600, "not the 11 minutes of wall time");
      },
    );

    await t.step(
      "GET /api/quizzes/attempts/:id finalizes an expired open attempt on the way",
      async () => {
        const c = await startedBy();
        const saved = await putAnswers(ctx, c.who.token, c.attemptId, [{
          questionId: c.questions[3]!.id,
          selectedAnswer: "Right",
        }]);
        assert.equal(saved.status, 200);
        clock.setSystemTime(c.expiresAt! + 10_000);
        assert.equal(
          (await attemptRow(c.attemptId)).status,
          "in_progress",
          "nothing closes it until someone looks",
        );
        const view = await readAttempt(ctx, c.who.token, c.attemptId);
        assert.equal(view.status, 200, JSON.stringify(view.body));
        assert.equal(view.body.status, "completed");
        assert.equal(view.body.result.finishedBy, "deadline");
        assert.equal(view.body.result.score, 1);
        assert.equal(view.body.result.timeTaken, 600);
        const row = await attemptRow(c.attemptId);
        assert.equal(row.status, "completed");
        assert.equal(row.finishedBy, "deadline");
      },
    );

    await t.step(
      "finalizeExpiredAttempts closes expired attempts and leaves untimed and in-time ones open",
      async () => {
        const expiring = await startedBy();
        const openUntimed = await startedBy(untimed.id);
        assert.equal(openUntimed.expiresAt, null);
        clock.setSystemTime(expiring.startedAt + 5 * 60_000);
        const inTime = await startedBy();

        // Inside the grace the sweep leaves it alone.
        assert.equal(
          await finalizeExpiredAttempts(
            ctx.deps,
            new Date(expiring.expiresAt! + 4_000),
          ),
          0,
        );
        assert.equal(
          (await attemptRow(expiring.attemptId)).status,
          "in_progress",
        );

        clock.setSystemTime(expiring.expiresAt! + 6_000);
        const closed = await finalizeExpiredAttempts(ctx.deps, new Date());
        assert.equal(closed, 1);
        const swept = await attemptRow(expiring.attemptId);
        assert.equal(swept.status, "completed");
        assert.equal(swept.finishedBy, "deadline");
        assert.equal(swept.timeTakenSeconds, 600);
        assert.equal(
          (await attemptRow(openUntimed.attemptId)).status,
          "in_progress",
        );
        assert.equal(
          (await attemptRow(inTime.attemptId)).status,
          "in_progress",
        );
      },
    );

    await t.step(
      "a 1.5 time multiplier set by the program owner gives the next attempt 15 minutes",
      async () => {
        const ownerToken = await freshToken(ctx, teacher.user);
        const student = await learner(ctx);
        await enroll(ctx, student.user.id, program.id, "examSimulator");
        const set = await api(ctx, "PUT", "/api/quizzes/accommodations", {
          token: ownerToken,
          body: {
            userId: student.user.id,
            programId: program.id,
            timeMultiplier: 1.5,
          },
        });
        assert.equal(set.status, 200, JSON.stringify(set.body));
        const started = await start(ctx, student.token, quiz.id);
        assert.equal(started.status, 201, JSON.stringify(started.body));
        assert.equal(started.body.timeMultiplier, 1.5);
        assert.equal(
          Date.parse(started.body.expiresAt) -
            Date.parse(started.body.startedAt),
          15 * 60_000,
        );
        assert.equal(started.body.timeLimitSeconds, 900);
      },
    );

    await t.step(
      "a student cannot set extra time (403), nor can an instructor who does not own the program",
      async () => {
        const student = await learner(ctx);
        const target = await learner(ctx);
        const body = {
          userId: target.user.id,
          programId: program.id,
          timeMultiplier: 2,
        };
        const byStudent = await api(ctx, "PUT", "/api/quizzes/accommodations", {
          token: student.token,
          body: { ...body, userId: student.user.id },
        });
        assert.equal(byStudent.status, 403, JSON.stringify(byStudent.body));
        const rival = await learner(ctx, "instructor");
        const byRival = await api(ctx, "PUT", "/api/quizzes/accommodations", {
          token: rival.token,
          body,
        });
        assert.ok(
          [403, 404].includes(byRival.status),
          `expected 403 or 404, got ${byRival.status}`,
        );
        const rows = await ctx.deps.db.select().from(accommodations).where(and(
          eq(accommodations.programId, program.id),
          eq(accommodations.timeMultiplier, 2),
        ));
        assert.equal(rows.length, 0, "nothing was written");
      },
    );
    await t.step({
      name:
        "a late submit with answers after the sweep closed the attempt still says they were ignored",
      fn: async () => {
        const d = await startedBy();
        clock.setSystemTime(d.expiresAt! + 30_000);
        await finalizeExpiredAttempts(ctx.deps, new Date());
        assert.equal((await attemptRow(d.attemptId)).status, "completed");
        const done = await submit(
          ctx,
          d.who.token,
          quiz.id,
          d.attemptId,
          d.questions.map((q) => ({
            questionId: q.id,
            selectedAnswer: "Right",
          })),
        );
        assert.equal(done.status, 200, JSON.stringify(done.body));
        assert.equal(done.body.result.score, 0);
        assert.equal(done.body.result.lateAnswersIgnored, true);
      },
    });

    await t.step({
      name:
        "extra time for an account that does not exist is refused, not a 500",
      fn: async () => {
        const set = await api(ctx, "PUT", "/api/quizzes/accommodations", {
          token: await freshToken(ctx, teacher.user),
          body: {
            userId: "no-such-user",
            programId: program.id,
            timeMultiplier: 2,
          },
        });
        assert.ok(
          [404, 422].includes(set.status),
          `expected 404 or 422, got ${set.status}: ${JSON.stringify(set.body)}`,
        );
      },
    });
  } finally {
    clock.uninstall();
    await ctx.close();
  }
});
