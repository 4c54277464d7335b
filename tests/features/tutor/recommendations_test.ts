import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { programs } from "../../../db/schema/mod.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import { enroll, makeProgram } from "../../helpers/factories.ts";
import { startFakeOpenAi } from "../../helpers/fake_openai.ts";
import {
  enrollmentsOf,
  type Learner,
  learner,
  programWithLesson,
} from "../payments/support.ts";
import {
  answersWithRight,
  createQuizOn,
  singleChoiceQuestions,
  start,
  submit,
} from "../quizzes/support.ts";

const recommendations = (ctx: TestContext, token?: string, query = "") =>
  api(ctx, "GET", `/api/ai/recommendations${query}`, token ? { token } : {});

interface Item {
  program: { id: string; title: string; level: string; category: string };
  score: number;
  reasons: string[];
}

const titlesOf = (body: { recommendations: Item[] }) =>
  body.recommendations.map((item) => item.program.title);

/** Sets the denormalized learner count directly: popularity without a thousand enrollments. */
const setEnrolledCount = (ctx: TestContext, id: string, n: number) =>
  ctx.deps.db.update(programs).set({ enrolledCount: n }).where(
    eq(programs.id, id),
  );

/** Enrolls the learner and completes the program's only lesson, through the progress API. */
async function complete(
  ctx: TestContext,
  who: Learner,
  programId: string,
  lessonId: string,
) {
  await enroll(ctx, who.user.id, programId);
  const done = await api(ctx, "POST", "/api/progress/update", {
    token: who.token,
    body: { programId, lessonId, completed: true },
  });
  assert.equal(done.status, 200, JSON.stringify(done.body));
  const [enrollment] = await enrollmentsOf(ctx, who.user.id, programId);
  assert.equal(enrollment?.status, "completed");
}

/** Enrolls the learner and sits the quiz with `right` of its two questions answered right. */
async function sitQuiz(
  ctx: TestContext,
  who: Learner,
  programId: string,
  quizId: string,
  right: number,
) {
  await enroll(ctx, who.user.id, programId);
  const started = await start(ctx, who.token, quizId);
  assert.ok([200, 201].includes(started.status), JSON.stringify(started.body));
  const done = await submit(
    ctx,
    who.token,
    quizId,
    started.body.attemptId,
    answersWithRight(started.body.questions, right),
  );
  assert.equal(done.status, 200, JSON.stringify(done.body));
}

