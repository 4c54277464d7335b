import assert from "node:assert/strict";
import { count, eq } from "drizzle-orm";
import { questions, quizQuestions, quizzes } from "../../../db/schema/mod.ts";
import {
  JSON_SCHEMA_PATH,
  questionBankJsonSchema,
} from "../../../server/features/quizzes/json_schema.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import { makeProgram, makeUserAndLogin } from "../../helpers/factories.ts";
import { ok, runCli } from "../../helpers/cli.ts";

const GIFT_BANK = `// A small bank, as an instructor exports it from Moodle
$CATEGORY: $course$/top/Geography/Capitals

::Q1:: What is the capital of France? {=Paris ~Lyon ~Marseille}

::Q2:: The Seine flows through Paris. {T}

::Q3:: Two plus two equals {=four =4}.

::Q4:: How many continents are there? {#7:0}
`;

const JSON_BANK = JSON.stringify({
  questions: [
    {
      type: "single_choice",
      text: "Which planet is largest?",
      category: "Astronomy",
      difficulty: "easy",
      choices: [
        { text: "Jupiter", weight: 1 },
        { text: "Mars", weight: 0 },
      ],
    },
    { type: "essay", text: "Describe a black hole." },
  ],
});

const questionCount = async (ctx: TestContext, programId: string) =>
  (await ctx.deps.db.select({ n: count() }).from(questions).where(
    eq(questions.programId, programId),
  ))[0]!.n;

function multipart(
  fields: Record<string, string>,
  file: string | Uint8Array<ArrayBuffer>,
) {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.set(key, value);
  form.set("file", new Blob([file]), "bank.txt");
  return form;
}

async function upload(
  ctx: TestContext,
  token: string,
  fields: Record<string, string>,
  file: string | Uint8Array<ArrayBuffer>,
) {
  const response = await ctx.app.request("/api/quizzes/import", {
    method: "POST",
    headers: { Authorization: `Bearer ${token}` },
    body: multipart(fields, file),
  });
  return { status: response.status, body: await response.json() };
}

