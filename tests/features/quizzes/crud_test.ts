import assert from "node:assert/strict";
import { count, eq } from "drizzle-orm";
import { questions, quizzes } from "../../../db/schema/mod.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import { enroll, makeProgram } from "../../helpers/factories.ts";
import {
  createQuizOn,
  learner,
  readAttempt,
  singleChoiceQuestions,
  start,
  submit,
} from "./support.ts";

type Question = { id: string; questionText: string };
type Summary = { id: string; programId: string };

const rowCount = async (
  ctx: TestContext,
  table: typeof quizzes | typeof questions,
) => (await ctx.deps.db.select({ n: count() }).from(table))[0]!.n;

/** 10 Math questions (Algebra 1-3 hard, 4-6 easy; Geometry 1-4 medium) and two outside Math. */
const MATH_BANK = JSON.stringify({
  questions: [
    ...Array.from({ length: 6 }, (_, i) => ({
      type: "true_false",
      text: `Algebra ${i + 1}`,
      category: "Math/Algebra",
      difficulty: i < 3 ? "hard" : "easy",
      correct: true,
    })),
    ...Array.from({ length: 4 }, (_, i) => ({
      type: "true_false",
      text: `Geometry ${i + 1}`,
      category: "Math/Geometry",
      difficulty: "medium",
      correct: true,
    })),
    // Same prefix, not a subcategory; and another subject. Both hard.
    {
      type: "true_false",
      text: "Mathematics decoy",
      category: "Mathematics",
      difficulty: "hard",
      correct: true,
    },
    {
      type: "true_false",
      text: "Physics decoy",
      category: "Physics",
      difficulty: "hard",
      correct: true,
    },
  ],
});

