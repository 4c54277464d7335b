import { and, avg, count, desc, eq, inArray } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import {
  practiceSubmissions,
  type ProgressRecord,
  progressRecords,
  submissionShares,
  users,
} from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { forbidden, notFound } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { offsetOf, type PageRequest } from "../../lib/pagination.ts";
import { deliver, storeNotification } from "../notifications/service.ts";
import type { Actor } from "../programs/service.ts";
import { isActiveTeacher } from "../relationships/service.ts";
import { loadSubmission } from "./access.ts";

type RecordDeps = Pick<
  Deps,
  "db" | "mail" | "logger" | "background" | "config"
>;

export interface NewProgressRecord {
  rating: number;
  techniqueScore?: number | undefined;
  musicalityScore?: number | undefined;
  rhythmScore?: number | undefined;
  overallScore?: number | undefined;
  notes?: string | undefined;
}

/**
 * POST /api/videos/:id/progress-records: an active teacher of the owner, who can see the
 * recording, scores it. The relationship is checked in the transaction that writes the score.
 */
export async function scoreSubmission(
  deps: RecordDeps,
  teacher: Actor,
  submissionId: string,
  input: NewProgressRecord,
): Promise<ProgressRecord> {
  const { submission, access } = await loadSubmission(
    deps.db,
    teacher,
    submissionId,
  );
  if (!access.canScore) {
    throw forbidden(
      "NOT_THEIR_TEACHER",
      "Only an active teacher of this learner it is shared with can score it",
    );
  }
  const { record, stored } = await deps.db.transaction(async (tx) => {
    if (!(await isActiveTeacher(tx, teacher.id, submission.ownerId))) {
      throw forbidden(
        "NOT_THEIR_TEACHER",
        "Only an active teacher of this learner can score their recordings",
      );
    }
    const [record] = await tx.insert(progressRecords).values({
      id: newId(),
      studentId: submission.ownerId,
      teacherId: teacher.id,
      submissionId: submission.id,
      rating: input.rating,
      techniqueScore: input.techniqueScore ?? null,
      musicalityScore: input.musicalityScore ?? null,
      rhythmScore: input.rhythmScore ?? null,
      overallScore: input.overallScore ?? null,
      notes: input.notes ?? null,
      createdAt: new Date(),
    }).returning();
    const [me] = await tx.select({ name: users.name }).from(users).where(
      eq(users.id, teacher.id),
    );
    const stored = await storeNotification(tx, deps, {
      userId: submission.ownerId,
      type: "progress_record",
      title: "Your recording was scored",
      message: `${
        me?.name ?? "Your teacher"
      } rated "${submission.title}" ${input.rating}/5.`,
      link: `/api/users/${submission.ownerId}/progress-records`,
      relatedId: submission.id,
    });
    return { record: record!, stored };
  });
  deliver(deps, stored);
  return record;
}

const teacher = alias(users, "teacher");

/**
 * GET /api/users/:id/progress-records: a learner's scores over time, for the learner, their active
 * teachers and admins; newest first, with averages over all of them.
 */
export async function progressHistory(
  deps: Pick<Deps, "db">,
  viewer: Actor,
  studentId: string,
  query: PageRequest & { submissionId?: string | undefined },
) {
  const allowed = viewer.id === studentId || viewer.role === "admin" ||
    await isActiveTeacher(deps.db, viewer.id, studentId);
  if (!allowed) throw notFound("Progress records");
  // A teacher sees the scores of recordings shared with them, not what other teachers wrote.
  const seesAll = viewer.id === studentId || viewer.role === "admin";
  const sharedWithViewer = deps.db.select({ id: submissionShares.submissionId })
    .from(submissionShares).where(eq(submissionShares.userId, viewer.id));
  const where = and(
    eq(progressRecords.studentId, studentId),
    seesAll
      ? undefined
      : inArray(progressRecords.submissionId, sharedWithViewer),
    query.submissionId
      ? eq(progressRecords.submissionId, query.submissionId)
      : undefined,
  );
  const rows = await deps.db.select({
    record: progressRecords,
    teacherName: teacher.name,
    submissionTitle: practiceSubmissions.title,
    pieceName: practiceSubmissions.pieceName,
  }).from(progressRecords)
    .innerJoin(teacher, eq(teacher.id, progressRecords.teacherId))
    .innerJoin(
      practiceSubmissions,
      eq(practiceSubmissions.id, progressRecords.submissionId),
    )
    .where(where)
    .orderBy(desc(progressRecords.createdAt), desc(progressRecords.id))
    .limit(query.limit).offset(offsetOf(query));
  const [summary] = await deps.db.select({
    total: count(),
    rating: avg(progressRecords.rating),
    technique: avg(progressRecords.techniqueScore),
    musicality: avg(progressRecords.musicalityScore),
    rhythm: avg(progressRecords.rhythmScore),
    overall: avg(progressRecords.overallScore),
  }).from(progressRecords).where(where);
  const round = (value: string | null | undefined) =>
    value === null || value === undefined
      ? null
      : Math.round(Number(value) * 10) / 10;
  return {
    records: rows.map((row) => ({
      ...toRecordResponse(row.record),
      teacher: { id: row.record.teacherId, name: row.teacherName },
      video: {
        id: row.record.submissionId,
        title: row.submissionTitle,
        pieceName: row.pieceName,
      },
    })),
    summary: {
      averageRating: round(summary?.rating),
      averageTechnique: round(summary?.technique),
      averageMusicality: round(summary?.musicality),
      averageRhythm: round(summary?.rhythm),
      averageOverall: round(summary?.overall),
    },
    total: summary?.total ?? 0,
  };
}

export function toRecordResponse(record: ProgressRecord) {
  return {
    id: record.id,
    studentId: record.studentId,
    teacherId: record.teacherId,
    videoId: record.submissionId,
    rating: record.rating,
    techniqueScore: record.techniqueScore,
    musicalityScore: record.musicalityScore,
    rhythmScore: record.rhythmScore,
    overallScore: record.overallScore,
    notes: record.notes,
    createdAt: record.createdAt.toISOString(),
  };
}
