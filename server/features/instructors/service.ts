import { and, eq, isNull, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "../../../db/client.ts";
import {
  type InstructorProfile,
  instructorProfiles,
  programs,
  type SocialLinks,
  type User,
  users,
} from "../../../db/schema/mod.ts";
import { countsAsLearner } from "../enrollments/counting.ts";
import { notFound } from "../../lib/errors.ts";
import { isId } from "../../lib/ids.ts";

/** Every instructor has a profile; called wherever someone becomes one. Idempotent. */
export async function ensureInstructorProfile(
  db: DbOrTx,
  userId: string,
): Promise<void> {
  const now = new Date();
  await db.insert(instructorProfiles).values({
    userId,
    createdAt: now,
    updatedAt: now,
  }).onConflictDoNothing();
}

export interface InstructorStats {
  rating: number;
  totalStudents: number;
  totalPrograms: number;
  totalReviews: number;
}

/** Computed from programs, reviews and enrollments with SQL aggregates. */
export async function instructorStats(
  deps: { db: DbOrTx },
  instructorId: string,
): Promise<InstructorStats> {
  const live = and(
    eq(programs.instructorId, instructorId),
    isNull(programs.deletedAt),
  );
  const [[totals], [students]] = await Promise.all([
    deps.db.select({
      ratingSum: sql<number>`coalesce(sum(${programs.ratingSum}), 0)`,
      reviews: sql<number>`coalesce(sum(${programs.reviewCount}), 0)`,
      published: sql<
        number
      >`coalesce(sum(${programs.status} = 'published'), 0)`,
    }).from(programs).where(live),
    deps.db.all<{ n: number }>(sql`
      SELECT count(DISTINCT e.user_id) AS n FROM enrollments e
      JOIN programs p ON p.id = e.program_id
      WHERE p.instructor_id = ${instructorId} AND p.deleted_at IS NULL
        AND ${countsAsLearner("e")}`),
  ]);
  const reviews = totals?.reviews ?? 0;
  return {
    rating: reviews ? Math.round((totals!.ratingSum / reviews) * 10) / 10 : 0,
    totalStudents: students?.n ?? 0,
    totalPrograms: totals?.published ?? 0,
    totalReviews: reviews,
  };
}

async function getInstructor(deps: { db: DbOrTx }, id: string) {
  if (!isId(id)) throw notFound("Instructor");
  const [row] = await deps.db.select({
    user: users,
    profile: instructorProfiles,
  })
    .from(users).leftJoin(
      instructorProfiles,
      eq(instructorProfiles.userId, users.id),
    ).where(and(eq(users.id, id), eq(users.status, "active")));
  if (!row || row.user.role !== "instructor") throw notFound("Instructor");
  return row;
}

export function toPublicInstructor(
  user: User,
  profile: InstructorProfile | null,
  stats: InstructorStats,
) {
  return {
    id: user.id,
    name: user.name,
    avatar: user.avatarUrl,
    bio: user.bio,
    headline: profile?.headline ?? "",
    expertise: profile?.expertise ?? [],
    acceptingStudents: profile?.acceptingStudents ?? false,
    ...stats,
    socialLinks: user.socialLinks,
    joinedAt: user.createdAt.toISOString(),
  };
}

/** 002's public profile; 404 for anyone who is not an active instructor. */
export async function getPublicInstructor(deps: { db: Db }, id: string) {
  const { user, profile } = await getInstructor(deps, id);
  return toPublicInstructor(
    user,
    profile,
    await instructorStats(deps, user.id),
  );
}

export interface InstructorProfileChanges {
  headline?: string | undefined;
  expertise?: string[] | undefined;
  acceptingStudents?: boolean | undefined;
  bio?: string | null | undefined;
  socialLinks?: SocialLinks | undefined;
}

export async function updateInstructorProfile(
  deps: { db: Db },
  userId: string,
  changes: InstructorProfileChanges,
) {
  await deps.db.transaction(async (tx) => {
    await getInstructor({ db: tx }, userId);
    await ensureInstructorProfile(tx, userId);
    const now = new Date();
    await tx.update(instructorProfiles).set({
      ...(changes.headline !== undefined ? { headline: changes.headline } : {}),
      ...(changes.expertise !== undefined
        ? { expertise: changes.expertise }
        : {}),
      ...(changes.acceptingStudents !== undefined
        ? { acceptingStudents: changes.acceptingStudents }
        : {}),
      updatedAt: now,
    }).where(eq(instructorProfiles.userId, userId));
    if (changes.bio !== undefined || changes.socialLinks !== undefined) {
      await tx.update(users).set({
        ...(changes.bio !== undefined ? { bio: changes.bio } : {}),
        ...(changes.socialLinks !== undefined
          ? { socialLinks: changes.socialLinks }
          : {}),
        updatedAt: now,
      }).where(eq(users.id, userId));
    }
  });
  return await getPublicInstructor(deps, userId);
}