Deno.test("GET /api/ai/recommendations without an AI provider", async (t) => {
  const ctx = await createTestContext();
  try {
    const admin = await learner(ctx, "admin");
    const teacher = await learner(ctx, "instructor");
    const student = await learner(ctx);

    const intro = await programWithLesson(ctx, teacher.user, {
      title: "Intro to Rust",
      level: "Beginner",
    });
    const next = await makeProgram(ctx, teacher.user, {
      title: "Rust in Practice",
      level: "Intermediate",
    });
    const advanced = await makeProgram(ctx, teacher.user, {
      title: "Advanced Rust",
      level: "Advanced",
    });
    const webRust = await makeProgram(ctx, teacher.user, {
      title: "Rust for the Web",
      level: "Intermediate",
    });
    const draft = await makeProgram(ctx, teacher.user, {
      title: "Rust Draft",
      level: "Intermediate",
      status: "draft",
    });
    const removed = await makeProgram(ctx, teacher.user, {
      title: "Rust Removed",
      level: "Intermediate",
    });
    const deleted = await api(ctx, "DELETE", `/api/programs/${removed.id}`, {
      token: teacher.token,
    });
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    const marketing = await makeProgram(ctx, teacher.user, {
      title: "Marketing Basics",
      category: "Marketing",
      level: "Beginner",
    });
    const budget = await makeProgram(ctx, teacher.user, {
      title: "Marketing on a Budget",
      category: "Marketing",
      level: "Beginner",
    });
    const growth = await makeProgram(ctx, teacher.user, {
      title: "Growth Marketing",
      category: "Marketing",
      level: "Intermediate",
    });
    const drawing = await makeProgram(ctx, admin.user, {
      title: "Drawing for Everyone",
      category: "Art & Design",
      level: "Beginner",
      featured: true,
    });
    await setEnrolledCount(ctx, marketing.id, 500);
    await setEnrolledCount(ctx, advanced.id, 900);
    const hidden = new Set([draft.title, removed.title]);

    await t.step("401 without a token", async () => {
      const res = await recommendations(ctx);
      assert.equal(res.status, 401);
      assert.equal(res.body.success, false);
    });

    await t.step(
      "after a completed beginner program, the intermediate one of the same category comes first, with its reasons",
      async () => {
        await complete(ctx, student, intro.program.id, intro.lessonId);
        await enroll(ctx, student.user.id, webRust.id);
        const res = await recommendations(ctx, student.token, "?limit=20");
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        assert.equal(res.body.summary, null);
        assert.equal(res.body.summarySource, "none");
        const [first] = res.body.recommendations as Item[];
        assert.equal(first!.program.id, next.id);
        assert.deepEqual(first!.reasons, [
          'Next level after "Intro to Rust", which you completed',
          "Same category as programs you took: Development",
        ]);
        // 002's program summary shape, as the catalog lists it.
        const summary = res.body.recommendations[0].program;
        assert.equal(summary.slug, next.slug);
        assert.equal(summary.category, "Development");
        assert.equal(summary.level, "Intermediate");
        assert.equal(summary.status, "published");
        assert.equal(summary.pricing.bundle, 34.99);
        assert.equal(summary.instructor.id, teacher.user.id);
        assert.equal(summary.instructor.name, teacher.user.name);
        const titles = titlesOf(res.body);
        // The popular advanced program of the same category still ranks below the next level.
        assert.ok(titles.indexOf("Advanced Rust") > 0);
        for (const own of ["Intro to Rust", "Rust for the Web"]) {
          assert.ok(!titles.includes(own), `${own} is already taken`);
        }
        for (const title of hidden) {
          assert.ok(!titles.includes(title), `${title} is not in the catalog`);
        }
        const scores = (res.body.recommendations as Item[]).map((i) => i.score);
        assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
        // Every item explains itself.
        assert.ok(
          (res.body.recommendations as Item[]).every((i) =>
            i.reasons.length > 0
          ),
        );
      },
    );

    await t.step("the same request gives the same answer", async () => {
      const a = await recommendations(ctx, student.token, "?limit=20");
      const b = await recommendations(ctx, student.token, "?limit=20");
      assert.deepEqual(a.body, b.body);
    });

    await t.step(
      "a learner with no history gets popular and featured beginner programs",
      async () => {
        const newcomer = await learner(ctx);
        const res = await recommendations(ctx, newcomer.token);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const items = res.body.recommendations as Item[];
        assert.equal(items.length, 5, "the default limit");
        assert.deepEqual(titlesOf(res.body).slice(0, 2), [
          "Marketing Basics",
          "Drawing for Everyone",
        ]);
        for (const item of items.slice(0, 2)) {
          assert.equal(item.program.level, "Beginner");
          assert.ok(item.reasons.includes("Popular with new learners"));
        }
        assert.equal(items[1]!.program.id, drawing.id);
        assert.ok(items[1]!.reasons.includes("Featured by the school"));
        const all = await recommendations(ctx, newcomer.token, "?limit=20");
        for (const title of hidden) {
          assert.ok(!titlesOf(all.body).includes(title));
        }
      },
    );

    await t.step("quiz results steer the level", async () => {
      const quiz = await createQuizOn(ctx, teacher.token, marketing.id, {
        questions: singleChoiceQuestions(2),
        passingScore: 70,
      });

      const struggling = await learner(ctx);
      await sitQuiz(ctx, struggling, marketing.id, quiz.id, 0);
      const weak = await recommendations(ctx, struggling.token);
      assert.equal(weak.status, 200, JSON.stringify(weak.body));
      const [same] = weak.body.recommendations as Item[];
      assert.equal(same!.program.id, budget.id);
      assert.deepEqual(same!.reasons, [
        'Same level as "Marketing Basics", to strengthen your results there (quiz average 0%)',
        "Same category as programs you took: Marketing",
      ]);
      assert.ok(!titlesOf(weak.body).includes("Marketing Basics"));

      const strong = await learner(ctx);
      await sitQuiz(ctx, strong, marketing.id, quiz.id, 2);
      const good = await recommendations(ctx, strong.token);
      const [up] = good.body.recommendations as Item[];
      assert.equal(up!.program.id, growth.id);
      assert.equal(
        up!.reasons[0],
        'Next level after "Marketing Basics", where your quiz average is 100%',
      );
    });

    await t.step("limit: 1 to 20, else 422", async () => {
      const one = await recommendations(ctx, student.token, "?limit=1");
      assert.equal(one.status, 200);
      assert.equal(one.body.recommendations.length, 1);
      assert.equal(one.body.recommendations[0].program.id, next.id);
      for (const bad of ["21", "0", "abc", "-1", "2.5"]) {
        const res = await recommendations(ctx, student.token, `?limit=${bad}`);
        assert.equal(res.status, 422, `limit=${bad}`);
        assert.equal(res.body.error.code, "VALIDATION_FAILED");
        assert.ok(res.body.error.details.fields.limit, `limit=${bad}`);
      }
    });
  } finally {
    await ctx.close();
  }
});

