import type { Db } from "../../../db/client.ts";
import type { Program } from "../../../db/schema/mod.ts";
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
  const [row, curriculum, stats, instructor] = await Promise.all([
    getSummaryRow(deps, program.id),
    curriculumSummary(deps, program.id),
    instructorStats(deps, program.instructorId),
    getUser(deps, program.instructorId).catch(() => undefined),
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
    // Counted from the question bank once quizzes exist.
    totalQuestions: 0,
    prerequisites: program.prerequisites,
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
