import assert from "node:assert/strict";
import { eq, inArray, sql } from "drizzle-orm";
import {
  certificates,
  enrollments,
  programs,
  questions,
  quizAttempts,
  quizQuestions,
  quizzes,
  users,
} from "../../../db/schema/mod.ts";
import { isEmpty, seedDemo } from "../../../server/seed/demo.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import { makeProgram, makeUser, PASSWORD } from "../../helpers/factories.ts";

type Report = Awaited<ReturnType<typeof seedDemo>>;

const PROGRAM_TITLES = [
  "Python Foundations",
  "Data Analysis with SQL",
  "Marketing for Small Schools",
];

/** `SELECT count(*)` of every table the database holds (FTS shadow tables included). */
async function tableCounts(ctx: TestContext): Promise<Record<string, number>> {
  const tables = await ctx.deps.db.all<{ name: string }>(
    sql`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    const [row] = await ctx.deps.db.all<{ n: number }>(
      sql.raw(`SELECT count(*) AS n FROM "${name.replaceAll('"', '""')}"`),
    );
    counts[name] = Number(row!.n);
  }
  return counts;
}

/** The demo programs by title, straight from the table. */
async function demoPrograms(ctx: TestContext) {
  const rows = await ctx.deps.db.select().from(programs).where(
    inArray(programs.title, PROGRAM_TITLES),
  );
  return new Map(rows.map((row) => [row.title, row]));
}

