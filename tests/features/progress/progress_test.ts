import assert from "node:assert/strict";
import { and, eq } from "drizzle-orm";
import {
  enrollments,
  learningDays,
  lessonProgress,
  type Program,
  type User,
  users,
} from "../../../db/schema/mod.ts";
import { startSession } from "../../../server/features/auth/service.ts";
import { createUser } from "../../../server/features/users/service.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import {
  endAccess,
  enroll,
  makeProgram,
  uniqueEmail,
} from "../../helpers/factories.ts";

type Account = { user: User; token: string };
interface Built {
  program: Program;
  modules: string[];
  /** Lessons in order: id, title and module. */
  lessons: { id: string; title: string; moduleId: string }[];
}

const DAY_MS = 86_400_000;
/** The UTC day `n` days before now, as `YYYY-MM-DD`. */
const daysAgo = (n: number) =>
  new Date(Date.now() - n * DAY_MS).toISOString().slice(0, 10);
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const STATS_KEYS = [
  "averageQuizScore",
  "certificatesEarned",
  "currentStreak",
  "learningTimeMinutes",
  "longestStreak",
  "programsCompleted",
  "programsEnrolled",
  "quizzesPassedPercentage",
  "quizzesTaken",
  "totalPoints",
];
const PROGRESS_KEYS = [
  "completedAt",
  "completionPercentage",
  "enrolledAt",
  "lastAccessedAt",
  "lessonsCompleted",
  "lessonsTotal",
  "programId",
  "quizzesTaken",
  "quizzesTotal",
  "resumeLesson",
  "status",
  "timeSpentMinutes",
];
const ENROLLED_PROGRAM_KEYS = [
  "completedAt",
  "enrolledAt",
  "id",
  "instructor",
  "lastAccessedAt",
  "progress",
  "slug",
  "status",
  "thumbnail",
  "title",
];

async function account(
  ctx: TestContext,
  label: string,
  role: "student" | "instructor" | "admin" = "student",
): Promise<Account> {
  const user = await createUser(ctx.deps.db, {
    email: uniqueEmail(label.toLowerCase().replaceAll(" ", "-")),
    name: label,
    password: null,
    role,
    emailVerified: true,
  });
  const { token } = await startSession(ctx.deps, user, {});
  return { user, token };
}

/** A published program whose curriculum its owner builds via the API: lessons per module. */
async function build(
  ctx: TestContext,
  owner: Account,
  title: string,
  lessonsPerModule: number[],
): Promise<Built> {
  const program = await makeProgram(ctx, owner.user, {
    title,
    level: "Beginner",
  });
  const built: Built = { program, modules: [], lessons: [] };
  for (const [m, count] of lessonsPerModule.entries()) {
    const module = await api(
      ctx,
      "POST",
      `/api/programs/${program.id}/modules`,
      {
        token: owner.token,
        body: { title: `${title} module ${m + 1}` },
      },
    );
    assert.equal(module.status, 201, JSON.stringify(module.body));
    const moduleId = module.body.module.id as string;
    built.modules.push(moduleId);
    for (let l = 0; l < count; l++) {
      const lessonTitle = `${title} lesson ${m + 1}.${l + 1}`;
      const lesson = await api(
        ctx,
        "POST",
        `/api/programs/${program.id}/modules/${moduleId}/lessons`,
        { token: owner.token, body: { title: lessonTitle, content: "Body" } },
      );
      assert.equal(lesson.status, 201, JSON.stringify(lesson.body));
      built.lessons.push({
        id: lesson.body.lesson.id,
        title: lessonTitle,
        moduleId,
      });
    }
  }
  return built;
}

const update = (
  ctx: TestContext,
  who: Account,
  body: Record<string, unknown>,
) => api(ctx, "POST", "/api/progress/update", { token: who.token, body });

async function progressRow(ctx: TestContext, userId: string, lessonId: string) {
  const [row] = await ctx.deps.db.select().from(lessonProgress).where(and(
    eq(lessonProgress.userId, userId),
    eq(lessonProgress.lessonId, lessonId),
  ));
  return row;
}

