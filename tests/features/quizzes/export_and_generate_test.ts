import assert from "node:assert/strict";
import { and, count, eq } from "drizzle-orm";
import { questions } from "../../../db/schema/mod.ts";
import { PARSERS } from "../../../server/features/quizzes/importers/mod.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { runCli } from "../../helpers/cli.ts";
import { startFakeOpenAi } from "../../helpers/fake_openai.ts";
import { makeProgram } from "../../helpers/factories.ts";
import { EVERY_TYPE, learner, quizOn } from "./support.ts";

Deno.test("export: API and CLI files import back to the same questions", async (t) => {
  const ctx = await createTestContext();
  try {
    const teacher = await learner(ctx, "instructor");
    const student = await learner(ctx);
    const { program, quiz } = await quizOn(ctx, teacher);

    await t.step("JSON export holds every question, in order", async () => {
      const response = await api(
        ctx,
        "GET",
        `/api/quizzes/${quiz.id}/export?format=json`,
        {
          token: teacher.token,
        },
      );
      assert.equal(response.status, 200);
      assert.match(
        response.headers.get("content-disposition") ?? "",
        /attachment; filename="every-type\.json"/,
      );
      const parsed = PARSERS.json(JSON.stringify(response.body));
      assert.deepEqual(parsed.errors, []);
      assert.deepEqual(
        parsed.questions.map((q) => q.question.text),
        EVERY_TYPE.map((q) => q.text),
      );
    });

    await t.step(
      "GIFT export re-imports into another program with nothing lost that GIFT carries",
      async () => {
        const response = await api(
          ctx,
          "GET",
          `/api/quizzes/${quiz.id}/export?format=gift`,
          {
            token: teacher.token,
          },
        );
        assert.equal(response.status, 200);
        assert.match(
          response.headers.get("content-type") ?? "",
          /^text\/plain/,
        );
        const other = await makeProgram(ctx, teacher.user);
        const imported = await ctx.app.request(
          `/api/quizzes/import?programId=${other.id}&format=gift`,
          {
            method: "POST",
            headers: {
              Authorization: `Bearer ${teacher.token}`,
              "Content-Type": "text/plain",
            },
            body: response.body,
          },
        );
        const report = await imported.json();
        assert.equal(imported.status, 201, JSON.stringify(report));
        assert.equal(report.created, EVERY_TYPE.length);
        assert.deepEqual(report.warnings, []);
      },
    );

    await t.step(
      "learners cannot export (answers are in the file)",
      async () => {
        const response = await api(
          ctx,
          "GET",
          `/api/quizzes/${quiz.id}/export?format=json`,
          {
            token: student.token,
          },
        );
        assert.equal(response.status, 403);
        const bad = await api(
          ctx,
          "GET",
          `/api/quizzes/${quiz.id}/export?format=pdf`,
          {
            token: teacher.token,
          },
        );
        assert.equal(bad.status, 422);
      },
    );

    await t.step(
      "CLI export of the quiz and of the program's bank",
      async () => {
        const out = `${ctx.dataDir}/bank.gift`;
        const written = await runCli(ctx.dataDir, [
          "quizzes",
          "export",
          "--quiz",
          quiz.id,
          "--format",
          "gift",
          "--out",
          out,
        ]);
        assert.equal(written.code, 0, written.stderr);
        const parsed = PARSERS.gift(await Deno.readTextFile(out));
        assert.deepEqual(parsed.errors, []);
        assert.equal(parsed.questions.length, EVERY_TYPE.length);
        const bank = await runCli(ctx.dataDir, [
          "quizzes",
          "export",
          "--program",
          program.id,
          "--format",
          "json",
        ]);
        assert.equal(bank.code, 0, bank.stderr);
        assert.equal(
          JSON.parse(bank.stdout).questions.length,
          EVERY_TYPE.length,
        );
        const neither = await runCli(ctx.dataDir, ["quizzes", "export"]);
        assert.notEqual(neither.code, 0);
        assert.match(neither.stderr, /--quiz ID or --program ID/);
      },
    );
  } finally {
    await ctx.close();
  }
});

Deno.test("AI drafts: 503 without a provider", async () => {
  const ctx = await createTestContext();
  try {
    const teacher = await learner(ctx, "instructor");
    const program = await makeProgram(ctx, teacher.user);
    const response = await api(ctx, "POST", "/api/quizzes/generate", {
      token: teacher.token,
      body: { programId: program.id, topic: "Fractions", count: 2 },
    });
    assert.equal(response.status, 503);
    assert.equal(response.body.error.code, "AI_NOT_CONFIGURED");
    assert.deepEqual(response.body.error.details.env, [
      "OPENAI_API_KEY",
      "OPENAI_BASE_URL",
      "OPENAI_MODEL",
    ]);
  } finally {
    await ctx.close();
  }
});