/** How many questions a bank file holds: GIFT `::title::` heads and Moodle XML question elements. */
async function questionsIn(file: string): Promise<number> {
  const text = await Deno.readTextFile(
    new URL(`../../../db/seed/${file}`, import.meta.url),
  );
  return file.endsWith(".gift")
    ? (text.match(/^::[^:]+::/gm) ?? []).length
    : (text.match(/<question type="(?!category)/g) ?? []).length;
}

Deno.test("seedDemo fills a fresh database with a living school, and a second run changes nothing", async (t) => {
  const ctx = await createTestContext();
  try {
    assert.equal(await isEmpty(ctx.deps), true, "a fresh database is empty");
    const first: Report = await seedDemo(ctx.deps);
    await ctx.deps.background.idle();
    assert.equal(await isEmpty(ctx.deps), false);

    await t.step("the report lists every account with a password, once", () => {
      const roles = first.accounts.map((a) => a.role);
      assert.equal(roles.filter((r) => r === "admin").length, 1);
      assert.equal(roles.filter((r) => r === "instructor").length, 2);
      assert.ok(
        roles.filter((r) => r === "student").length >= 3,
        `several students: ${roles.join(", ")}`,
      );
      assert.equal(
        new Set(first.accounts.map((a) => a.email)).size,
        first.accounts.length,
      );
      for (const account of first.accounts) {
        assert.equal(typeof account.password, "string", account.email);
        assert.ok(account.password!.length >= 8, account.email);
      }
      assert.ok(first.created.length > 0);
      for (const account of first.accounts) {
        assert.ok(
          first.created.includes(`account ${account.email}`),
          `created names ${account.email}`,
        );
      }
    });

    // Snapshot right after the first run, before any request adds sessions or view events.
    await t.step(
      "a second run changes no table and reports nothing new",
      async () => {
        const before = await tableCounts(ctx);
        assert.ok(Object.keys(before).length > 20, "every table is counted");
        assert.ok(before.users! >= 7 && before.questions! >= 13);
        const second = await seedDemo(ctx.deps);
        await ctx.deps.background.idle();
        const after = await tableCounts(ctx);
        assert.deepEqual(after, before);
        assert.deepEqual(second.created, []);
        assert.deepEqual(
          second.accounts.map((a) => [a.email, a.role]),
          first.accounts.map((a) => [a.email, a.role]),
        );
        for (const account of second.accounts) {
          assert.equal(account.password, null, account.email);
        }
      },
    );

    await t.step(
      "every reported password signs in through the API with its role",
      async () => {
        for (const account of first.accounts) {
          const res = await api(ctx, "POST", "/api/auth/login", {
            body: { email: account.email, password: account.password },
          });
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.equal(typeof res.body.token, "string");
          assert.equal(res.body.user.role, account.role, account.email);
        }
        const wrong = await api(ctx, "POST", "/api/auth/login", {
          body: { email: first.accounts[0]!.email, password: PASSWORD },
        });
        assert.equal(wrong.status, 401);
      },
    );

    await t.step(
      "three published programs in three categories, with modules and lessons",
      async () => {
        const res = await api(ctx, "GET", "/api/programs?limit=50");
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const listed = (res.body.programs as {
          id: string;
          title: string;
          status: string;
          category: unknown;
        }[]).filter((p) => PROGRAM_TITLES.includes(p.title));
        assert.deepEqual(
          listed.map((p) => p.title).sort(),
          [...PROGRAM_TITLES].sort(),
        );
        for (const program of listed) assert.equal(program.status, "published");
        const categories = new Set(
          listed.map((p) => JSON.stringify(p.category)),
        );
        assert.ok(categories.size >= 3, `categories: ${[...categories]}`);

        const instructors = new Set(
          first.accounts.filter((a) => a.role === "instructor").map((a) =>
            a.email
          ),
        );
        for (const program of listed) {
          const curriculum = await api(
            ctx,
            "GET",
            `/api/programs/${program.id}/curriculum`,
          );
          assert.equal(curriculum.status, 200, JSON.stringify(curriculum.body));
          const modules = curriculum.body.curriculum as {
            lessons: number;
            lessonList: { title: string }[];
          }[];
          assert.ok(modules.length >= 1, `${program.title} has modules`);
          for (const module of modules) {
            assert.ok(module.lessons >= 1, `${program.title}: lessons`);
            assert.equal(module.lessonList.length, module.lessons);
          }
        }
        const rows = await demoPrograms(ctx);
        const owners = await ctx.deps.db.select({ email: users.email }).from(
          users,
        ).where(
          inArray(users.id, [...rows.values()].map((p) => p.instructorId)),
        );
        for (const owner of owners) assert.ok(instructors.has(owner.email));
      },
    );

    await t.step(
      "the question banks came through the importer from both files",
      async () => {
        const rows = await demoPrograms(ctx);
        const python = rows.get("Python Foundations")!;
        const sqlProgram = rows.get("Data Analysis with SQL")!;
        const bankOf = (programId: string) =>
          ctx.deps.db.select().from(questions).where(
            eq(questions.programId, programId),
          );

        const gift = await bankOf(python.id);
        assert.equal(await questionsIn("python-basics.gift"), 8);
        assert.equal(gift.length, 8);
        assert.ok(gift.some((q) => q.category === "python/basics"));
        for (const q of gift) assert.match(q.category, /^python\//, q.text);
        assert.ok(gift.some((q) => q.title === "Print"));

        const xml = await bankOf(sqlProgram.id);
        assert.equal(await questionsIn("sql-essentials.xml"), 5);
        assert.equal(xml.length, 5);
        for (const q of xml) assert.equal(q.category, "sql/queries", q.text);
        assert.ok(xml.some((q) => q.title === "Select"));

        for (
          const [program, expected] of [[python, 8], [sqlProgram, 5]] as const
        ) {
          const quizRows = await ctx.deps.db.select().from(quizzes).where(
            eq(quizzes.programId, program.id),
          );
          assert.equal(quizRows.length, 1, `${program.title}: one quiz`);
          const [linked] = await ctx.deps.db.select({
            n: sql<number>`count(*)`,
          })
            .from(quizQuestions).where(
              eq(quizQuestions.quizId, quizRows[0]!.id),
            );
          assert.equal(
            linked!.n,
            expected,
            `${program.title}: questions in quiz`,
          );
        }
      },
    );

    await t.step(
      "learners are enrolled and two exam attempts are completed with a score",
      async () => {
        const rows = await demoPrograms(ctx);
        const ids = [...rows.values()].map((p) => p.id);
        const enrolled = await ctx.deps.db.select().from(enrollments).where(
          inArray(enrollments.programId, ids),
        );
        assert.ok(enrolled.length >= 4, `enrollments: ${enrolled.length}`);
        const students = new Set(
          (await ctx.deps.db.select({ id: users.id }).from(users).where(
            eq(users.role, "student"),
          )).map((u) => u.id),
        );
        for (const e of enrolled) assert.ok(students.has(e.userId));

        const attempts = await ctx.deps.db.select().from(quizAttempts).where(
          inArray(quizAttempts.programId, ids),
        );
        assert.equal(attempts.length, 2);
        assert.deepEqual(
          new Set(attempts.map((a) => a.programId)),
          new Set([
            rows.get("Python Foundations")!.id,
            rows.get("Data Analysis with SQL")!.id,
          ]),
        );
        for (const attempt of attempts) {
          assert.equal(attempt.status, "completed");
          assert.equal(attempt.mode, "exam");
          assert.notEqual(attempt.score, null);
          assert.ok(attempt.submittedAt instanceof Date);
          // The seed answers every question right.
          assert.equal(attempt.scorePercentage, 100, JSON.stringify(attempt));
          assert.equal(attempt.passed, true);
          assert.equal(attempt.incorrectCount, 0);
        }
      },
    );

    await t.step(
      "the reviews show on their programs, and in the rating",
      async () => {
        const rows = await demoPrograms(ctx);
        let total = 0;
        for (const program of rows.values()) {
          const res = await api(
            ctx,
            "GET",
            `/api/programs/${program.id}/reviews`,
          );
          assert.equal(res.status, 200, JSON.stringify(res.body));
          const list = res.body.reviews as { rating: number }[];
          assert.equal(res.body.totalReviews, list.length);
          total += list.length;
          const detail = await api(ctx, "GET", `/api/programs/${program.id}`);
          assert.equal(detail.status, 200, JSON.stringify(detail.body));
          assert.equal(detail.body.program.totalReviews, list.length);
          if (list.length === 0) {
            assert.equal(detail.body.program.rating, 0);
            continue;
          }
          const average = list.reduce((s, r) => s + r.rating, 0) / list.length;
          assert.equal(res.body.averageRating, Math.round(average * 10) / 10);
          assert.equal(
            detail.body.program.rating,
            Math.round(average * 10) / 10,
          );
          assert.ok(detail.body.program.rating > 0);
        }
        assert.equal(total, 2);
        const python = await api(
          ctx,
          "GET",
          `/api/programs/${rows.get("Python Foundations")!.id}/reviews`,
        );
        assert.equal(python.body.reviews.length, 1);
        assert.equal(python.body.reviews[0].rating, 5);
      },
    );

    await t.step(
      "the manually issued certificate verifies as valid",
      async () => {
        const issued = await ctx.deps.db.select().from(certificates);
        assert.equal(issued.length, 1);
        const certificate = issued[0]!;
        assert.equal(certificate.basis, "manual");
        const res = await api(
          ctx,
          "GET",
          `/api/certificates/verify/${encodeURIComponent(certificate.code)}`,
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.isValid, true);
        assert.equal(res.body.status, "valid");
        assert.equal(res.body.certificate.programTitle, "Python Foundations");
        assert.equal(res.body.certificate.verificationCode, certificate.code);
        const [holder] = await ctx.deps.db.select().from(users).where(
          eq(users.id, certificate.userId),
        );
        assert.equal(holder!.role, "student");
        assert.equal(res.body.certificate.recipientName, holder!.name);
      },
    );
  } finally {
    await ctx.close();
  }
});

Deno.test("seedDemo also works on a database that already has users and programs", async () => {
  const ctx = await createTestContext();
  try {
    const admin = await makeUser(ctx, {
      role: "admin",
      name: "Existing Admin",
    });
    const teacher = await makeUser(ctx, {
      role: "instructor",
      name: "Existing Teacher",
    });
    const learner = await makeUser(ctx, { name: "Existing Learner" });
    const own = await makeProgram(ctx, teacher, { title: "Existing Program" });
    assert.equal(await isEmpty(ctx.deps), false);

    const report = await seedDemo(ctx.deps);
    assert.ok(report.accounts.length >= 6);
    for (const account of report.accounts) {
      assert.equal(typeof account.password, "string", account.email);
    }
    const rows = await demoPrograms(ctx);
    assert.equal(rows.size, 3);
    const [attempts] = await ctx.deps.db.select({ n: sql<number>`count(*)` })
      .from(quizAttempts);
    assert.equal(attempts!.n, 2);
    assert.equal((await ctx.deps.db.select().from(certificates)).length, 1);

    // The accounts that were there are untouched and still sign in.
    for (const user of [admin, teacher, learner]) {
      const res = await api(ctx, "POST", "/api/auth/login", {
        body: { email: user.email, password: PASSWORD },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.user.role, user.role);
    }
    const [still] = await ctx.deps.db.select().from(programs).where(
      eq(programs.id, own.id),
    );
    assert.equal(still!.title, "Existing Program");
    assert.equal(still!.instructorId, teacher.id);

    const again = await seedDemo(ctx.deps);
    assert.deepEqual(again.created, []);
  } finally {
    await ctx.close();
  }
});
