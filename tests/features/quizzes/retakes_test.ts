import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { and, count, eq } from "drizzle-orm";
import { quizAttempts } from "../../../db/schema/mod.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { enroll, makeProgram } from "../../helpers/factories.ts";
import {
  answersWithRight,
  attemptList,
  createQuizOn,
  eventsOf,
  freshToken,
  learner,
  singleChoiceQuestions,
  start,
  submit,
} from "./support.ts";

Deno.test("retakes, cooldowns, grading methods and pass events", async (t) => {
  const ctx = await createTestContext();
  // Only Date is faked: attempts a second apart keep their order, and cooldowns can pass.
  const clock = FakeTimers.install({ toFake: ["Date"], now: Date.now() });
  try {
    const teacher = await learner(ctx, "instructor");
    const program = await makeProgram(ctx, teacher.user);
    // Four 1-point questions: 2, 3 and 4 right answers make 50, 75 and 100 %.
    const quizWith = async (fields: Record<string, unknown>) =>
      createQuizOn(ctx, await freshToken(ctx, teacher.user), program.id, {
        questions: singleChoiceQuestions(4),
        passingScore: 70,
        ...fields,
      });
    const examTaker = async () => {
      const who = await learner(ctx);
      await enroll(ctx, who.user.id, program.id, "examSimulator");
      return who;
    };
    /** Starts and submits one attempt with `right` of 4 answers right; returns the result. */
    const take = async (token: string, quizId: string, right: number) => {
      clock.tick(1_000);
      const started = await start(ctx, token, quizId);
      assert.equal(started.status, 201, JSON.stringify(started.body));
      const done = await submit(
        ctx,
        token,
        quizId,
        started.body.attemptId,
        answersWithRight(started.body.questions, right),
      );
      assert.equal(done.status, 200, JSON.stringify(done.body));
      return done.body.result;
    };
    const standingOf = async (token: string, quizId: string) => {
      const list = await attemptList(ctx, token, quizId);
      assert.equal(list.status, 200, JSON.stringify(list.body));
      return list.body.standing;
    };

    await t.step(
      "allowRetake false: a second start is 409 RETAKE_NOT_ALLOWED",
      async () => {
        const quiz = await quizWith({ allowRetake: false });
        const who = await examTaker();
        await take(who.token, quiz.id, 4);
        const again = await start(ctx, who.token, quiz.id);
        assert.equal(again.status, 409, JSON.stringify(again.body));
        assert.equal(again.body.error.code, "RETAKE_NOT_ALLOWED");
        const standing = await standingOf(who.token, quiz.id);
        assert.equal(standing.canStart, false);
        assert.equal(standing.attemptsRemaining, 0);
      },
    );

    await t.step(
      "attemptsAllowed 2: a third start is 409 ATTEMPTS_EXHAUSTED",
      async () => {
        const quiz = await quizWith({ attemptsAllowed: 2 });
        const who = await examTaker();
        assert.equal(
          (await standingOf(who.token, quiz.id)).attemptsRemaining,
          2,
        );
        await take(who.token, quiz.id, 2);
        const middle = await standingOf(who.token, quiz.id);
        assert.equal(middle.attemptsUsed, 1);
        assert.equal(middle.attemptsRemaining, 1);
        assert.equal(middle.canStart, true);
        await take(who.token, quiz.id, 2);
        const third = await start(ctx, who.token, quiz.id);
        assert.equal(third.status, 409, JSON.stringify(third.body));
        assert.equal(third.body.error.code, "ATTEMPTS_EXHAUSTED");
        const standing = await standingOf(who.token, quiz.id);
        assert.equal(standing.attemptsUsed, 2);
        assert.equal(standing.attemptsRemaining, 0);
        assert.equal(standing.canStart, false);
        assert.equal(standing.nextAttemptAt, null);
      },
    );

    await t.step(
      "cooldownMinutes 30: 429 QUIZ_COOLDOWN with Retry-After and retryAt, then allowed after 30 minutes",
      async () => {
        const quiz = await quizWith({ cooldownMinutes: 30 });
        const who = await examTaker();
        await take(who.token, quiz.id, 2);
        const submittedAt = Date.now();
        const retryAt = new Date(submittedAt + 30 * 60_000).toISOString();

        const early = await start(ctx, who.token, quiz.id);
        assert.equal(early.status, 429, JSON.stringify(early.body));
        assert.equal(early.body.error.code, "QUIZ_COOLDOWN");
        assert.equal(early.headers.get("Retry-After"), "1800");
        assert.equal(early.body.error.details.retryAt, retryAt);
        const standing = await standingOf(who.token, quiz.id);
        assert.equal(standing.canStart, false);
        assert.equal(standing.nextAttemptAt, retryAt);

        clock.setSystemTime(submittedAt + 30 * 60_000 - 1_000);
        const token = await freshToken(ctx, who.user);
        const almost = await start(ctx, token, quiz.id);
        assert.equal(almost.status, 429);
        assert.equal(almost.headers.get("Retry-After"), "1");

        clock.setSystemTime(submittedAt + 30 * 60_000);
        const later = await start(ctx, token, quiz.id);
        assert.equal(later.status, 201, JSON.stringify(later.body));
        assert.equal(later.body.mode, "exam");
      },
    );

    await t.step({
      name: "during a cooldown the standing still counts the attempts left",
      fn: async () => {
        const quiz = await quizWith({
          cooldownMinutes: 30,
          attemptsAllowed: 3,
        });
        const who = await examTaker();
        await take(who.token, quiz.id, 2);
        const standing = await standingOf(who.token, quiz.id);
        assert.equal(standing.canStart, false);
        assert.notEqual(standing.nextAttemptAt, null);
        assert.equal(standing.attemptsRemaining, 2);
      },
    });

    await t.step(
      "starting twice while an attempt is open returns it (200, resumed) without using an attempt",
      async () => {
        const quiz = await quizWith({ attemptsAllowed: 1 });
        const who = await examTaker();
        const first = await start(ctx, who.token, quiz.id);
        assert.equal(first.status, 201);
        assert.equal(first.body.resumed, false);
        const second = await start(ctx, who.token, quiz.id);
        assert.equal(second.status, 200, JSON.stringify(second.body));
        assert.equal(second.body.resumed, true);
        assert.equal(second.body.attemptId, first.body.attemptId);
        const [rows] = await ctx.deps.db.select({ n: count() }).from(
          quizAttempts,
        ).where(and(
          eq(quizAttempts.userId, who.user.id),
          eq(quizAttempts.quizId, quiz.id),
        ));
        assert.equal(rows!.n, 1);
        const standing = await standingOf(who.token, quiz.id);
        assert.equal(standing.attemptsUsed, 0);
        assert.equal(standing.attemptsRemaining, 1);
        assert.equal(standing.openAttemptId, first.body.attemptId);
        const done = await submit(
          ctx,
          who.token,
          quiz.id,
          first.body.attemptId,
          answersWithRight(first.body.questions, 4),
        );
        assert.equal(done.status, 200);
        assert.equal(
          (await start(ctx, who.token, quiz.id)).body.error.code,
          "ATTEMPTS_EXHAUSTED",
        );
      },
    );

    await t.step(
      "grading methods: 50, 100 then 75 make 100 (highest), 75 (latest), 50 (first), 75 (average)",
      async () => {
        const quiz = await quizWith({
          attemptsAllowed: 3,
          gradingMethod: "highest",
        });
        const who = await examTaker();
        const results = [
          await take(who.token, quiz.id, 2),
          await take(who.token, quiz.id, 4),
          await take(who.token, quiz.id, 3),
        ];
        assert.deepEqual(results.map((r) => r.scorePercentage), [50, 100, 75]);
        assert.deepEqual(results.map((r) => r.finalGrade), [50, 100, 100]);

        const standing = await standingOf(who.token, quiz.id);
        assert.equal(standing.gradingMethod, "highest");
        assert.equal(standing.finalGrade, 100);
        assert.equal(standing.passed, true);
        assert.equal(standing.attemptsUsed, 3);
        assert.equal(standing.attemptsRemaining, 0);
        assert.equal(standing.canStart, false);
        assert.equal(standing.nextAttemptAt, null);
        assert.equal(standing.openAttemptId, null);

        for (
          const [method, grade] of [
            ["latest", 75],
            ["first", 50],
            ["average", 75],
          ] as const
        ) {
          const changed = await api(ctx, "PUT", `/api/quizzes/${quiz.id}`, {
            token: await freshToken(ctx, teacher.user),
            body: { gradingMethod: method },
          });
          assert.equal(changed.status, 200, JSON.stringify(changed.body));
          const now = await standingOf(who.token, quiz.id);
          assert.equal(now.gradingMethod, method);
          assert.equal(now.finalGrade, grade, method);
          assert.equal(now.passed, grade >= 70, method);
        }
      },
    );

    await t.step(
      "quiz.passed is recorded once, at the first passing final grade",
      async () => {
        const quiz = await quizWith({ gradingMethod: "highest" });
        const who = await examTaker();
        const passedEvents = () => eventsOf(ctx, "quiz.passed", who.user.id);
        await take(who.token, quiz.id, 2);
        assert.equal((await passedEvents()).length, 0, "50 % does not pass");
        const passing = await take(who.token, quiz.id, 4);
        const afterPass = await passedEvents();
        assert.equal(afterPass.length, 1);
        assert.equal(afterPass[0]!.subjectId, quiz.id);
        assert.equal(afterPass[0]!.payload.attemptId, passing.attemptId);
        await take(who.token, quiz.id, 3);
        const afterAgain = await passedEvents();
        assert.equal(afterAgain.length, 1, "passing again records nothing");
        assert.equal(afterAgain[0]!.id, afterPass[0]!.id);
      },
    );

    await t.step(
      "average: the pass event comes with the attempt that lifts the average over passingScore",
      async () => {
        const quiz = await quizWith({ gradingMethod: "average" });
        const who = await examTaker();
        const passedEvents = () => eventsOf(ctx, "quiz.passed", who.user.id);
        const first = await take(who.token, quiz.id, 2);
        assert.equal(first.finalGrade, 50);
        const second = await take(who.token, quiz.id, 3);
        assert.equal(second.passed, true, "this attempt alone passes");
        assert.equal(second.finalGrade, 62.5);
        assert.equal(
          (await passedEvents()).length,
          0,
          "but the average (62.5) does not",
        );
        const third = await take(who.token, quiz.id, 4);
        assert.equal(third.finalGrade, 75);
        const recorded = await passedEvents();
        assert.equal(recorded.length, 1);
        assert.equal(recorded[0]!.payload.attemptId, third.attemptId);
        assert.equal(recorded[0]!.payload.finalGrade, 75);
      },
    );

    await t.step(
      "quiz.attempted: one per finished attempt, none for an open one",
      async () => {
        const quiz = await quizWith({});
        const who = await examTaker();
        const finished = [
          await take(who.token, quiz.id, 1),
          await take(who.token, quiz.id, 4),
        ];
        const open = await start(ctx, who.token, quiz.id);
        assert.equal(open.status, 201);
        const attempted = (await eventsOf(ctx, "quiz.attempted", who.user.id))
          .filter((e) => e.payload.quizId === quiz.id);
        assert.deepEqual(
          attempted.map((e) => e.subjectId).sort(),
          finished.map((r) => r.attemptId).sort(),
        );
      },
    );
  } finally {
    clock.uninstall();
    await ctx.close();
  }
});
