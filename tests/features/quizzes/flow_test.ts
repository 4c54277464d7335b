import assert from "node:assert/strict";
import { api, createTestContext } from "../../helpers/context.ts";
import { enroll } from "../../helpers/factories.ts";
import { learner, questionIdFor, quizOn, start, submit } from "./support.ts";

Deno.test("quiz flow: create, start, save, resume, submit with every type", async (t) => {
  const ctx = await createTestContext();
  try {
    const teacher = await learner(ctx, "instructor");
    const student = await learner(ctx);
    const { program, quiz } = await quizOn(ctx, teacher, {
      shuffleQuestions: true,
      shuffleOptions: true,
      isTimed: true,
      duration: 30,
      passingScore: 70,
    });
    await enroll(ctx, student.user.id, program.id, "examSimulator");

    await t.step("GET /api/quizzes/:id never shows answers", async () => {
      const response = await api(ctx, "GET", `/api/quizzes/${quiz.id}`, {
        token: student.token,
      });
      assert.equal(response.status, 200);
      assert.equal(response.body.quiz.questionCount, 6);
      assert.equal(response.body.quiz.questionIds, undefined);
      assert.doesNotMatch(JSON.stringify(response.body), /weight|Paris/);
    });

    const started = await start(ctx, student.token, quiz.id);
    await t.step("start returns 002's shape without answers", () => {
      assert.equal(started.status, 201, JSON.stringify(started.body));
      assert.equal(started.body.mode, "exam");
      assert.equal(started.body.questions.length, 7);
      assert.doesNotMatch(JSON.stringify(started.body), /weight|feedback/);
      const expires = Date.parse(started.body.expiresAt) -
        Date.parse(started.body.startedAt);
      assert.equal(expires, 30 * 60_000);
    });
    const qs = started.body.questions;
    const attemptId = started.body.attemptId as string;

    await t.step(
      "answers are saved and a resume shows them in the same order",
      async () => {
        const saved = await api(
          ctx,
          "PUT",
          `/api/quizzes/attempts/${attemptId}/answers`,
          {
            token: student.token,
            body: {
              answers: [
                {
                  questionId: questionIdFor(qs, "Capital of France?"),
                  selectedAnswer: "Paris",
                },
                {
                  questionId: questionIdFor(qs, "Which are primes?"),
                  selectedAnswer: ["2", "3"],
                },
              ],
            },
          },
        );
        assert.equal(saved.status, 200, JSON.stringify(saved.body));
        const resumed = await api(
          ctx,
          "GET",
          `/api/quizzes/attempts/${attemptId}`,
          {
            token: student.token,
          },
        );
        assert.equal(resumed.status, 200);
        assert.deepEqual(resumed.body.questions, qs);
        assert.equal(resumed.body.answers.length, 2);
        const again = await start(ctx, student.token, quiz.id);
        assert.equal(again.status, 200);
        assert.equal(again.body.attemptId, attemptId);
      },
    );

    await t.step("submit marks every type and shows the review", async () => {
      const result = await submit(ctx, student.token, quiz.id, attemptId, [
        {
          questionId: questionIdFor(qs, "The Earth is round."),
          selectedAnswer: "False",
        },
        {
          questionId: questionIdFor(qs, "Two plus two, in words?"),
          selectedAnswer: "  FOUR ",
        },
        {
          questionId: questionIdFor(qs, "Pi to two decimals?"),
          selectedAnswer: "3.141",
        },
        {
          questionId: questionIdFor(qs, "Match the capitals"),
          selectedAnswer: { France: "Paris", Italy: "Madrid" },
        },
      ]);
      assert.equal(result.status, 200, JSON.stringify(result.body));
      const r = result.body.result;
      // 1 + 1 + 0 + 1 + 1 + 0.5 of 6 points.
      assert.equal(r.score, 4.5);
      assert.equal(r.totalPoints, 6);
      assert.equal(r.scorePercentage, 75);
      assert.equal(r.passed, true);
      assert.equal(r.correctAnswers, 4);
      assert.equal(r.incorrectAnswers, 2);
      assert.equal(r.feedback.length, 6);
      const tf = r.feedback.find((f: { questionId: string }) =>
        f.questionId === questionIdFor(qs, "The Earth is round.")
      );
      assert.equal(tf.correctAnswer, "True");
      assert.deepEqual(tf.feedback, ["Look at a ship on the horizon"]);
      const again = await submit(ctx, student.token, quiz.id, attemptId);
      assert.deepEqual(again.body.result.score, 4.5);
    });

    await t.step(
      "progress, stats and the program page count quizzes",
      async () => {
        const progress = await api(
          ctx,
          "GET",
          `/api/programs/${program.id}/progress`,
          {
            token: student.token,
          },
        );
        assert.equal(progress.body.progress.quizzesTaken, 1);
        assert.equal(progress.body.progress.quizzesTotal, 1);
        const stats = await api(ctx, "GET", "/api/users/stats", {
          token: student.token,
        });
        assert.equal(stats.body.stats.quizzesTaken, 1);
        assert.equal(stats.body.stats.quizzesPassedPercentage, 100);
        assert.equal(stats.body.stats.averageQuizScore, 75);
        const page = await api(ctx, "GET", `/api/programs/${program.id}`, {});
        assert.equal(page.body.program.totalQuestions, 6);
      },
    );

    await t.step(
      "attempts list: own with standing; owner with statistics",
      async () => {
        const mine = await api(ctx, "GET", `/api/quizzes/${quiz.id}/attempts`, {
          token: student.token,
        });
        assert.equal(mine.status, 200);
        assert.equal(mine.body.attempts.length, 1);
        assert.equal(mine.body.standing.finalGrade, 75);
        assert.equal(mine.body.questionStats, undefined);
        const all = await api(ctx, "GET", `/api/quizzes/${quiz.id}/attempts`, {
          token: teacher.token,
        });
        assert.equal(all.body.attempts[0].user.id, student.user.id);
        const tf = all.body.questionStats.find((s: { title: string }) =>
          s.title === "The Earth is round."
        );
        assert.equal(tf.percentCorrect, 0);
        assert.deepEqual(tf.mostChosenWrongAnswer, {
          answer: "False",
          count: 1,
        });
      },
    );
  } finally {
    await ctx.close();
  }
});