Deno.test("GET /api/ai/recommendations with an AI provider: a summary, or the list without one", async (t) => {
  const provider = startFakeOpenAi();
  const ctx = await createTestContext(provider.env);
  try {
    const teacher = await learner(ctx, "instructor");
    const student = await learner(ctx);
    const intro = await programWithLesson(ctx, teacher.user, {
      title: "Intro to Go",
      level: "Beginner",
    });
    const next = await makeProgram(ctx, teacher.user, {
      title: "Go in Production",
      level: "Intermediate",
    });
    await makeProgram(ctx, teacher.user, {
      title: "Brand Storytelling",
      category: "Marketing",
    });
    await complete(ctx, student, intro.program.id, intro.lessonId);

    await t.step(
      "the provider phrases the ranked list; the prompt holds the titles and reasons, nothing about the learner",
      async () => {
        provider.reply({
          content:
            "  Since you completed Intro to Go,\ntake Go in Production next.  ",
        });
        const before = provider.requests.length;
        const res = await recommendations(ctx, student.token);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.summarySource, "ai");
        assert.equal(
          res.body.summary,
          "Since you completed Intro to Go, take Go in Production next.",
        );
        assert.equal(res.body.recommendations[0].program.id, next.id);
        assert.equal(provider.requests.length, before + 1);
        const sent = provider.requests.at(-1)!;
        assert.equal(sent.path, "/v1/chat/completions");
        assert.equal(sent.body.model, "fake-model");
        assert.ok(
          typeof sent.body.max_tokens === "number" &&
            sent.body.max_tokens <= 300,
        );
        const prompt = JSON.stringify(sent.body.messages);
        assert.match(prompt, /Go in Production/);
        assert.match(prompt, /Brand Storytelling/);
        assert.match(prompt, /Next level after/);
        assert.doesNotMatch(prompt, new RegExp(student.user.email));
        assert.doesNotMatch(prompt, new RegExp(student.user.name));
      },
    );

    await t.step(
      "the same list again reuses its summary: no second provider call",
      async () => {
        const before = provider.requests.length;
        const res = await recommendations(ctx, student.token);
        assert.equal(res.body.summarySource, "ai");
        assert.equal(
          res.body.summary,
          "Since you completed Intro to Go, take Go in Production next.",
        );
        assert.equal(provider.requests.length, before);
      },
    );

    // A shorter list is another list: its summary is asked for afresh.
    await t.step(
      "a provider error leaves the deterministic list, marked unavailable",
      async () => {
        provider.reply({ status: 500 });
        const before = provider.requests.length;
        const res = await recommendations(ctx, student.token, "?limit=1");
        const full = await recommendations(ctx, student.token);
        const expected = {
          body: { recommendations: full.body.recommendations.slice(0, 1) },
        };
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        assert.equal(res.body.summary, null);
        assert.equal(res.body.summarySource, "unavailable");
        assert.deepEqual(
          res.body.recommendations,
          expected.body.recommendations,
        );
        assert.equal(
          provider.requests.length,
          before + 1,
          "no retries (the full list's summary is cached)",
        );
        assert.doesNotMatch(JSON.stringify(res.body), /fake provider failure/);
        const logged = ctx.logger.lines.filter((line) =>
          line.msg === "recommendation summary unavailable"
        );
        assert.equal(logged.at(-1)?.code, "AI_PROVIDER_ERROR");
        assert.equal(logged.at(-1)?.providerStatus, 500);
      },
    );

    await t.step("an empty answer is unavailable too", async () => {
      // Another learner, another list (a new learner's starting points): not in the cache.
      const newcomer = await learner(ctx);
      provider.reply({ content: "   " });
      const res = await recommendations(ctx, newcomer.token);
      assert.equal(res.status, 200);
      assert.equal(res.body.summary, null);
      assert.equal(res.body.summarySource, "unavailable");
    });
  } finally {
    await ctx.close();
    await provider.close();
  }
});