async function enrollmentOf(
  ctx: TestContext,
  userId: string,
  programId: string,
) {
  const [row] = await ctx.deps.db.select().from(enrollments).where(and(
    eq(enrollments.userId, userId),
    eq(enrollments.programId, programId),
  ));
  return row;
}

async function daysOf(ctx: TestContext, userId: string) {
  return (await ctx.deps.db.select().from(learningDays).where(
    eq(learningDays.userId, userId),
  )).map((row) => row.day).sort();
}

async function stats(ctx: TestContext, who: Account) {
  const res = await api(ctx, "GET", "/api/users/stats", { token: who.token });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.success, true);
  assert.deepEqual(Object.keys(res.body.stats).sort(), STATS_KEYS);
  return res.body.stats;
}

Deno.test("learning progress, streaks and the learner's dashboards", async (t) => {
  const ctx = await createTestContext();
  try {
    const owner = await account(ctx, "Owner Olga", "instructor");
    const admin = await account(ctx, "Admin Abe", "admin");
    // P: two modules, three lessons (1.1, 1.2 in module 1; 2.1 in module 2).
    const p = await build(ctx, owner, "Program P", [2, 1]);
    const q = await build(ctx, owner, "Program Q", [1]);
    const [l1, l2, l3] = p.lessons as [
      Built["lessons"][0],
      Built["lessons"][0],
      Built["lessons"][0],
    ];
    const ann = await account(ctx, "Ann");
    await enroll(ctx, ann.user.id, p.program.id, "bundle");
    const ben = await account(ctx, "Ben");
    await enroll(ctx, ben.user.id, p.program.id, "documentation");

    await t.step(
      "time spent on a lesson accumulates across updates",
      async () => {
        const first = await update(ctx, ann, {
          programId: p.program.id,
          lessonId: l1.id,
          timeSpentSeconds: 90,
        });
        assert.equal(first.status, 200, JSON.stringify(first.body));
        assert.equal(first.body.success, true);
        assert.equal(first.body.progress.timeSpentMinutes, 1);
        assert.equal(first.body.progress.status, "in_progress");
        assert.equal(first.body.progress.lessonsCompleted, 0);
        const second = await update(ctx, ann, {
          programId: p.program.id,
          lessonId: l1.id,
          timeSpentSeconds: 60,
        });
        assert.equal(second.status, 200);
        assert.equal(second.body.progress.timeSpentMinutes, 2);
        const row = await progressRow(ctx, ann.user.id, l1.id);
        assert.equal(row!.timeSpentSeconds, 150);
        assert.equal(row!.completedAt, null);
        assert.ok(row!.lastAccessedAt >= row!.firstAccessedAt);
        // No time at all is a visit: it counts as access but adds nothing.
        const visit = await update(ctx, ann, {
          programId: p.program.id,
          lessonId: l1.id,
        });
        assert.equal(visit.status, 200);
        assert.equal(
          (await progressRow(ctx, ann.user.id, l1.id))!.timeSpentSeconds,
          150,
        );
      },
    );

    await t.step(
      "timeSpentSeconds over 3600, negative, fractional or not a number is 422 and stores nothing",
      async () => {
        const bad: unknown[] = [3601, -1, 1.5, "60", null];
        for (const timeSpentSeconds of bad) {
          const res = await update(ctx, ben, {
            programId: p.program.id,
            lessonId: l1.id,
            timeSpentSeconds,
          });
          assert.equal(
            res.status,
            422,
            `${timeSpentSeconds}: ${JSON.stringify(res.body)}`,
          );
          assert.equal(res.body.error.code, "VALIDATION_FAILED");
        }
        const unknownField = await update(ctx, ben, {
          programId: p.program.id,
          lessonId: l1.id,
          score: 100,
        });
        assert.equal(unknownField.status, 422);
        const notBoolean = await update(ctx, ben, {
          programId: p.program.id,
          lessonId: l1.id,
          completed: "yes",
        });
        assert.equal(notBoolean.status, 422);
        assert.equal(await progressRow(ctx, ben.user.id, l1.id), undefined);
        assert.deepEqual(await daysOf(ctx, ben.user.id), []);
        const enrollment = await enrollmentOf(ctx, ben.user.id, p.program.id);
        assert.equal(enrollment!.lastLessonId, null);
        assert.equal(enrollment!.lastAccessedAt, null);

        const max = await update(ctx, ben, {
          programId: p.program.id,
          lessonId: l1.id,
          timeSpentSeconds: 3600,
        });
        assert.equal(max.status, 200, "exactly an hour is allowed");
        assert.equal(max.body.progress.timeSpentMinutes, 60);
      },
    );

    await t.step("concurrent updates add up exactly", async () => {
      const before =
        (await progressRow(ctx, ben.user.id, l1.id))!.timeSpentSeconds;
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          update(ctx, ben, {
            programId: p.program.id,
            lessonId: l1.id,
            timeSpentSeconds: 60,
          })),
      );
      assert.deepEqual(results.map((r) => r.status), Array(10).fill(200));
      assert.equal(
        (await progressRow(ctx, ben.user.id, l1.id))!.timeSpentSeconds,
        before + 600,
      );
    });

    await t.step(
      "a lesson of another program (or an unknown one) is 404",
      async () => {
        const other = await update(ctx, ann, {
          programId: p.program.id,
          lessonId: q.lessons[0]!.id,
          timeSpentSeconds: 10,
        });
        assert.equal(other.status, 404, JSON.stringify(other.body));
        assert.equal(other.body.error.code, "NOT_FOUND");
        assert.equal(
          await progressRow(ctx, ann.user.id, q.lessons[0]!.id),
          undefined,
        );
        assert.equal(
          await enrollmentOf(ctx, ann.user.id, q.program.id),
          undefined,
        );
        const unknown = await update(ctx, ann, {
          programId: p.program.id,
          lessonId: "01ZZZZZZZZZZZZZZZZZZZZZZZZ",
        });
        assert.equal(unknown.status, 404);
        const noProgram = await update(ctx, ann, {
          programId: "01ZZZZZZZZZZZZZZZZZZZZZZZZ",
          lessonId: l1.id,
        });
        assert.equal(noProgram.status, 404);
        const anonymous = await api(ctx, "POST", "/api/progress/update", {
          body: { programId: p.program.id, lessonId: l1.id },
        });
        assert.equal(anonymous.status, 401);
      },
    );

    await t.step(
      "without documentation access it is 402 PAYMENT_REQUIRED",
      async () => {
        const cat = await account(ctx, "Cat");
        await enroll(ctx, cat.user.id, p.program.id, "chatbot");
        const chatbotOnly = await update(ctx, cat, {
          programId: p.program.id,
          lessonId: l1.id,
          timeSpentSeconds: 30,
        });
        assert.equal(chatbotOnly.status, 402, JSON.stringify(chatbotOnly.body));
        assert.equal(chatbotOnly.body.error.code, "PAYMENT_REQUIRED");
        assert.equal(chatbotOnly.body.error.details.feature, "documentation");
        assert.equal(await progressRow(ctx, cat.user.id, l1.id), undefined);

        const dan = await account(ctx, "Dan");
        const nothing = await update(ctx, dan, {
          programId: p.program.id,
          lessonId: l1.id,
        });
        assert.equal(nothing.status, 402);
        assert.equal(
          await enrollmentOf(ctx, dan.user.id, p.program.id),
          undefined,
          "no enrollment is created",
        );
        assert.deepEqual(await daysOf(ctx, dan.user.id), []);

        const refunded = await account(ctx, "Refunded Rita");
        await enroll(ctx, refunded.user.id, p.program.id, "bundle");
        await endAccess(ctx, refunded.user.id, p.program.id, "refunded");
        const afterRefund = await update(ctx, refunded, {
          programId: p.program.id,
          lessonId: l1.id,
        });
        assert.equal(afterRefund.status, 402);
      },
    );

    await t.step(
      "the owner and admins without an enrollment get 403 NOT_ENROLLED",
      async () => {
        for (const who of [owner, admin]) {
          const res = await update(ctx, who, {
            programId: p.program.id,
            lessonId: l1.id,
            timeSpentSeconds: 10,
          });
          assert.equal(res.status, 403, JSON.stringify(res.body));
          assert.equal(res.body.error.code, "NOT_ENROLLED");
          assert.equal(
            await enrollmentOf(ctx, who.user.id, p.program.id),
            undefined,
          );
          assert.equal(await progressRow(ctx, who.user.id, l1.id), undefined);
        }
      },
    );

    let completedAt = "";
    await t.step(
      "completing every lesson completes the enrollment: 100%, completedAt set",
      async () => {
        const one = await update(ctx, ann, {
          programId: p.program.id,
          lessonId: l1.id,
          completed: true,
        });
        assert.equal(one.status, 200);
        assert.equal(one.body.progress.lessonsCompleted, 1);
        assert.equal(one.body.progress.completionPercentage, 33);
        const firstCompletion =
          (await progressRow(ctx, ann.user.id, l1.id))!.completedAt;
        assert.ok(firstCompletion instanceof Date);
        const two = await update(ctx, ann, {
          programId: p.program.id,
          lessonId: l2.id,
          completed: true,
          timeSpentSeconds: 120,
        });
        assert.equal(two.body.progress.completionPercentage, 67);
        assert.equal(two.body.progress.status, "in_progress");
        assert.equal(two.body.progress.completedAt, null);
        const three = await update(ctx, ann, {
          programId: p.program.id,
          lessonId: l3.id,
          completed: true,
          timeSpentSeconds: 30,
        });
        assert.equal(three.status, 200);
        const progress = three.body.progress;
        assert.equal(progress.status, "completed");
        assert.equal(progress.completionPercentage, 100);
        assert.equal(progress.lessonsCompleted, 3);
        assert.equal(progress.lessonsTotal, 3);
        assert.equal(typeof progress.completedAt, "string");
        completedAt = progress.completedAt;
        const row = await enrollmentOf(ctx, ann.user.id, p.program.id);
        assert.equal(row!.status, "completed");
        assert.equal(row!.completedAt!.toISOString(), completedAt);

        await delay(3);
        const again = await update(ctx, ann, {
          programId: p.program.id,
          lessonId: l1.id,
          completed: true,
        });
        assert.equal(
          again.body.progress.completedAt,
          completedAt,
          "the first completion stays",
        );
        assert.equal(
          (await progressRow(ctx, ann.user.id, l1.id))!.completedAt!.getTime(),
          firstCompletion!.getTime(),
          "completing a lesson twice keeps its first completion time",
        );
      },
    );

    await t.step(
      "completed:false un-completes a lesson: back to in_progress",
      async () => {
        const res = await update(ctx, ann, {
          programId: p.program.id,
          lessonId: l2.id,
          completed: false,
        });
        assert.equal(res.status, 200);
        assert.equal(res.body.progress.status, "in_progress");
        assert.equal(res.body.progress.completionPercentage, 67);
        assert.equal(res.body.progress.lessonsCompleted, 2);
        assert.equal(res.body.progress.completedAt, null);
        assert.equal(
          (await progressRow(ctx, ann.user.id, l2.id))!.completedAt,
          null,
        );
        assert.equal(
          (await enrollmentOf(ctx, ann.user.id, p.program.id))!.completedAt,
          null,
        );
        const redo = await update(ctx, ann, {
          programId: p.program.id,
          lessonId: l2.id,
          completed: true,
        });
        assert.equal(redo.body.progress.status, "completed");
        assert.equal(redo.body.progress.completionPercentage, 100);
      },
    );

    await t.step(
      "GET /api/programs/:id/progress: 002's shape, resumeLesson is the last lesson touched",
      async () => {
        await delay(3);
        const touch = await update(ctx, ann, {
          programId: p.program.id,
          lessonId: l3.id,
          timeSpentSeconds: 0,
        });
        assert.equal(touch.status, 200);
        const res = await api(
          ctx,
          "GET",
          `/api/programs/${p.program.id}/progress`,
          {
            token: ann.token,
          },
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        const progress = res.body.progress;
        assert.deepEqual(Object.keys(progress).sort(), PROGRESS_KEYS);
        assert.equal(progress.programId, p.program.id);
        assert.equal(progress.status, "completed");
        assert.equal(progress.completionPercentage, 100);
        assert.equal(progress.lessonsCompleted, 3);
        assert.equal(progress.lessonsTotal, 3);
        assert.equal(progress.quizzesTaken, 0);
        assert.equal(progress.quizzesTotal, 0);
        // 150 (lesson 1.1) + 120 (1.2) + 30 (2.1) seconds.
        assert.equal(progress.timeSpentMinutes, 5);
        const row = await enrollmentOf(ctx, ann.user.id, p.program.id);
        assert.equal(
          progress.lastAccessedAt,
          row!.lastAccessedAt!.toISOString(),
        );
        assert.equal(progress.enrolledAt, row!.createdAt.toISOString());
        assert.deepEqual(progress.resumeLesson, {
          id: l3.id,
          title: l3.title,
          moduleId: p.modules[1],
        });
        assert.equal(typeof progress.completedAt, "string");
        assert.deepEqual(
          touch.body.progress,
          progress,
          "the update returns the same view",
        );

        const resumeAfterL1 = await update(ctx, ann, {
          programId: p.program.id,
          lessonId: l1.id,
        });
        assert.deepEqual(resumeAfterL1.body.progress.resumeLesson, {
          id: l1.id,
          title: l1.title,
          moduleId: p.modules[0],
        });

        const stranger = await account(ctx, "Stranger");
        const notEnrolled = await api(
          ctx,
          "GET",
          `/api/programs/${p.program.id}/progress`,
          {
            token: stranger.token,
          },
        );
        assert.equal(notEnrolled.status, 404);
        assert.equal(notEnrolled.body.error.code, "NOT_FOUND");
        const anonymous = await api(
          ctx,
          "GET",
          `/api/programs/${p.program.id}/progress`,
        );
        assert.equal(anonymous.status, 401);
        const missing = await api(
          ctx,
          "GET",
          "/api/programs/01ZZZZZZZZZZZZZZZZZZZZZZZZ/progress",
          {
            token: ann.token,
          },
        );
        assert.equal(missing.status, 404);
      },
    );

    await t.step(
      "GET /api/programs/:id shows isEnrolled and userProgress",
      async () => {
        const mine = await api(ctx, "GET", `/api/programs/${p.program.id}`, {
          token: ann.token,
        });
        assert.equal(mine.status, 200);
        assert.equal(mine.body.isEnrolled, true);
        const progress = await api(
          ctx,
          "GET",
          `/api/programs/${p.program.id}/progress`,
          {
            token: ann.token,
          },
        );
        assert.deepEqual(mine.body.userProgress, progress.body.progress);
        const bySlug = await api(
          ctx,
          "GET",
          `/api/programs/${p.program.slug}`,
          {
            token: ann.token,
          },
        );
        assert.equal(bySlug.body.isEnrolled, true);
        assert.equal(bySlug.body.userProgress.completionPercentage, 100);

        const stranger = await account(ctx, "Passer-by");
        const theirs = await api(ctx, "GET", `/api/programs/${p.program.id}`, {
          token: stranger.token,
        });
        assert.equal(theirs.body.isEnrolled, false);
        assert.equal(theirs.body.userProgress, null);
        const anonymous = await api(
          ctx,
          "GET",
          `/api/programs/${p.program.id}`,
        );
        assert.equal(anonymous.body.isEnrolled, false);
        assert.equal(anonymous.body.userProgress, null);
      },
    );

    await t.step("streaks count consecutive UTC learning days", async () => {
      const insertDays = async (userId: string, offsets: number[]) => {
        await ctx.deps.db.insert(learningDays).values(
          offsets.map((n) => ({ userId, day: daysAgo(n) })),
        );
      };
      // Today, yesterday, 2 days ago, and an older run of 5 (10 to 14 days ago).
      const sam = await account(ctx, "Sam");
      await insertDays(sam.user.id, [0, 1, 2, 10, 11, 12, 13, 14]);
      const samStats = await stats(ctx, sam);
      assert.equal(samStats.currentStreak, 3);
      assert.equal(samStats.longestStreak, 5);
      const samProfile = await api(ctx, "GET", "/api/users/profile", {
        token: sam.token,
      });
      assert.equal(samProfile.body.user.stats.streak, 3);

      // A run that ended yesterday is still current.
      const uma = await account(ctx, "Uma");
      await insertDays(uma.user.id, [1, 2]);
      const umaStats = await stats(ctx, uma);
      assert.equal(umaStats.currentStreak, 2);
      assert.equal(umaStats.longestStreak, 2);

      // A run that ended 2 days ago is over.
      const tia = await account(ctx, "Tia");
      await insertDays(tia.user.id, [2, 3, 4]);
      const tiaStats = await stats(ctx, tia);
      assert.equal(tiaStats.currentStreak, 0);
      assert.equal(tiaStats.longestStreak, 3);

      // A progress update today adds today (once, however many updates).
      await enroll(ctx, tia.user.id, p.program.id, "bundle");
      for (let i = 0; i < 3; i++) {
        const res = await update(ctx, tia, {
          programId: p.program.id,
          lessonId: l1.id,
          timeSpentSeconds: 5,
        });
        assert.equal(res.status, 200);
      }
      assert.deepEqual(await daysOf(ctx, tia.user.id), [
        daysAgo(4),
        daysAgo(3),
        daysAgo(2),
        daysAgo(0),
      ]);
      const after = await stats(ctx, tia);
      assert.equal(after.currentStreak, 1);
      assert.equal(after.longestStreak, 3);

      // Nobody who never learned has a streak.
      const newcomer = await account(ctx, "Newcomer");
      const none = await stats(ctx, newcomer);
      assert.equal(none.currentStreak, 0);
      assert.equal(none.longestStreak, 0);
    });

    await t.step("GET /api/users/stats in 002's shape", async () => {
      const annStats = await stats(ctx, ann);
      assert.deepEqual(annStats, {
        programsEnrolled: 1,
        programsCompleted: 1,
        quizzesTaken: 0,
        quizzesPassedPercentage: 0,
        certificatesEarned: 0,
        totalPoints: 30,
        currentStreak: 1,
        longestStreak: 1,
        learningTimeMinutes: 5,
        averageQuizScore: 0,
      });
      // Ben: 3600 + 600 seconds on lesson 1.1, nothing completed.
      const benStats = await stats(ctx, ben);
      assert.equal(benStats.learningTimeMinutes, 70);
      assert.equal(benStats.totalPoints, 0);
      assert.equal(benStats.programsEnrolled, 1);
      assert.equal(benStats.programsCompleted, 0);
      const anonymous = await api(ctx, "GET", "/api/users/stats");
      assert.equal(anonymous.status, 401);
    });

    await t.step("GET /api/users/profile carries the stats", async () => {
      const res = await api(ctx, "GET", "/api/users/profile", {
        token: ann.token,
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.user.stats, {
        programsEnrolled: 1,
        quizzesTaken: 0,
        certificatesEarned: 0,
        totalPoints: 30,
        streak: 1,
      });
    });

    // Eve: four programs enrolled on different days, then some activity.
    const eve = await account(ctx, "Eve");
    const r = await build(ctx, owner, "Program R", [2]);
    const w = await build(ctx, owner, "Program W", [1]);
    await ctx.deps.db.update(users).set({
      avatarUrl: "https://cdn.test/olga.png",
    }).where(
      eq(users.id, owner.user.id),
    );
    const enrolledDaysAgo: [Built, number][] = [[p, 4], [q, 3], [r, 2], [w, 1]];
    for (const [built, ago] of enrolledDaysAgo) {
      await enroll(ctx, eve.user.id, built.program.id, "bundle");
      const at = new Date(Date.now() - ago * DAY_MS);
      await ctx.deps.db.update(enrollments).set({
        createdAt: at,
        updatedAt: at,
      }).where(and(
        eq(enrollments.userId, eve.user.id),
        eq(enrollments.programId, built.program.id),
      ));
    }
    const enrolledList = async (query = "") => {
      const res = await api(
        ctx,
        "GET",
        `/api/users/enrolled-programs${query}`,
        {
          token: eve.token,
        },
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res;
    };
    const ids = (list: { id: string }[]) => list.map((item) => item.id);

    await t.step(
      "GET /api/users/enrolled-programs: 002's shape, most recent activity first",
      async () => {
        const before = await enrolledList();
        assert.deepEqual(
          ids(before.body.programs),
          [w, r, q, p].map((b) => b.program.id),
          "without activity, newest enrollment first",
        );
        const done = await update(ctx, eve, {
          programId: q.program.id,
          lessonId: q.lessons[0]!.id,
          completed: true,
          timeSpentSeconds: 120,
        });
        assert.equal(done.body.progress.status, "completed");
        await delay(5);
        const viewed = await update(ctx, eve, {
          programId: p.program.id,
          lessonId: l1.id,
          completed: true,
          timeSpentSeconds: 60,
        });
        assert.equal(viewed.status, 200);

        const res = await enrolledList();
        assert.deepEqual(
          ids(res.body.programs),
          [p, q, w, r].map((b) => b.program.id),
        );
        for (const item of res.body.programs) {
          assert.deepEqual(Object.keys(item).sort(), ENROLLED_PROGRAM_KEYS);
          assert.deepEqual(item.instructor, {
            id: owner.user.id,
            name: "Owner Olga",
            avatar: "https://cdn.test/olga.png",
          });
          assert.equal(item.thumbnail, null);
        }
        const [first, second, third] = res.body.programs;
        assert.equal(first.title, "Program P");
        assert.equal(first.slug, p.program.slug);
        assert.equal(first.progress, 33);
        assert.equal(first.status, "in_progress");
        assert.equal(
          first.enrolledAt,
          (await enrollmentOf(ctx, eve.user.id, p.program.id))!.createdAt
            .toISOString(),
        );
        assert.equal(typeof first.lastAccessedAt, "string");
        assert.equal(first.completedAt, null);
        assert.equal(second.progress, 100);
        assert.equal(second.status, "completed");
        assert.equal(typeof second.completedAt, "string");
        assert.equal(third.progress, 0);
        assert.equal(third.lastAccessedAt, null);
        assert.deepEqual(res.body.pagination, {
          currentPage: 1,
          totalPages: 1,
          total: 4,
          limit: 12,
          hasNext: false,
          hasPrev: false,
        });
      },
    );

    await t.step(
      "enrolled-programs filters by status and paginates",
      async () => {
        const completed = await enrolledList("?status=completed");
        assert.deepEqual(ids(completed.body.programs), [q.program.id]);
        assert.equal(completed.body.pagination.total, 1);
        const active = await enrolledList("?status=in_progress");
        assert.deepEqual(
          ids(active.body.programs),
          [p, w, r].map((b) => b.program.id),
        );

        const page1 = await enrolledList("?page=1&limit=2");
        assert.deepEqual(ids(page1.body.programs), [
          p.program.id,
          q.program.id,
        ]);
        assert.deepEqual(page1.body.pagination, {
          currentPage: 1,
          totalPages: 2,
          total: 4,
          limit: 2,
          hasNext: true,
          hasPrev: false,
        });
        assert.match(page1.headers.get("Link") ?? "", /rel="next"/);
        const page2 = await enrolledList("?page=2&limit=2");
        assert.deepEqual(ids(page2.body.programs), [
          w.program.id,
          r.program.id,
        ]);
        assert.equal(page2.body.pagination.hasNext, false);
        assert.equal(page2.body.pagination.hasPrev, true);
        const page3 = await enrolledList("?page=3&limit=2");
        assert.deepEqual(page3.body.programs, []);

        const drop = await api(
          ctx,
          "POST",
          `/api/programs/${w.program.id}/drop`,
          {
            token: eve.token,
          },
        );
        assert.equal(drop.status, 200);
        const dropped = await enrolledList("?status=dropped");
        assert.deepEqual(ids(dropped.body.programs), [w.program.id]);
        const stillActive = await enrolledList("?status=in_progress");
        assert.deepEqual(ids(stillActive.body.programs), [
          p.program.id,
          r.program.id,
        ]);

        const bad = await api(
          ctx,
          "GET",
          "/api/users/enrolled-programs?status=paused",
          {
            token: eve.token,
          },
        );
        assert.equal(bad.status, 422);
        const tooMany = await api(
          ctx,
          "GET",
          "/api/users/enrolled-programs?limit=101",
          {
            token: eve.token,
          },
        );
        assert.equal(tooMany.status, 422);
        const anonymous = await api(ctx, "GET", "/api/users/enrolled-programs");
        assert.equal(anonymous.status, 401);
      },
    );

    await t.step(
      "GET /api/user/dashboard: active and completed programs, recent activity, stats",
      async () => {
        const res = await api(ctx, "GET", "/api/user/dashboard", {
          token: eve.token,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        const dashboard = res.body.dashboard;
        assert.deepEqual(Object.keys(dashboard).sort(), [
          "activePrograms",
          "completedPrograms",
          "recentActivity",
          "stats",
        ]);
        assert.deepEqual(ids(dashboard.activePrograms), [
          p.program.id,
          r.program.id,
        ]);
        assert.deepEqual(ids(dashboard.completedPrograms), [q.program.id]);
        assert.deepEqual(
          Object.keys(dashboard.activePrograms[0]).sort(),
          ENROLLED_PROGRAM_KEYS,
        );
        assert.deepEqual(dashboard.recentActivity, [
          {
            type: "lesson_completed",
            lesson: { id: l1.id, title: l1.title },
            program: { id: p.program.id, title: "Program P" },
            at: (await progressRow(ctx, eve.user.id, l1.id))!.lastAccessedAt
              .toISOString(),
            timeSpentMinutes: 1,
          },
          {
            type: "lesson_completed",
            lesson: { id: q.lessons[0]!.id, title: q.lessons[0]!.title },
            program: { id: q.program.id, title: "Program Q" },
            at: (await progressRow(ctx, eve.user.id, q.lessons[0]!.id))!
              .lastAccessedAt
              .toISOString(),
            timeSpentMinutes: 2,
          },
        ]);
        assert.deepEqual(dashboard.stats, await stats(ctx, eve));
        assert.equal(
          dashboard.stats.programsEnrolled,
          3,
          "the dropped program is not counted",
        );
        assert.equal(dashboard.stats.programsCompleted, 1);
        assert.equal(dashboard.stats.totalPoints, 20);
        assert.equal(dashboard.stats.learningTimeMinutes, 3);

        // A viewed, not completed, lesson is "lesson_viewed".
        await delay(3);
        await update(ctx, eve, {
          programId: r.program.id,
          lessonId: r.lessons[1]!.id,
          timeSpentSeconds: 10,
        });
        const later = await api(ctx, "GET", "/api/user/dashboard", {
          token: eve.token,
        });
        assert.equal(
          later.body.dashboard.recentActivity[0].type,
          "lesson_viewed",
        );
        assert.equal(
          later.body.dashboard.recentActivity[0].lesson.id,
          r.lessons[1]!.id,
        );
        assert.deepEqual(ids(later.body.dashboard.activePrograms), [
          r.program.id,
          p.program.id,
        ]);

        const newcomer = await account(ctx, "Empty Dashboard");
        const empty = await api(ctx, "GET", "/api/user/dashboard", {
          token: newcomer.token,
        });
        assert.equal(empty.status, 200);
        assert.deepEqual(empty.body.dashboard.activePrograms, []);
        assert.deepEqual(empty.body.dashboard.completedPrograms, []);
        assert.deepEqual(empty.body.dashboard.recentActivity, []);
        assert.equal(empty.body.dashboard.stats.programsEnrolled, 0);
        const anonymous = await api(ctx, "GET", "/api/user/dashboard");
        assert.equal(anonymous.status, 401);
      },
    );
  } finally {
    await ctx.close();
  }
});