Deno.test("AI drafts through the OpenAI SDK, checked by the import schema, saved as drafts", async (t) => {
  const provider = startFakeOpenAi();
  const ctx = await createTestContext(provider.env);
  try {
    const teacher = await learner(ctx, "instructor");
    const program = await makeProgram(ctx, teacher.user, {
      title: "Arithmetic",
    });
    const generate = () =>
      api(ctx, "POST", "/api/quizzes/generate", {
        token: teacher.token,
        body: {
          programId: program.id,
          topic: "Fractions",
          difficulty: "easy",
          count: 2,
        },
      });

    await t.step(
      "valid items become drafts; invalid ones are reported",
      async () => {
        provider.reply({
          content: JSON.stringify({
            questions: [
              {
                type: "single_choice",
                text: "What is 1/2 + 1/4?",
                choices: [
                  { text: "3/4", weight: 1 },
                  { text: "2/6", weight: 0 },
                  { text: "1/8", weight: 0 },
                  { text: "1", weight: 0 },
                ],
                explanation: "Use a common denominator.",
              },
              { type: "single_choice", text: "Broken", choices: [] },
              { type: "true_false", text: "1/2 equals 2/4.", correct: true },
            ],
          }),
        });
        const response = await generate();
        assert.equal(response.status, 201, JSON.stringify(response.body));
        assert.equal(response.body.questions.length, 2);
        assert.ok(
          response.body.questions.every((q: { status: string }) =>
            q.status === "draft"
          ),
        );
        assert.equal(response.body.questions[0].difficulty, "easy");
        assert.equal(response.body.warnings.length, 1);
        assert.match(response.body.warnings[0].location, /question 2/);
        const sent = provider.requests.at(-1)!;
        assert.equal(sent.path, "/v1/chat/completions");
        assert.equal(sent.body.model, "fake-model");
        assert.deepEqual(sent.body.response_format, { type: "json_object" });
        assert.match(JSON.stringify(sent.body.messages), /Fractions/);
        assert.equal(sent.authorization, "Bearer sk-test-fake");
      },
    );

    await t.step("drafts stay out of quizzes until accepted", async () => {
      const drafts = await api(
        ctx,
        "GET",
        `/api/quizzes/questions?programId=${program.id}&status=draft`,
        {
          token: teacher.token,
        },
      );
      assert.equal(drafts.status, 200);
      assert.equal(drafts.body.questions.length, 2);
      const [first, second] = drafts.body.questions;
      const accepted = await api(
        ctx,
        "PUT",
        `/api/quizzes/questions/${first.id}`,
        {
          token: teacher.token,
          body: { status: "active" },
        },
      );
      assert.equal(accepted.status, 200);
      assert.equal(accepted.body.question.status, "active");
      const discarded = await api(
        ctx,
        "DELETE",
        `/api/quizzes/questions/${second.id}`,
        {
          token: teacher.token,
        },
      );
      assert.equal(discarded.status, 200);
      const activeDelete = await api(
        ctx,
        "DELETE",
        `/api/quizzes/questions/${first.id}`,
        {
          token: teacher.token,
        },
      );
      assert.equal(activeDelete.status, 409);
      const [left] = await ctx.deps.db.select({ n: count() }).from(questions)
        .where(
          and(
            eq(questions.programId, program.id),
            eq(questions.status, "active"),
          ),
        );
      assert.equal(left!.n, 1);
    });

    await t.step(
      "a provider failure is a 502 and nothing is stored",
      async () => {
        const [before] = await ctx.deps.db.select({ n: count() }).from(
          questions,
        );
        provider.reply({ status: 400 });
        const response = await generate();
        assert.equal(response.status, 502);
        assert.equal(response.body.error.code, "AI_PROVIDER_ERROR");
        assert.doesNotMatch(
          JSON.stringify(response.body),
          /fake provider failure/,
        );
        provider.reply({ content: "not json at all" });
        const garbage = await generate();
        assert.equal(garbage.status, 502);
        const [after] = await ctx.deps.db.select({ n: count() }).from(
          questions,
        );
        assert.equal(after!.n, before!.n);
      },
    );

    await t.step(
      "another instructor cannot generate into this program",
      async () => {
        const other = await learner(ctx, "instructor");
        const response = await api(ctx, "POST", "/api/quizzes/generate", {
          token: other.token,
          body: { programId: program.id, topic: "Fractions" },
        });
        assert.equal(response.status, 403);
      },
    );
  } finally {
    await ctx.close();
    await provider.close();
  }
});
