import assert from "node:assert/strict";
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import {
  lessons,
  modules,
  notifications,
  programs,
  quizAttemptAnswers,
  quizAttempts,
  quizzes,
  reviews,
  users,
} from "../../../db/schema/mod.ts";
import { startAttempt } from "../../../server/features/quizzes/attempts.ts";
import { seedDemo } from "../../../server/seed/demo.ts";
import { createTestContext, type TestContext } from "../../helpers/context.ts";

const PYTHON = "Python Foundations";
const SQL_PROGRAM = "Data Analysis with SQL";
const KENJI = "kenji@demo.lectern.example";
const LINA = "lina@demo.lectern.example";

/** FTS5 keeps its index in shadow tables whose row counts follow merges, not rows. */
const FTS_SHADOW = /_(data|idx|docsize|config|content)$/;

/** `SELECT count(*)` of every table (FTS shadow tables left out; the FTS tables themselves in). */
async function tableCounts(ctx: TestContext): Promise<Record<string, number>> {
  const tables = await ctx.deps.db.all<{ name: string }>(
    sql`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    if (FTS_SHADOW.test(name)) continue;
    const [row] = await ctx.deps.db.all<{ n: number }>(
      sql.raw(`SELECT count(*) AS n FROM "${name.replaceAll('"', '""')}"`),
    );
    counts[name] = Number(row!.n);
  }
  return counts;
}

const without = (counts: Record<string, number>, names: string[]) =>
  Object.fromEntries(
    Object.entries(counts).filter(([name]) => !names.includes(name)),
  );

async function programByTitle(ctx: TestContext, title: string) {
  const [row] = await ctx.deps.db.select().from(programs).where(
    eq(programs.title, title),
  );
  assert.ok(row, title);
  return row;
}

async function userByEmail(ctx: TestContext, email: string) {
  const [row] = await ctx.deps.db.select().from(users).where(
    eq(users.email, email),
  );
  assert.ok(row, email);
  return row;
}

/** A program's curriculum as module title -> lesson titles and contents, in order. */
async function curriculumOf(ctx: TestContext, programId: string) {
  const rows = await ctx.deps.db.select({
    module: modules.title,
    title: lessons.title,
    content: lessons.contentMarkdown,
    html: lessons.contentHtml,
    minutes: lessons.estimatedMinutes,
  }).from(lessons).innerJoin(modules, eq(lessons.moduleId, modules.id)).where(
    eq(lessons.programId, programId),
  ).orderBy(asc(modules.position), asc(lessons.position));
  return rows.map(({ module, title, content, html, minutes }) => ({
    module,
    title,
    content,
    html,
    minutes,
  }));
}

Deno.test("a seed interrupted half-way (lessons and a review missing) is completed by the next run, and nothing else changes", async (t) => {
  const ctx = await createTestContext();
  try {
    await seedDemo(ctx.deps);
    await ctx.deps.background.idle();
    const python = await programByTitle(ctx, PYTHON);
    const sqlProgram = await programByTitle(ctx, SQL_PROGRAM);
    const kenji = await userByEmail(ctx, KENJI);
    const fullCurriculum = await curriculumOf(ctx, python.id);
    const baseline = await tableCounts(ctx);
    const programsBefore = await ctx.deps.db.select().from(programs).orderBy(
      asc(programs.id),
    );
    const [review] = await ctx.deps.db.select().from(reviews).where(and(
      eq(reviews.userId, kenji.id),
      eq(reviews.programId, sqlProgram.id),
    ));
    assert.ok(review, "the seed made kenji's review");
    const notificationsBefore = await ctx.deps.db.select({
      id: notifications.id,
    }).from(notifications);

    // What a run stopped half-way leaves: the last lesson of the first module missing, the second
    // module without lessons, and no review by kenji (with the rating it would have added).
    const [getting, control] = await ctx.deps.db.select().from(modules).where(
      eq(modules.programId, python.id),
    ).orderBy(asc(modules.position));
    assert.equal(getting?.title, "Getting started");
    assert.equal(control?.title, "Control flow");
    const gone = await ctx.deps.db.delete(lessons).where(and(
      eq(lessons.moduleId, getting.id),
      eq(lessons.title, "Numbers and text"),
    )).returning();
    assert.equal(gone.length, 1);
    const goneToo = await ctx.deps.db.delete(lessons).where(
      eq(lessons.moduleId, control.id),
    ).returning();
    assert.equal(goneToo.length, 2);
    await ctx.deps.db.delete(reviews).where(eq(reviews.id, review.id));
    await ctx.deps.db.update(programs).set({
      ratingSum: sql`${programs.ratingSum} - ${review.rating}`,
      reviewCount: sql`${programs.reviewCount} - 1`,
    }).where(eq(programs.id, sqlProgram.id));
    assert.equal((await curriculumOf(ctx, python.id)).length, 1);

    const again = await seedDemo(ctx.deps);
    await ctx.deps.background.idle();

    await t.step("the report lists exactly what was made again", () => {
      assert.deepEqual(again.created, [
        `3 lessons of ${PYTHON}`,
        `review by ${KENJI} of ${SQL_PROGRAM}`,
      ]);
      for (const account of again.accounts) {
        assert.equal(account.password, null, account.email);
      }
    });

    await t.step(
      "the missing lessons are back, in their modules and order",
      async () => {
        assert.deepEqual(await curriculumOf(ctx, python.id), fullCurriculum);
        const tutorIndex = await ctx.deps.db.all<{ title: string }>(
          sql`SELECT title FROM lesson_search WHERE program_id = ${python.id} ORDER BY title`,
        );
        assert.deepEqual(
          tutorIndex.map((row) => row.title),
          fullCurriculum.map((lesson) => lesson.title).sort(),
        );
      },
    );

    await t.step(
      "kenji's review is back with its rating and comment",
      async () => {
        const [back] = await ctx.deps.db.select().from(reviews).where(and(
          eq(reviews.userId, kenji.id),
          eq(reviews.programId, sqlProgram.id),
        ));
        assert.ok(back);
        assert.notEqual(back.id, review.id, "a new review");
        assert.equal(back.rating, review.rating);
        assert.equal(back.comment, review.comment);
      },
    );

    await t.step("every other table has the same number of rows", async () => {
      const after = await tableCounts(ctx);
      const made = [
        "lessons",
        "lesson_search",
        "reviews",
        "notifications",
        "notification_deliveries",
        "outbox_messages",
      ];
      assert.deepEqual(without(after, made), without(baseline, made));
      assert.equal(after.lessons, baseline.lessons);
      assert.equal(after.lesson_search, baseline.lesson_search);
      assert.equal(after.reviews, baseline.reviews);
      // The programs themselves, ratings included, are as the full first run left them.
      const programsAfter = await ctx.deps.db.select().from(programs).orderBy(
        asc(programs.id),
      );
      assert.deepEqual(programsAfter, programsBefore);
      // The only new notification is the instructor's notice of the review made again.
      const fresh = await ctx.deps.db.select().from(notifications).where(
        sql`${notifications.id} NOT IN ${
          notificationsBefore.length > 0
            ? notificationsBefore.map((row) => row.id)
            : [""]
        }`,
      );
      assert.deepEqual(
        fresh.map((row) => [row.type, row.userId]),
        [["new_review", sqlProgram.instructorId]],
      );
    });

    await t.step("a third run has nothing left to do", async () => {
      const before = await tableCounts(ctx);
      const third = await seedDemo(ctx.deps);
      await ctx.deps.background.idle();
      assert.deepEqual(third.created, []);
      assert.deepEqual(await tableCounts(ctx), before);
    });
  } finally {
    await ctx.close();
  }
});

