import assert from "node:assert/strict";
import { and, eq } from "drizzle-orm";
import { quizAttempts } from "../../../db/schema/mod.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { enroll, makeProgram } from "../../helpers/factories.ts";
import {
  answersWithRight,
  attemptList,
  createQuizOn,
  eventsOf,
  learner,
  putAnswers,
  readAttempt,
  singleChoiceQuestions,
  start,
  submit,
} from "./support.ts";

type Question = { id: string; questionText: string };

Deno.test("practice mode, access to attempts, drafts and deleted quizzes", async (t) => {
  const ctx = await createTestContext();
  try {
    const teacher = await learner(ctx, "instructor");
    const freebies = await makeProgram(ctx, teacher.user, {
      freeQuestionsCount: 2,
    });
    const quiz = await createQuizOn(ctx, teacher.token, freebies.id, {
      questions: singleChoiceQuestions(4),
      attemptsAllowed: 1,
      passingScore: 50,
    });
    const fixedList = quiz.questionIds!;
    assert.equal(fixedList.length, 4);

    const exam = async () => {
      const who = await learner(ctx);
      await enroll(ctx, who.user.id, freebies.id, "examSimulator");
      const started = await start(ctx, who.token, quiz.id);
      assert.equal(started.status, 201, JSON.stringify(started.body));
      assert.equal(started.body.mode, "exam");
      return {
        who,
        attemptId: started.body.attemptId as string,
        questions: started.body.questions as Question[],
      };
    };
    const statusOf = async (attemptId: string) =>
      (await ctx.deps.db.select({ status: quizAttempts.status }).from(
        quizAttempts,
      ).where(eq(quizAttempts.id, attemptId)))[0]!.status;

    const casual = await learner(ctx);

    await t.step(
      "without the exam simulator: a practice attempt with the first 2 questions of the fixed list",
      async () => {
        const started = await start(ctx, casual.token, quiz.id);
        assert.equal(started.status, 201, JSON.stringify(started.body));
        assert.equal(started.body.mode, "practice");
        assert.deepEqual(
          started.body.questions.map((q: Question) => q.id),
          fixedList.slice(0, 2),
        );
        assert.deepEqual(
          started.body.questions.map((q: Question) => q.questionText),
          ["Question 1", "Question 2"],
        );
      },
    );

    await t.step(
      "practice attempts never count: no quiz.passed, attemptsAllowed 1 not used, attemptsUsed 0",
      async () => {
        for (let round = 0; round < 2; round++) {
          const started = await start(ctx, casual.token, quiz.id);
          assert.ok([200, 201].includes(started.status));
          assert.equal(started.body.mode, "practice");
          const done = await submit(
            ctx,
            casual.token,
            quiz.id,
            started.body.attemptId,
            answersWithRight(started.body.questions, 2),
          );
          assert.equal(done.status, 200, JSON.stringify(done.body));
          assert.equal(done.body.result.mode, "practice");
          assert.equal(done.body.result.scorePercentage, 100);
        }
        assert.equal(
          (await eventsOf(ctx, "quiz.passed", casual.user.id)).length,
          0,
        );
        const standing = (await attemptList(ctx, casual.token, quiz.id)).body
          .standing;
        assert.equal(standing.attemptsUsed, 0);
        assert.equal(standing.attemptsRemaining, 1);
        assert.equal(standing.finalGrade, null);
      },
    );

    await t.step(
      "with examSimulator access: an exam attempt with all questions, still allowed after practice",
      async () => {
        await enroll(ctx, casual.user.id, freebies.id, "examSimulator");
        const started = await start(ctx, casual.token, quiz.id);
        assert.equal(started.status, 201, JSON.stringify(started.body));
        assert.equal(started.body.mode, "exam");
        assert.deepEqual(
          started.body.questions.map((q: Question) => q.id),
          fixedList,
        );
        const done = await submit(
          ctx,
          casual.token,
          quiz.id,
          started.body.attemptId,
          answersWithRight(started.body.questions, 4),
        );
        assert.equal(done.status, 200);
        assert.equal(
          (await eventsOf(ctx, "quiz.passed", casual.user.id)).length,
          1,
        );
        const standing = (await attemptList(ctx, casual.token, quiz.id)).body
          .standing;
        assert.equal(standing.attemptsUsed, 1);
      },
    );

    await t.step(
      "freeQuestionsCount 0 and no access: 402 PAYMENT_REQUIRED",
      async () => {
        const paid = await makeProgram(ctx, teacher.user, {
          freeQuestionsCount: 0,
        });
        const paidQuiz = await createQuizOn(ctx, teacher.token, paid.id, {
          questions: singleChoiceQuestions(2),
        });
        const who = await learner(ctx);
        const res = await start(ctx, who.token, paidQuiz.id);
        assert.equal(res.status, 402, JSON.stringify(res.body));
        assert.equal(res.body.error.code, "PAYMENT_REQUIRED");
        assert.equal(res.body.error.details.feature, "examSimulator");
        const rows = await ctx.deps.db.select().from(quizAttempts).where(and(
          eq(quizAttempts.userId, who.user.id),
          eq(quizAttempts.quizId, paidQuiz.id),
        ));
        assert.equal(rows.length, 0);
      },
    );

    await t.step(
      "another learner cannot read, save into or submit someone's attempt (404)",
      async () => {
        const mine = await exam();
        const other = await learner(ctx);
        await enroll(ctx, other.user.id, freebies.id, "examSimulator");
        const read = await readAttempt(ctx, other.token, mine.attemptId);
        assert.equal(read.status, 404);
        const answer = [{
          questionId: mine.questions[0]!.id,
          selectedAnswer: "Wrong A",
        }];
        const save = await putAnswers(ctx, other.token, mine.attemptId, answer);
        assert.equal(save.status, 404);
        const sub = await submit(
          ctx,
          other.token,
          quiz.id,
          mine.attemptId,
          answer,
        );
        assert.equal(sub.status, 404);
        assert.equal(await statusOf(mine.attemptId), "in_progress");
        const own = await readAttempt(ctx, mine.who.token, mine.attemptId);
        assert.deepEqual(own.body.answers, []);
      },
    );

    await t.step(
      "the program owner can read a learner's attempt but not answer in it",
      async () => {
        const mine = await exam();
        const read = await readAttempt(ctx, teacher.token, mine.attemptId);
        assert.equal(read.status, 200, JSON.stringify(read.body));
        assert.equal(read.body.attemptId, mine.attemptId);
        assert.deepEqual(read.body.questions, mine.questions);
        const save = await putAnswers(ctx, teacher.token, mine.attemptId, [{
          questionId: mine.questions[0]!.id,
          selectedAnswer: "Right",
        }]);
        assert.equal(save.status, 404);
        const own = await readAttempt(ctx, mine.who.token, mine.attemptId);
        assert.deepEqual(own.body.answers, []);
      },
    );

    await t.step(
      "a learner gets 404 on the quizzes of a draft program",
      async () => {
        const draft = await makeProgram(ctx, teacher.user, {
          status: "draft",
          freeQuestionsCount: 5,
        });
        const draftQuiz = await createQuizOn(ctx, teacher.token, draft.id, {
          questions: singleChoiceQuestions(2),
        });
        const who = await learner(ctx);
        await enroll(ctx, who.user.id, draft.id, "examSimulator");
        assert.equal(
          (await api(ctx, "GET", `/api/quizzes/${draftQuiz.id}`, {
            token: teacher.token,
          })).status,
          200,
          "the owner sees it",
        );
        const get = await api(ctx, "GET", `/api/quizzes/${draftQuiz.id}`, {
          token: who.token,
        });
        assert.equal(get.status, 404);
        assert.equal((await start(ctx, who.token, draftQuiz.id)).status, 404);
        assert.equal(
          (await attemptList(ctx, who.token, draftQuiz.id)).status,
          404,
        );
        const list = await api(
          ctx,
          "GET",
          `/api/quizzes?programId=${draft.id}`,
          { token: who.token },
        );
        assert.equal(list.status, 404);
      },
    );

    await t.step(
      "a deleted quiz cannot be started; its attempts stay in the database",
      async () => {
        const doomed = await createQuizOn(ctx, teacher.token, freebies.id, {
          title: "Doomed",
          questions: singleChoiceQuestions(2, "Doomed"),
        });
        const who = await learner(ctx);
        await enroll(ctx, who.user.id, freebies.id, "examSimulator");
        const started = await start(ctx, who.token, doomed.id);
        assert.equal(started.status, 201);
        const done = await submit(
          ctx,
          who.token,
          doomed.id,
          started.body.attemptId,
          answersWithRight(started.body.questions, 2),
        );
        assert.equal(done.status, 200);

        const byStudent = await api(
          ctx,
          "DELETE",
          `/api/quizzes/${doomed.id}`,
          {
            token: who.token,
          },
        );
        assert.equal(byStudent.status, 403);
        const deleted = await api(ctx, "DELETE", `/api/quizzes/${doomed.id}`, {
          token: teacher.token,
        });
        assert.equal(deleted.status, 200, JSON.stringify(deleted.body));

        const again = await start(ctx, who.token, doomed.id);
        assert.equal(again.status, 404);
        const other = await learner(ctx);
        await enroll(ctx, other.user.id, freebies.id, "examSimulator");
        assert.equal((await start(ctx, other.token, doomed.id)).status, 404);
        assert.equal(
          (await api(ctx, "GET", `/api/quizzes/${doomed.id}`, {
            token: who.token,
          })).status,
          404,
        );

        const kept = await ctx.deps.db.select().from(quizAttempts).where(
          eq(quizAttempts.quizId, doomed.id),
        );
        assert.equal(kept.length, 1);
        assert.equal(kept[0]!.id, started.body.attemptId);
        assert.equal(kept[0]!.status, "completed");
        assert.equal(kept[0]!.scorePercentage, 100);
      },
    );

    await t.step(
      "an unknown questionId or an option not shown is 422 on answers.0, and nothing is saved",
      async () => {
        const mine = await exam();
        const good = {
          questionId: mine.questions[1]!.id,
          selectedAnswer: "Right",
        };
        const unknown = await putAnswers(ctx, mine.who.token, mine.attemptId, [
          { questionId: "no-such-question", selectedAnswer: "Right" },
          good,
        ]);
        assert.equal(unknown.status, 422, JSON.stringify(unknown.body));
        assert.equal(unknown.body.error.code, "VALIDATION_FAILED");
        assert.ok(unknown.body.error.details.fields["answers.0"]);
        assert.equal(unknown.body.error.details.fields["answers.1"], undefined);

        const option = await putAnswers(ctx, mine.who.token, mine.attemptId, [
          { questionId: mine.questions[0]!.id, selectedAnswer: "Wrong C" },
          good,
        ]);
        assert.equal(option.status, 422, JSON.stringify(option.body));
        assert.ok(option.body.error.details.fields["answers.0"]);

        const view = await readAttempt(ctx, mine.who.token, mine.attemptId);
        assert.equal(view.status, 200);
        assert.deepEqual(
          view.body.answers,
          [],
          "the valid answer was not saved either",
        );

        const badSubmit = await submit(
          ctx,
          mine.who.token,
          quiz.id,
          mine.attemptId,
          [good, { questionId: mine.questions[2]!.id, selectedAnswer: 42 }],
        );
        assert.equal(badSubmit.status, 422, JSON.stringify(badSubmit.body));
        assert.ok(badSubmit.body.error.details.fields["answers.1"]);
        assert.equal(await statusOf(mine.attemptId), "in_progress");
      },
    );

    await t.step(
      "a practice attempt does not take answers for the questions it did not show",
      async () => {
        const who = await learner(ctx);
        const started = await start(ctx, who.token, quiz.id);
        assert.equal(started.body.mode, "practice");
        const hidden = await putAnswers(
          ctx,
          who.token,
          started.body.attemptId,
          [
            { questionId: fixedList[2]!, selectedAnswer: "Right" },
          ],
        );
        assert.equal(hidden.status, 422, JSON.stringify(hidden.body));
        assert.ok(hidden.body.error.details.fields["answers.0"]);
      },
    );

    await t.step(
      "submit with the attemptId of a different quiz is 404",
      async () => {
        const mine = await exam();
        const otherQuiz = await createQuizOn(ctx, teacher.token, freebies.id, {
          title: "Other",
          questions: singleChoiceQuestions(1, "Other"),
        });
        const wrong = await submit(
          ctx,
          mine.who.token,
          otherQuiz.id,
          mine.attemptId,
          answersWithRight(mine.questions, 4),
        );
        assert.equal(wrong.status, 404, JSON.stringify(wrong.body));
        assert.equal(await statusOf(mine.attemptId), "in_progress");
      },
    );
  } finally {
    await ctx.close();
  }
});
