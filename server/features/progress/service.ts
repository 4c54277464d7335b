import { issueIfEarned } from "../certificates/issue.ts";
import { announceCertificate } from "../certificates/announce.ts";
import { and, desc, eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import {
  type Enrollment,
  enrollments,
  type EnrollmentStatus,
  learningDays,
  lessonProgress,
  lessons,
  programs,
  users,
} from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { forbidden, notFound } from "../../lib/errors.ts";
import { mediaUrl } from "../media/urls.ts";
import { paymentRequiredFor } from "../access/errors.ts";
import { canUseFeature, isOwnerOrAdmin } from "../access/service.ts";
import {
  ensureEnrollment,
  findEnrollment,
  refreshEnrolledCount,
} from "../enrollments/service.ts";
import { type Actor, getVisibleProgram } from "../programs/service.ts";

/** One call can add at most an hour: a client stuck in a loop cannot inflate learning time. */
export const MAX_SECONDS_PER_UPDATE = 3600;
/** What a completed lesson is worth in `totalPoints` (quizzes add their scores once they exist). */
export const POINTS_PER_LESSON = 10;

export const utcDay = (date: Date) => date.toISOString().slice(0, 10);

export interface ProgressUpdate {
  programId: string;
  lessonId: string;
  completed?: boolean;
  timeSpentSeconds?: number;
}

/**
 * POST /api/progress/update: records time and completion for one lesson, moves the resume point,
 * marks the UTC day as a learning day, and completes the enrollment when every lesson is done.
 */
export async function updateProgress(
  deps: Pick<
    Deps,
    "db" | "config" | "signer" | "storage" | "logger" | "background" | "mail"
  >,
  viewer: Actor,
  input: ProgressUpdate,
) {
  const program = await getVisibleProgram(deps, viewer, input.programId);
  const [lesson] = await deps.db.select({ id: lessons.id }).from(lessons)
    .where(and(
      eq(lessons.id, input.lessonId),
      eq(lessons.programId, program.id),
    ));
  if (!lesson) throw notFound("Lesson");
  if (!(await canUseFeature(deps, viewer, program, "documentation"))) {
    throw paymentRequiredFor(program, "documentation");
  }
  const enrolled = await findEnrollment(deps.db, viewer.id, program.id);
  if (!enrolled && isOwnerOrAdmin(viewer, program)) {
    throw forbidden(
      "NOT_ENROLLED",
      "Progress is kept for enrolled learners; enroll to track your own",
    );
  }
  const now = new Date();
  const seconds = input.timeSpentSeconds ?? 0;
  const certificate = await deps.db.transaction(async (tx) => {
    const { enrollment, resumed } = await ensureEnrollment(
      tx,
      viewer.id,
      program.id,
      now,
    );
    const completedAt = input.completed === true
      ? now
      : input.completed === false
      ? null
      : undefined;
    await tx.insert(lessonProgress).values({
      userId: viewer.id,
      lessonId: lesson.id,
      programId: program.id,
      completedAt: completedAt ?? null,
      timeSpentSeconds: seconds,
      firstAccessedAt: now,
      lastAccessedAt: now,
    }).onConflictDoUpdate({
      target: [lessonProgress.userId, lessonProgress.lessonId],
      set: {
        timeSpentSeconds: sql`${lessonProgress.timeSpentSeconds} + ${seconds}`,
        lastAccessedAt: now,
        // Completing twice keeps the first completion time.
        ...(completedAt === undefined ? {} : {
          completedAt: completedAt === null
            ? null
            : sql`coalesce(${lessonProgress.completedAt}, ${now.getTime()})`,
        }),
      },
    });
    await tx.insert(learningDays).values({
      userId: viewer.id,
      day: utcDay(now),
    })
      .onConflictDoNothing();
    const counts = await lessonCounts(tx, viewer.id, program.id);
    const status: EnrollmentStatus = counts.total > 0 &&
        counts.completed >= counts.total
      ? "completed"
      : "in_progress";
    await tx.update(enrollments).set({
      status,
      completedAt: status === "completed"
        ? enrollment.completedAt ?? now
        : null,
      droppedAt: null,
      lastLessonId: lesson.id,
      lastAccessedAt: now,
      updatedAt: now,
    }).where(eq(enrollments.id, enrollment.id));
    if (resumed) await refreshEnrolledCount(tx, program.id);
    return status === "completed"
      ? await issueIfEarned(tx, deps, viewer.id, program.id)
      : undefined;
  });
  if (certificate?.created) {
    announceCertificate(deps, certificate.certificate.id);
  }
  return await programProgress(deps, viewer, program.id);
}

async function lessonCounts(db: DbOrTx, userId: string, programId: string) {
  const [row] = await db.all<
    {
      total: number;
      completed: number;
      seconds: number;
      quizzes: number;
      quizzesTaken: number;
    }
  >(sql`SELECT
    (SELECT count(*) FROM quizzes
      WHERE program_id = ${programId} AND deleted_at IS NULL) AS quizzes,
    (SELECT count(DISTINCT a.quiz_id) FROM quiz_attempts a
      JOIN quizzes q ON q.id = a.quiz_id AND q.deleted_at IS NULL
      WHERE a.user_id = ${userId} AND a.program_id = ${programId}
        AND a.mode = 'exam' AND a.status <> 'in_progress') AS quizzesTaken,
    (SELECT count(*) FROM lessons WHERE program_id = ${programId}) AS total,
    (SELECT count(*) FROM lesson_progress p JOIN lessons l ON l.id = p.lesson_id
      WHERE p.user_id = ${userId} AND p.program_id = ${programId}
        AND p.completed_at IS NOT NULL) AS completed,
    (SELECT coalesce(sum(time_spent_seconds), 0) FROM lesson_progress
      WHERE user_id = ${userId} AND program_id = ${programId}) AS seconds`);
  return {
    total: Number(row?.total ?? 0),
    completed: Number(row?.completed ?? 0),
    seconds: Number(row?.seconds ?? 0),
    quizzes: Number(row?.quizzes ?? 0),
    quizzesTaken: Number(row?.quizzesTaken ?? 0),
  };
}

const percentage = (done: number, total: number) =>
  total === 0 ? 0 : Math.round((done / total) * 100);

function toProgressResponse(
  enrollment: Enrollment,
  counts: Awaited<ReturnType<typeof lessonCounts>>,
  resume: { id: string; title: string; moduleId: string } | undefined,
) {
  return {
    programId: enrollment.programId,
    status: enrollment.status,
    completionPercentage: percentage(counts.completed, counts.total),
    lessonsCompleted: counts.completed,
    lessonsTotal: counts.total,
    quizzesTaken: counts.quizzesTaken,
    quizzesTotal: counts.quizzes,
    timeSpentMinutes: Math.floor(counts.seconds / 60),
    lastAccessedAt: enrollment.lastAccessedAt?.toISOString() ?? null,
    resumeLesson: resume ?? null,
    enrolledAt: enrollment.createdAt.toISOString(),
    completedAt: enrollment.completedAt?.toISOString() ?? null,
  };
}
export type ProgressResponse = ReturnType<typeof toProgressResponse>;

/** GET /api/programs/:id/progress for the signed-in learner (404 when not enrolled). */
export async function programProgress(
  deps: Pick<Deps, "db">,
  viewer: Actor,
  programRef: string,
): Promise<ProgressResponse> {
  const program = await getVisibleProgram(deps, viewer, programRef);
  const progress = await progressIfEnrolled(deps.db, viewer.id, program.id);
  if (!progress) throw notFound("Enrollment");
  return progress;
}

export async function progressIfEnrolled(
  db: DbOrTx,
  userId: string,
  programId: string,
): Promise<ProgressResponse | undefined> {
  const enrollment = await findEnrollment(db, userId, programId);
  if (!enrollment) return undefined;
  const [counts, resume] = await Promise.all([
    lessonCounts(db, userId, programId),
    enrollment.lastLessonId
      ? db.select({
        id: lessons.id,
        title: lessons.title,
        moduleId: lessons.moduleId,
      }).from(lessons).where(eq(lessons.id, enrollment.lastLessonId)).then((
        rows,
      ) => rows[0])
      : Promise.resolve(undefined),
  ]);
  return toProgressResponse(enrollment, counts, resume);
}

/** Current and longest runs of consecutive UTC learning days; a run is current through tomorrow. */
export async function streaksOf(
  db: DbOrTx,
  userId: string,
  now = new Date(),
): Promise<{ current: number; longest: number }> {
  const [row] = await db.all<{ longest: number; current: number }>(sql`
    WITH numbered AS (
      SELECT day, julianday(day) - row_number() OVER (ORDER BY day) AS run
      FROM learning_days WHERE user_id = ${userId}
    ), runs AS (
      SELECT count(*) AS length, max(day) AS last_day FROM numbered GROUP BY run
    )
    SELECT coalesce((SELECT max(length) FROM runs), 0) AS longest,
      coalesce((SELECT length FROM runs WHERE last_day >= date(${
    utcDay(now)
  }, '-1 day') ORDER BY last_day DESC LIMIT 1), 0) AS current
  `);
  return {
    current: Number(row?.current ?? 0),
    longest: Number(row?.longest ?? 0),
  };
}

/** GET /api/users/stats in 002's shape, from SQL aggregates. */
export async function learnerStats(
  deps: Pick<Deps, "db">,
  userId: string,
  now = new Date(),
) {
  const [row] = await deps.db.all<
    {
      enrolled: number;
      completed: number;
      lessons: number;
      seconds: number;
      attempts: number;
      graded: number;
      passed: number;
      average: number | null;
    }
  >(sql`SELECT
    (SELECT count(*) FROM quiz_attempts WHERE user_id = ${userId}
      AND mode = 'exam' AND status <> 'in_progress') AS attempts,
    (SELECT count(*) FROM quiz_attempts WHERE user_id = ${userId}
      AND mode = 'exam' AND status = 'completed') AS graded,
    (SELECT count(*) FROM quiz_attempts WHERE user_id = ${userId}
      AND mode = 'exam' AND status = 'completed' AND passed = 1) AS passed,
    (SELECT avg(score_percentage) FROM quiz_attempts WHERE user_id = ${userId}
      AND mode = 'exam' AND status = 'completed') AS average,
    (SELECT count(*) FROM enrollments
      WHERE user_id = ${userId} AND status != 'dropped') AS enrolled,
    (SELECT count(*) FROM enrollments
      WHERE user_id = ${userId} AND status = 'completed') AS completed,
    (SELECT count(*) FROM lesson_progress
      WHERE user_id = ${userId} AND completed_at IS NOT NULL) AS lessons,
    (SELECT coalesce(sum(time_spent_seconds), 0) FROM lesson_progress
      WHERE user_id = ${userId}) AS seconds`);
  const streaks = await streaksOf(deps.db, userId, now);
  return {
    programsEnrolled: Number(row?.enrolled ?? 0),
    programsCompleted: Number(row?.completed ?? 0),
    // Counted exam attempts (practice attempts are not); certificates arrive with issue 6.
    quizzesTaken: Number(row?.attempts ?? 0),
    quizzesPassedPercentage: Number(row?.graded ?? 0) === 0
      ? 0
      : Math.round((Number(row?.passed) / Number(row?.graded)) * 1000) / 10,
    certificatesEarned: 0,
    totalPoints: Number(row?.lessons ?? 0) * POINTS_PER_LESSON,
    currentStreak: streaks.current,
    longestStreak: streaks.longest,
    learningTimeMinutes: Math.floor(Number(row?.seconds ?? 0) / 60),
    averageQuizScore: row?.average === null || row?.average === undefined
      ? 0
      : Math.round(Number(row.average) * 10) / 10,
  };
}

const ENROLLED_ORDER =
  sql`coalesce(${enrollments.lastAccessedAt}, ${enrollments.createdAt})`;

/** GET /api/users/enrolled-programs: newest activity first, with progress per program. */
export async function enrolledPrograms(
  deps: Pick<Deps, "db" | "config">,
  userId: string,
  filter: { status?: EnrollmentStatus; page: number; limit: number },
) {
  const where = and(
    eq(enrollments.userId, userId),
    filter.status ? eq(enrollments.status, filter.status) : undefined,
  );
  const [rows, [count]] = await Promise.all([
    deps.db.select({
      enrollment: enrollments,
      title: programs.title,
      slug: programs.slug,
      thumbnailMediaId: programs.thumbnailMediaId,
      instructorId: programs.instructorId,
      instructorName: users.name,
      instructorAvatar: users.avatarUrl,
      total: sql<
        number
      >`(SELECT count(*) FROM lessons l WHERE l.program_id = ${enrollments.programId})`,
      done: sql<number>`(
        SELECT count(*) FROM lesson_progress p JOIN lessons l ON l.id = p.lesson_id
        WHERE p.user_id = ${enrollments.userId} AND p.program_id = ${enrollments.programId}
          AND p.completed_at IS NOT NULL
      )`,
    }).from(enrollments)
      .innerJoin(programs, eq(programs.id, enrollments.programId))
      .innerJoin(users, eq(users.id, programs.instructorId))
      .where(where)
      .orderBy(desc(ENROLLED_ORDER), desc(enrollments.id))
      .limit(filter.limit).offset((filter.page - 1) * filter.limit),
    deps.db.select({ n: sql<number>`count(*)` }).from(enrollments).where(where),
  ]);
  return {
    total: Number(count?.n ?? 0),
    programs: rows.map((row) => ({
      id: row.enrollment.programId,
      title: row.title,
      slug: row.slug,
      thumbnail: row.thumbnailMediaId
        ? mediaUrl(deps.config.appUrl, row.thumbnailMediaId, "display")
        : null,
      progress: percentage(Number(row.done), Number(row.total)),
      status: row.enrollment.status,
      enrolledAt: row.enrollment.createdAt.toISOString(),
      lastAccessedAt: row.enrollment.lastAccessedAt?.toISOString() ?? null,
      completedAt: row.enrollment.completedAt?.toISOString() ?? null,
      instructor: {
        id: row.instructorId,
        name: row.instructorName,
        avatar: row.instructorAvatar,
      },
    })),
  };
}

/** Lessons touched lately, newest first: the dashboard's "recent activity". */
export async function recentActivity(
  deps: Pick<Deps, "db">,
  userId: string,
  limit = 10,
) {
  const rows = await deps.db.select({
    lessonId: lessonProgress.lessonId,
    lessonTitle: lessons.title,
    programId: lessonProgress.programId,
    programTitle: programs.title,
    completedAt: lessonProgress.completedAt,
    lastAccessedAt: lessonProgress.lastAccessedAt,
    timeSpentSeconds: lessonProgress.timeSpentSeconds,
  }).from(lessonProgress)
    .innerJoin(lessons, eq(lessons.id, lessonProgress.lessonId))
    .innerJoin(programs, eq(programs.id, lessonProgress.programId))
    .where(eq(lessonProgress.userId, userId))
    .orderBy(desc(lessonProgress.lastAccessedAt)).limit(limit);
  return rows.map((row) => ({
    type: row.completedAt ? "lesson_completed" : "lesson_viewed",
    lesson: { id: row.lessonId, title: row.lessonTitle },
    program: { id: row.programId, title: row.programTitle },
    at: row.lastAccessedAt.toISOString(),
    timeSpentMinutes: Math.floor(row.timeSpentSeconds / 60),
  }));
}

/** GET /api/user/dashboard (001): programs under way and finished, recent activity, stats. */
export async function learnerDashboard(
  deps: Pick<Deps, "db" | "config">,
  userId: string,
) {
  const [active, completed, activity, stats] = await Promise.all([
    enrolledPrograms(deps, userId, {
      status: "in_progress",
      page: 1,
      limit: 12,
    }),
    enrolledPrograms(deps, userId, { status: "completed", page: 1, limit: 12 }),
    recentActivity(deps, userId),
    learnerStats(deps, userId),
  ]);
  return {
    activePrograms: active.programs,
    completedPrograms: completed.programs,
    recentActivity: activity,
    stats,
  };
}
