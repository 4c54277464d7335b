import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { quizAttempts } from "../../../db/schema/mod.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { enroll, makeProgram } from "../../helpers/factories.ts";
import {
  attemptList,
  createQuizOn,
  eventsOf,
  learner,
  questionIdFor,
  readAttempt,
  singleChoiceQuestions,
  start,
  submit,
} from "./support.ts";

type Question = { id: string; questionText: string };
type Feedback = { questionId: string; graderComment?: string; points: number };

const ESSAY_QUIZ = [
  {
    type: "single_choice",
    text: "Pick the right one",
    choices: [{ text: "Right", weight: 1 }, { text: "Wrong", weight: 0 }],
  },
  { type: "essay", text: "Explain your choice", points: 4 },
];

Deno.test("essays waiting for a grader, review visibility and question statistics", async (t) => {
  const ctx = await createTestContext();
  try {
    const teacher = await learner(ctx, "instructor");
    const program = await makeProgram(ctx, teacher.user, {
      freeQuestionsCount: 5,
    });
    const essayQuiz = await createQuizOn(ctx, teacher.token, program.id, {
      questions: ESSAY_QUIZ,
      passingScore: 70,
    });
    const examTaker = async () => {
      const who = await learner(ctx);
      await enroll(ctx, who.user.id, program.id, "examSimulator");
      return who;
    };
    const grade = (token: string, attemptId: string, body: unknown) =>
      api(ctx, "POST", `/api/quizzes/attempts/${attemptId}/grade`, {
        token,
        body,
      });

    const writer = await examTaker();
    const started = await start(ctx, writer.token, essayQuiz.id);
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const attemptId = started.body.attemptId as string;
    const qs = started.body.questions as Question[];
    const essayId = questionIdFor(qs, "Explain your choice");
    const idler = await examTaker();
    const idle = await start(ctx, idler.token, essayQuiz.id);
    assert.equal(idle.status, 201);

    await t.step(
      "a submitted essay leaves the attempt pending_review with no score or pass yet",
      async () => {
        const done = await submit(ctx, writer.token, essayQuiz.id, attemptId, [
          {
            questionId: questionIdFor(qs, "Pick the right one"),
            selectedAnswer: "Right",
          },
          { questionId: essayId, selectedAnswer: "Because it is right." },
        ]);
        assert.equal(done.status, 200, JSON.stringify(done.body));
        const r = done.body.result;
        assert.equal(r.status, "pending_review");
        assert.equal(r.passed, null);
        assert.equal(r.scorePercentage, null);
        assert.equal(r.pendingReview, 1);
        assert.equal(r.totalPoints, 5);
        assert.equal(
          (await eventsOf(ctx, "quiz.passed", writer.user.id)).length,
          0,
        );
      },
    );

    await t.step(
      "the owner lists the attempts waiting with ?status=pending_review",
      async () => {
        const waiting = await attemptList(
          ctx,
          teacher.token,
          essayQuiz.id,
          "?status=pending_review",
        );
        assert.equal(waiting.status, 200, JSON.stringify(waiting.body));
        assert.deepEqual(
          waiting.body.attempts.map((a: { id: string }) => a.id),
          [attemptId],
        );
        assert.equal(waiting.body.attempts[0].user.id, writer.user.id);
        assert.equal(waiting.body.pagination.total, 1);
        const all = await attemptList(ctx, teacher.token, essayQuiz.id);
        assert.equal(
          all.body.attempts.length,
          2,
          "the open one is there without the filter",
        );
      },
    );

    await t.step(
      "grading an attempt still in progress is 409 ATTEMPT_NOT_SUBMITTED",
      async () => {
        const res = await grade(teacher.token, idle.body.attemptId, {
          grades: [{ questionId: essayId, points: 1 }],
        });
        assert.equal(res.status, 409, JSON.stringify(res.body));
        assert.equal(res.body.error.code, "ATTEMPT_NOT_SUBMITTED");
      },
    );

    await t.step("points above the question's maximum are 422", async () => {
      const res = await grade(teacher.token, attemptId, {
        grades: [{ questionId: essayId, points: 5 }],
      });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.ok(res.body.error.details.fields["grades.0.points"]);
      const [row] = await ctx.deps.db.select().from(quizAttempts).where(
        eq(quizAttempts.id, attemptId),
      );
      assert.equal(row!.status, "pending_review");
    });

    await t.step(
      "a student cannot grade (403), not even their own attempt",
      async () => {
        const res = await grade(writer.token, attemptId, {
          grades: [{ questionId: essayId, points: 4 }],
        });
        assert.equal(res.status, 403, JSON.stringify(res.body));
        const [row] = await ctx.deps.db.select().from(quizAttempts).where(
          eq(quizAttempts.id, attemptId),
        );
        assert.equal(row!.status, "pending_review");
      },
    );

    await t.step(
      "the owner grades: completed, passed computed, the comment shown to the learner",
      async () => {
        const res = await grade(teacher.token, attemptId, {
          grades: [{ questionId: essayId, points: 3, comment: "Well argued" }],
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const r = res.body.result;
        assert.equal(r.status, "completed");
        assert.equal(r.score, 4);
        assert.equal(r.scorePercentage, 80);
        assert.equal(r.passed, true);
        assert.equal(r.pendingReview, 0);
        assert.equal(r.finalGrade, 80);

        const view = await readAttempt(ctx, writer.token, attemptId);
        assert.equal(view.status, 200);
        assert.equal(view.body.status, "completed");
        assert.equal(view.body.result.reviewAvailable, true);
        const essay = view.body.result.feedback.find((f: Feedback) =>
          f.questionId === essayId
        );
        assert.equal(essay.graderComment, "Well argued");
        assert.equal(essay.points, 3);
        const passed = await eventsOf(ctx, "quiz.passed", writer.user.id);
        assert.equal(passed.length, 1);
        assert.equal(passed[0]!.payload.attemptId, attemptId);
      },
    );

    await t.step("grading again is 409 ATTEMPT_ALREADY_GRADED", async () => {
      const res = await grade(teacher.token, attemptId, {
        grades: [{ questionId: essayId, points: 4 }],
      });
      assert.equal(res.status, 409, JSON.stringify(res.body));
      assert.equal(res.body.error.code, "ATTEMPT_ALREADY_GRADED");
      const view = await readAttempt(ctx, writer.token, attemptId);
      assert.equal(view.body.result.score, 4, "the grade stands");
    });

    await t.step(
      "showAnswersAfterSubmit false: the learner gets no review, the owner does",
      async () => {
        const closed = await createQuizOn(ctx, teacher.token, program.id, {
          title: "No review",
          questions: singleChoiceQuestions(2, "Closed"),
          showAnswersAfterSubmit: false,
        });
        const who = await examTaker();
        const begun = await start(ctx, who.token, closed.id);
        const done = await submit(
          ctx,
          who.token,
          closed.id,
          begun.body.attemptId,
          [{
            questionId: begun.body.questions[0].id,
            selectedAnswer: "Wrong A",
          }],
        );
        assert.equal(done.status, 200, JSON.stringify(done.body));
        assert.equal(done.body.result.reviewAvailable, false);
        assert.deepEqual(done.body.result.feedback, []);
        assert.equal(done.body.result.scorePercentage, 0);
        assert.doesNotMatch(JSON.stringify(done.body), /"Right"/);

        const mine = await readAttempt(ctx, who.token, begun.body.attemptId);
        assert.equal(mine.body.result.reviewAvailable, false);
        assert.deepEqual(mine.body.result.feedback, []);

        const owner = await readAttempt(
          ctx,
          teacher.token,
          begun.body.attemptId,
        );
        assert.equal(owner.status, 200);
        assert.equal(owner.body.result.reviewAvailable, true);
        assert.equal(owner.body.result.feedback.length, 2);
        assert.equal(owner.body.result.feedback[0].correctAnswer, "Right");
      },
    );

    await t.step(
      "statistics: 3 answers, 33.33 % correct, the wrong answer chosen twice; practice excluded",
      async () => {
        const statsQuiz = await createQuizOn(ctx, teacher.token, program.id, {
          title: "Stats",
          questions: singleChoiceQuestions(1, "Stats"),
        });
        const answer = async (token: string, choice: string, mode: string) => {
          const begun = await start(ctx, token, statsQuiz.id);
          assert.equal(begun.status, 201, JSON.stringify(begun.body));
          assert.equal(begun.body.mode, mode);
          const done = await submit(
            ctx,
            token,
            statsQuiz.id,
            begun.body.attemptId,
            [
              {
                questionId: begun.body.questions[0].id,
                selectedAnswer: choice,
              },
            ],
          );
          assert.equal(done.status, 200);
          return begun.body.questions[0].id as string;
        };
        const questionId = await answer(
          (await examTaker()).token,
          "Right",
          "exam",
        );
        await answer((await examTaker()).token, "Wrong A", "exam");
        await answer((await examTaker()).token, "Wrong A", "exam");
        // Three practice attempts (no exam access) that would change everything if they counted.
        for (let i = 0; i < 3; i++) {
          await answer((await learner(ctx)).token, "Wrong B", "practice");
        }

        const list = await attemptList(ctx, teacher.token, statsQuiz.id);
        assert.equal(list.status, 200);
        const stats = list.body.questionStats.find((
          s: { questionId: string },
        ) => s.questionId === questionId);
        assert.ok(stats, JSON.stringify(list.body.questionStats));
        assert.equal(stats.answered, 3);
        assert.equal(stats.percentCorrect, 33.33);
        assert.equal(stats.averageScore, 33.33);
        assert.deepEqual(stats.mostChosenWrongAnswer, {
          answer: "Wrong A",
          count: 2,
        });
      },
    );
  } finally {
    await ctx.close();
  }
});