Deno.test("an exam attempt a stopped seed left open is submitted by the next run", async () => {
  const ctx = await createTestContext();
  try {
    await seedDemo(ctx.deps);
    await ctx.deps.background.idle();
    const python = await programByTitle(ctx, PYTHON);
    const lina = await userByEmail(ctx, LINA);
    const [quiz] = await ctx.deps.db.select().from(quizzes).where(
      eq(quizzes.programId, python.id),
    );
    assert.ok(quiz);
    const seeded = await ctx.deps.db.select().from(quizAttempts).where(and(
      eq(quizAttempts.userId, lina.id),
      eq(quizAttempts.quizId, quiz.id),
    ));
    assert.equal(seeded.length, 1);
    assert.equal(seeded[0]!.status, "completed");

    // The run stopped after startAttempt, before submitAttempt.
    await ctx.deps.db.delete(quizAttemptAnswers).where(
      inArray(quizAttemptAnswers.attemptId, seeded.map((row) => row.id)),
    );
    await ctx.deps.db.delete(quizAttempts).where(
      inArray(quizAttempts.id, seeded.map((row) => row.id)),
    );
    const started = await startAttempt(ctx.deps, lina, quiz.id);
    assert.equal(started.resumed, false);
    assert.equal(started.attempt.status, "in_progress");
    const baseline = await tableCounts(ctx);

    const again = await seedDemo(ctx.deps);
    await ctx.deps.background.idle();
    assert.deepEqual(again.created, [`exam attempt by ${LINA} in ${PYTHON}`]);

    const attempts = await ctx.deps.db.select().from(quizAttempts).where(and(
      eq(quizAttempts.userId, lina.id),
      eq(quizAttempts.quizId, quiz.id),
    ));
    assert.equal(
      attempts.length,
      1,
      "the open attempt was resumed, not doubled",
    );
    const [attempt] = attempts;
    assert.equal(attempt!.id, started.attempt.id);
    assert.equal(attempt!.status, "completed");
    assert.ok(attempt!.submittedAt instanceof Date);
    assert.equal(attempt!.scorePercentage, 100);
    assert.equal(attempt!.passed, true);
    const answered = await ctx.deps.db.select().from(quizAttemptAnswers).where(
      eq(quizAttemptAnswers.attemptId, attempt!.id),
    );
    assert.equal(answered.length, started.attempt.snapshot.length);

    const after = await tableCounts(ctx);
    assert.equal(after.quiz_attempts, baseline.quiz_attempts);

    const third = await seedDemo(ctx.deps);
    assert.deepEqual(third.created, []);
    const [still] = await ctx.deps.db.select().from(quizAttempts).where(
      eq(quizAttempts.id, attempt!.id),
    );
    assert.equal(still!.status, "completed");
  } finally {
    await ctx.close();
  }
});
