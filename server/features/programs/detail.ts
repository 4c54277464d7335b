import type { Db } from "../../../db/client.ts";
import { and, count, eq, ne } from "drizzle-orm";
import { type Program, questions } from "../../../db/schema/mod.ts";
import { isEnrolled } from "../access/service.ts";
import { progressIfEnrolled } from "../progress/service.ts";
import { curriculumSummary } from "../curriculum/service.ts";
import { instructorStats } from "../instructors/service.ts";
import {
  type Actor,
  getSummaryRow,
  getVisibleProgram,
  toProgramSummary,
} from "./service.ts";
import { getUser } from "../users/service.ts";

/** 002's program detail: the summary plus overview, instructor profile, curriculum outline. */
export async function programDetail(
  deps: { db: Db; config: { appUrl: string } },
  program: Program,
) {
  const [row, curriculum, stats, instructor, bank] = await Promise.all([
    getSummaryRow(deps, program.id),
    curriculumSummary(deps, program.id),
    instructorStats(deps, program.instructorId),
    getUser(deps, program.instructorId).catch(() => undefined),
    deps.db.select({ n: count() }).from(questions).where(and(
      eq(questions.programId, program.id),
      eq(questions.status, "active"),
      ne(questions.type, "description"),
    )),
  ]);
  const summary = toProgramSummary(deps.config.appUrl, row);
  return {
    ...summary,
    overview: program.overviewHtml,
    instructor: {
      ...summary.instructor,
      bio: instructor?.bio ?? null,
      rating: stats.rating,
      studentsCount: stats.totalStudents,
      socialLinks: (instructor?.socialLinks ?? {}) as Record<string, string>,
    },
    features: program.features,
    curriculum: curriculum.map(({ description: _d, ...module }) => module),
    // Active questions in the program's bank: what the exam simulator draws on.
    totalQuestions: bank[0]?.n ?? 0,
    prerequisites: program.prerequisites,
    // A null rule: the final exam when the program has one, otherwise every lesson.
    certificate: {
      rule: program.certificateRule,
      validityDays: program.certificateValidityDays,
    },
    duration: program.duration,
    language: program.language,
    lastUpdated: program.updatedAt.toISOString(),
    deletedAt: program.deletedAt?.toISOString() ?? null,
  };
}

/** What GET /api/programs/:idOrSlug returns, for any viewer. */
export async function programPage(
  deps: { db: Db; config: { appUrl: string } },
  viewer: Actor | undefined,
  idOrSlug: string,
) {
  const program = await getVisibleProgram(deps, viewer, idOrSlug);
  return {
    program: await programDetail(deps, program),
    isEnrolled: viewer ? await isEnrolled(deps, viewer.id, program.id) : false,
    userProgress: viewer
      ? await progressIfEnrolled(deps.db, viewer.id, program.id) ?? null
      : null,
  };
}