Deno.test("importing question banks through the API and the CLI", async (t) => {
  const ctx = await createTestContext();
  try {
    const owner = await makeUserAndLogin(ctx, { role: "instructor" });
    const rival = await makeUserAndLogin(ctx, { role: "instructor" });
    const student = await makeUserAndLogin(ctx);
    const program = await makeProgram(ctx, owner.user, {
      title: "World Facts",
    });
    const rivalProgram = await makeProgram(ctx, rival.user);

    await t.step(
      "a GIFT file becomes questions and a new quiz; importing it again creates nothing",
      async () => {
        const first = await upload(ctx, owner.token, {
          programId: program.id,
          newQuizTitle: "Capitals quiz",
        }, GIFT_BANK);
        assert.equal(first.status, 201, JSON.stringify(first.body));
        assert.equal(first.body.format, "gift", "detected from the content");
        assert.equal(first.body.created, 4);
        assert.equal(first.body.skipped, 0);
        assert.equal(first.body.quiz.title, "Capitals quiz");
        const rows = await ctx.deps.db.select().from(questions).where(
          eq(questions.programId, program.id),
        );
        assert.deepEqual(
          rows.map((row) => row.type).sort(),
          ["numerical", "short_answer", "single_choice", "true_false"],
        );
        assert.ok(rows.every((row) => row.category === "Geography/Capitals"));
        const attached = await ctx.deps.db.select().from(quizQuestions).where(
          eq(quizQuestions.quizId, first.body.quiz.id),
        ).orderBy(quizQuestions.position);
        assert.equal(attached.length, 4);

        const again = await upload(ctx, owner.token, {
          programId: program.id,
          quizId: first.body.quiz.id,
        }, GIFT_BANK);
        assert.equal(again.status, 201);
        assert.equal(again.body.created, 0);
        assert.equal(again.body.skipped, 4);
        assert.equal(await questionCount(ctx, program.id), 4);
        const stillAttached = await ctx.deps.db.select({ n: count() }).from(
          quizQuestions,
        ).where(eq(quizQuestions.quizId, first.body.quiz.id));
        assert.equal(stillAttached[0]!.n, 4, "no question attached twice");
      },
    );

    await t.step(
      "the raw body works too, with the options in the query; JSON is detected",
      async () => {
        const res = await api(
          ctx,
          "POST",
          `/api/quizzes/import?programId=${program.id}`,
          {
            token: owner.token,
            body: JSON_BANK,
            headers: { "Content-Type": "application/json" },
          },
        );
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.format, "json");
        assert.equal(res.body.created, 2);
        assert.equal(res.body.quiz, null);
      },
    );

    await t.step(
      "all or nothing: an error in the last question imports nothing and names its line",
      async () => {
        const before = await questionCount(ctx, program.id);
        const broken = `${GIFT_BANK.replace("Q1::", "R1::")}
::Bad:: Which is right? {~a ~b}
`;
        const res = await upload(ctx, owner.token, {
          programId: program.id,
          newQuizTitle: "Never made",
        }, broken);
        assert.equal(res.status, 422);
        assert.equal(res.body.error.code, "IMPORT_FAILED");
        const errors = res.body.error.details.errors;
        assert.equal(errors.length, 1);
        assert.equal(errors[0].location, "line 12");
        assert.equal(await questionCount(ctx, program.id), before);
        const made = await ctx.deps.db.select().from(quizzes).where(
          eq(quizzes.title, "Never made"),
        );
        assert.equal(made.length, 0);
      },
    );

    await t.step(
      "JSON errors name the question and the field, all of them",
      async () => {
        const res = await upload(
          ctx,
          owner.token,
          {
            programId: program.id,
            format: "json",
          },
          JSON.stringify([
            {
              type: "single_choice",
              text: "ok?",
              choices: [{ text: "a", weight: 1 }],
            },
            { type: "essay", text: "fine" },
            { type: "riddle", text: "?" },
          ]),
        );
        assert.equal(res.status, 422);
        const locations = res.body.error.details.errors.map((
          e: { location: string },
        ) => e.location);
        assert.deepEqual(locations, ["question 1", "question 3"]);
        assert.match(
          res.body.error.details.errors[0].message,
          /choices: Needs at least two choices/,
        );
      },
    );

    await t.step(
      "a dry run reports what would be created and writes nothing",
      async () => {
        const before = await questionCount(ctx, program.id);
        const res = await upload(ctx, owner.token, {
          programId: program.id,
          dryRun: "true",
          newQuizTitle: "Preview",
        }, GIFT_BANK.replace(/Q(\d)::/g, "P$1::"));
        assert.equal(res.status, 200);
        assert.equal(res.body.dryRun, true);
        assert.equal(res.body.created, 4);
        assert.deepEqual(res.body.quiz, { id: null, title: "Preview" });
        assert.equal(await questionCount(ctx, program.id), before);
      },
    );

    await t.step(
      "only the program's instructor or an admin may import",
      async () => {
        const foreign = await upload(ctx, rival.token, {
          programId: program.id,
        }, GIFT_BANK);
        assert.equal(foreign.status, 403);
        const learner = await upload(ctx, student.token, {
          programId: program.id,
        }, GIFT_BANK);
        assert.equal(learner.status, 403);
        const anonymous = await ctx.app.request("/api/quizzes/import", {
          method: "POST",
          body: multipart({ programId: program.id }, GIFT_BANK),
        });
        assert.equal(anonymous.status, 401);
        const otherQuiz = await upload(ctx, rival.token, {
          programId: rivalProgram.id,
          newQuizTitle: "Rival quiz",
        }, GIFT_BANK);
        assert.equal(otherQuiz.status, 201);
        const crossed = await upload(ctx, owner.token, {
          programId: program.id,
          quizId: otherQuiz.body.quiz.id,
        }, GIFT_BANK);
        assert.equal(
          crossed.status,
          404,
          "a quiz of another program is not found",
        );
      },
    );

    await t.step(
      "bad files: too large 413, not UTF-8 415, empty or unknown 422",
      async () => {
        const big = new Uint8Array(10 * 1024 * 1024 + 1).fill(0x61);
        assert.equal(
          (await upload(ctx, owner.token, { programId: program.id }, big))
            .status,
          413,
        );
        const latin1 = new Uint8Array([
          0x43,
          0x61,
          0x66,
          0xe9,
          0x7b,
          0x54,
          0x7d,
        ]);
        assert.equal(
          (await upload(ctx, owner.token, { programId: program.id }, latin1))
            .status,
          415,
        );
        const empty = await upload(
          ctx,
          owner.token,
          { programId: program.id },
          "",
        );
        assert.equal(empty.status, 422);
        const prose = await upload(
          ctx,
          owner.token,
          { programId: program.id },
          "Just some words.\n",
        );
        assert.equal(prose.status, 422);
        assert.equal(prose.body.error.code, "UNKNOWN_FORMAT");
        const badFormat = await upload(ctx, owner.token, {
          programId: program.id,
          format: "docx",
        }, GIFT_BANK);
        assert.equal(badFormat.status, 422);
        assert.ok(badFormat.body.error.details.fields.format);
      },
    );

    await t.step(
      "CLI: quizzes import from a file and from stdin, --json report, errors exit 1",
      async () => {
        const cli = (args: string[], stdin?: string) =>
          runCli(ctx.dataDir, args, stdin);
        const path = `${ctx.dataDir}/bank.gift`;
        await Deno.writeTextFile(
          path,
          "\uFEFF" +
            GIFT_BANK.replace(/Q(\d)::/g, "C$1::").replaceAll("\n", "\r\n"),
        );
        const report = JSON.parse(ok(
          await cli([
            "quizzes",
            "import",
            path,
            "--program",
            program.slug,
            "--new-quiz",
            "From the CLI",
            "--json",
          ]),
          "import --json",
        ));
        assert.equal(report.created, 4);
        assert.equal(report.format, "gift");
        assert.equal(report.quiz.title, "From the CLI");
        assert.deepEqual(report.errors, []);

        const human = ok(
          await cli([
            "quizzes",
            "import",
            "-",
            "--program",
            program.id,
            "--format",
            "json",
          ], JSON_BANK),
          "import from stdin",
        );
        assert.match(human, /json: created 0, skipped 2 already in the bank/);

        const failed = await cli(
          ["quizzes", "import", "-", "--program", program.id],
          "::A:: First {~x ~y}\n\n::B:: Second {=a ~b\n",
        );
        assert.equal(failed.code, 1);
        assert.match(failed.stderr, /error: line 1: /);
        assert.match(failed.stderr, /error: line 3: /);
        assert.match(failed.stderr, /2 errors: nothing was imported/);

        const dry = ok(
          await cli([
            "quizzes",
            "import",
            "-",
            "--program",
            program.id,
            "--dry-run",
          ], "::D1:: Dry? {T}\n"),
          "dry run",
        );
        assert.match(dry, /gift: would create 1, skipped 0/);
      },
    );

    await t.step(
      "the documented JSON Schema matches the importer's schema",
      async () => {
        assert.equal(
          await Deno.readTextFile(JSON_SCHEMA_PATH),
          questionBankJsonSchema(),
          "run: deno run --allow-write --allow-read --allow-env server/features/quizzes/json_schema.ts",
        );
      },
    );
  } finally {
    await ctx.close();
  }
});