Deno.test("quiz CRUD, listing, question lists and random draws", async (t) => {
  const ctx = await createTestContext();
  try {
    const teacher = await learner(ctx, "instructor");
    const rival = await learner(ctx, "instructor");
    const admin = await learner(ctx, "admin");
    const student = await learner(ctx);
    const program = await makeProgram(ctx, teacher.user);
    const rivalProgram = await makeProgram(ctx, rival.user);
    let bankIds: string[] = [];
    const post = (token: string, body: Record<string, unknown>) =>
      api(ctx, "POST", "/api/quizzes", {
        token,
        body: { title: "A quiz", programId: program.id, ...body },
      });

    await t.step(
      "POST /api/quizzes with 002's inline shape stores the questions and the fixed list",
      async () => {
        const created = await post(teacher.token, {
          questions: [
            {
              questionText: "What is 2 + 2?",
              questionType: "multiple-choice",
              options: ["3", "4", "5"],
              correctAnswer: "4",
              explanation: "Count on your fingers.",
              points: 2,
            },
            {
              questionText: "Which are even?",
              questionType: "multiple-answers",
              options: ["2", "3", "4"],
              correctAnswer: ["2", "4"],
            },
          ],
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const quiz = created.body.quiz;
        bankIds = quiz.questionIds;
        assert.equal(quiz.questionCount, 2);
        assert.equal(quiz.questionIds.length, 2);
        const [first] = await ctx.deps.db.select().from(questions).where(
          eq(questions.id, quiz.questionIds[0]),
        );
        assert.equal(first!.type, "single_choice");
        assert.equal(first!.text, "What is 2 + 2?");
        assert.equal(first!.points, 2);
        assert.deepEqual(first!.body.choices, [
          { text: "3", weight: 0 },
          { text: "4", weight: 1 },
          { text: "5", weight: 0 },
        ]);
        const [second] = await ctx.deps.db.select().from(questions).where(
          eq(questions.id, quiz.questionIds[1]),
        );
        assert.equal(second!.type, "multiple_answers");

        await enroll(ctx, student.user.id, program.id, "examSimulator");
        const started = await start(ctx, student.token, quiz.id);
        assert.equal(started.status, 201, JSON.stringify(started.body));
        const shown = started.body.questions[0];
        assert.equal(shown.questionType, "multiple-choice");
        assert.deepEqual(shown.options, ["3", "4", "5"]);
        assert.equal(shown.points, 2);
        const done = await submit(
          ctx,
          student.token,
          quiz.id,
          started.body.attemptId,
          [
            { questionId: shown.id, selectedAnswer: "4" },
            {
              questionId: started.body.questions[1].id,
              selectedAnswer: ["2", "4"],
            },
          ],
        );
        assert.equal(done.status, 200);
        assert.equal(done.body.result.score, 3);
        assert.equal(done.body.result.scorePercentage, 100);
        assert.equal(
          done.body.result.feedback[0].explanation,
          "Count on your fingers.",
        );
      },
    );

    await t.step(
      "a correctAnswer that is not an option is 422 on questions.0.correctAnswer",
      async () => {
        const res = await post(teacher.token, {
          questions: [{
            questionText: "Pick one",
            questionType: "multiple-choice",
            options: ["a", "b"],
            correctAnswer: "c",
          }],
        });
        assert.equal(res.status, 422, JSON.stringify(res.body));
        assert.ok(res.body.error.details.fields["questions.0.correctAnswer"]);
      },
    );

    await t.step(
      "a bad native question at index 2 is 422 naming questions.2 and nothing is written",
      async () => {
        const quizzesBefore = await rowCount(ctx, quizzes);
        const questionsBefore = await rowCount(ctx, questions);
        const res = await post(teacher.token, {
          title: "Never written",
          questions: [
            ...singleChoiceQuestions(2, "Atomic"),
            {
              type: "single_choice",
              text: "Only one choice",
              choices: [{ text: "lonely", weight: 1 }],
            },
          ],
        });
        assert.equal(res.status, 422, JSON.stringify(res.body));
        const keys = Object.keys(res.body.error.details.fields);
        assert.ok(keys.length > 0);
        assert.ok(
          keys.every((key) => key.startsWith("questions.2.")),
          keys.join(", "),
        );
        assert.equal(await rowCount(ctx, quizzes), quizzesBefore);
        assert.equal(await rowCount(ctx, questions), questionsBefore);
      },
    );

    await t.step("isTimed without a duration is 422 on duration", async () => {
      const res = await post(teacher.token, {
        isTimed: true,
        questions: singleChoiceQuestions(1),
      });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.ok(res.body.error.details.fields.duration);
    });

    await t.step("both questionIds and draw is 422", async () => {
      const res = await post(teacher.token, {
        questionIds: bankIds,
        draw: { count: 2 },
      });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.ok(res.body.error.details.fields.draw);
    });

    await t.step(
      "questionIds from another program's bank are 422 and no quiz is written",
      async () => {
        const foreign = await createQuizOn(ctx, rival.token, rivalProgram.id, {
          questions: singleChoiceQuestions(1, "Foreign"),
        });
        const before = await rowCount(ctx, quizzes);
        const res = await post(teacher.token, {
          title: "Borrowing",
          questionIds: foreign.questionIds,
        });
        assert.equal(res.status, 422, JSON.stringify(res.body));
        assert.ok(res.body.error.details.fields["questionIds.0"]);
        assert.equal(await rowCount(ctx, quizzes), before);
      },
    );

    await t.step(
      "a student cannot create a quiz (403), nor an instructor on someone else's program (403)",
      async () => {
        const before = await rowCount(ctx, quizzes);
        const byStudent = await post(student.token, {
          questions: singleChoiceQuestions(1),
        });
        assert.equal(byStudent.status, 403);
        const byRival = await post(rival.token, {
          questions: singleChoiceQuestions(1),
        });
        assert.equal(byRival.status, 403, JSON.stringify(byRival.body));
        assert.equal(await rowCount(ctx, quizzes), before);
      },
    );

    await t.step(
      "listing: ?programId for a learner; without it instructors see their own, admins all, learners their enrolled programs'",
      async () => {
        const theirs = await createQuizOn(ctx, rival.token, rivalProgram.id, {
          title: "Rival's",
          questions: singleChoiceQuestions(1, "Rival"),
        });
        const mine = await createQuizOn(ctx, teacher.token, program.id, {
          title: "Mine",
          questions: singleChoiceQuestions(1, "Mine"),
        });
        const list = async (token: string, query = "") => {
          const res = await api(ctx, "GET", `/api/quizzes?limit=100${query}`, {
            token,
          });
          assert.equal(res.status, 200, JSON.stringify(res.body));
          return res.body.quizzes as Summary[];
        };
        const onlyRival = await list(
          student.token,
          `&programId=${rivalProgram.id}`,
        );
        assert.ok(onlyRival.length >= 2);
        assert.ok(onlyRival.every((q) => q.programId === rivalProgram.id));
        assert.ok(onlyRival.some((q) => q.id === theirs.id));

        const teachers = await list(teacher.token);
        assert.ok(teachers.some((q) => q.id === mine.id));
        assert.ok(teachers.every((q) => q.programId === program.id));

        const admins = (await list(admin.token)).map((q) => q.id);
        assert.ok(admins.includes(mine.id) && admins.includes(theirs.id));

        // The student is enrolled in `program` only (first step).
        const learners = await list(student.token);
        assert.ok(learners.some((q) => q.id === mine.id));
        assert.ok(learners.every((q) => q.programId === program.id));
        const outsider = await learner(ctx);
        assert.deepEqual(await list(outsider.token), []);
      },
    );

    await t.step("pagination block and Link header", async () => {
      const small = await makeProgram(ctx, teacher.user);
      for (const title of ["One", "Two", "Three"]) {
        await createQuizOn(ctx, teacher.token, small.id, {
          title,
          questions: singleChoiceQuestions(1, title),
        });
      }
      const first = await api(
        ctx,
        "GET",
        `/api/quizzes?programId=${small.id}&limit=2`,
        { token: student.token },
      );
      assert.equal(first.status, 200);
      assert.equal(first.body.quizzes.length, 2);
      assert.deepEqual(first.body.pagination, {
        currentPage: 1,
        totalPages: 2,
        total: 3,
        limit: 2,
        hasNext: true,
        hasPrev: false,
      });
      const link = first.headers.get("Link") ?? "";
      assert.match(link, /[?&]page=2[^>]*>; rel="next"/);
      assert.match(link, /[?&]page=2[^>]*>; rel="last"/);
      assert.match(link, /programId=/);
      const second = await api(
        ctx,
        "GET",
        `/api/quizzes?programId=${small.id}&limit=2&page=2`,
        { token: student.token },
      );
      assert.equal(second.body.quizzes.length, 1);
      assert.equal(second.body.pagination.hasPrev, true);
      assert.equal(second.body.pagination.hasNext, false);
      assert.match(second.headers.get("Link") ?? "", /rel="prev"/);
      const ids = [...first.body.quizzes, ...second.body.quizzes].map((
        q: Summary,
      ) => q.id);
      assert.equal(new Set(ids).size, 3);
    });

    await t.step(
      "PUT changes settings; a new list does not change an attempt already started",
      async () => {
        const quiz = await createQuizOn(ctx, teacher.token, program.id, {
          title: "Before",
          questions: singleChoiceQuestions(2, "Old"),
        });
        const started = await start(ctx, student.token, quiz.id);
        assert.equal(started.status, 201);
        const changed = await api(ctx, "PUT", `/api/quizzes/${quiz.id}`, {
          token: teacher.token,
          body: {
            title: "After",
            passingScore: 90,
            isTimed: true,
            duration: 20,
            questions: singleChoiceQuestions(3, "New"),
          },
        });
        assert.equal(changed.status, 200, JSON.stringify(changed.body));
        const detail = await api(ctx, "GET", `/api/quizzes/${quiz.id}`, {
          token: student.token,
        });
        assert.equal(detail.body.quiz.title, "After");
        assert.equal(detail.body.quiz.passingScore, 90);
        assert.equal(detail.body.quiz.isTimed, true);
        assert.equal(detail.body.quiz.duration, 20);
        assert.equal(detail.body.quiz.questionCount, 3);

        const resumed = await readAttempt(
          ctx,
          student.token,
          started.body.attemptId,
        );
        assert.deepEqual(resumed.body.questions, started.body.questions);
        const again = await start(ctx, student.token, quiz.id);
        assert.equal(again.status, 200);
        assert.deepEqual(
          again.body.questions.map((q: Question) => q.questionText),
          ["Old 1", "Old 2"],
        );
        assert.equal(
          again.body.expiresAt,
          null,
          "started untimed, stays untimed",
        );

        const newcomer = await learner(ctx);
        await enroll(ctx, newcomer.user.id, program.id, "examSimulator");
        const fresh = await start(ctx, newcomer.token, quiz.id);
        assert.deepEqual(
          fresh.body.questions.map((q: Question) => q.questionText),
          ["New 1", "New 2", "New 3"],
        );
      },
    );

    const drawBank = await makeProgram(ctx, teacher.user);
    const drawer = await learner(ctx);
    await enroll(ctx, drawer.user.id, drawBank.id, "examSimulator");
    /** The questions of `attempts` fresh attempts (each submitted so the next can start). */
    const drawn = async (quizId: string, attempts: number) => {
      const sets: string[][] = [];
      for (let i = 0; i < attempts; i++) {
        const started = await start(ctx, drawer.token, quizId);
        assert.equal(started.status, 201, JSON.stringify(started.body));
        sets.push(started.body.questions.map((q: Question) => q.questionText));
        const done = await submit(
          ctx,
          drawer.token,
          quizId,
          started.body.attemptId,
        );
        assert.equal(done.status, 200);
      }
      return sets;
    };

    await t.step(
      "a bank imported as raw JSON through POST /api/quizzes/import",
      async () => {
        const imported = await api(
          ctx,
          "POST",
          `/api/quizzes/import?programId=${drawBank.id}`,
          {
            token: teacher.token,
            body: MATH_BANK,
            headers: { "Content-Type": "application/json" },
          },
        );
        assert.equal(imported.status, 201, JSON.stringify(imported.body));
        assert.equal(imported.body.created, 12);
      },
    );

    await t.step(
      "draw {count 3, category Math/Algebra, difficulty hard}: every attempt the 3 hard algebra questions",
      async () => {
        const quiz = await createQuizOn(ctx, teacher.token, drawBank.id, {
          draw: { count: 3, category: "Math/Algebra", difficulty: "hard" },
        });
        for (const set of await drawn(quiz.id, 3)) {
          assert.deepEqual(set.sort(), ["Algebra 1", "Algebra 2", "Algebra 3"]);
        }
      },
    );

    await t.step(
      "draw {count 5, category Math} takes from the subcategories, never outside Math, and varies",
      async () => {
        const quiz = await createQuizOn(ctx, teacher.token, drawBank.id, {
          draw: { count: 5, category: "Math" },
        });
        const sets = await drawn(quiz.id, 5);
        for (const set of sets) {
          assert.equal(set.length, 5);
          assert.equal(new Set(set).size, 5);
          assert.ok(
            set.every((text) => /^(Algebra|Geometry) \d$/.test(text)),
            set.join(", "),
          );
        }
        const all = sets.flat();
        assert.ok(all.some((text) => text.startsWith("Algebra")));
        assert.ok(all.some((text) => text.startsWith("Geometry")));
        const distinct = new Set(sets.map((set) => [...set].sort().join("|")));
        assert.ok(
          distinct.size >= 2,
          "five draws of 5 from 10 were all the same",
        );
      },
    );

    await t.step({
      name:
        "a draw on a category whose name has an underscore includes its subcategories",
      fn: async () => {
        const bank = await makeProgram(ctx, teacher.user);
        await enroll(ctx, drawer.user.id, bank.id, "examSimulator");
        await createQuizOn(ctx, teacher.token, bank.id, {
          title: "Stocks the bank",
          questions: [
            {
              type: "true_false",
              text: "Top",
              category: "Data_Science",
              correct: true,
            },
            {
              type: "true_false",
              text: "Sub",
              category: "Data_Science/ML",
              correct: true,
            },
          ],
        });
        const quiz = await createQuizOn(ctx, teacher.token, bank.id, {
          draw: { count: 10, category: "Data_Science" },
        });
        const [set] = await drawn(quiz.id, 1);
        assert.deepEqual(set!.sort(), ["Sub", "Top"]);
      },
    });

    await t.step(
      "identical inline questions share one bank row (content hash)",
      async () => {
        const twin = {
          type: "single_choice",
          text: "Twin question",
          choices: [{ text: "yes", weight: 1 }, { text: "no", weight: 0 }],
        };
        const first = await createQuizOn(ctx, teacher.token, program.id, {
          questions: [twin, { ...twin }],
        });
        assert.equal(first.questionIds!.length, 1);
        const second = await createQuizOn(ctx, teacher.token, program.id, {
          questions: [{ ...twin }],
        });
        assert.deepEqual(second.questionIds, first.questionIds);
        const rows = await ctx.deps.db.select().from(questions).where(
          eq(questions.text, "Twin question"),
        );
        assert.equal(rows.length, 1);
      },
    );
  } finally {
    await ctx.close();
  }
});
