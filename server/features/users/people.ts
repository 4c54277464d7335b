import { and, asc, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import {
  instructorProfiles,
  relationships,
  type User,
  users,
} from "../../../db/schema/mod.ts";
import { notFound } from "../../lib/errors.ts";
import { likeContains } from "../../lib/like.ts";
import { offsetOf, type PageRequest } from "../../lib/pagination.ts";

/** What anyone signed in may know about a person (004's "public user information"). */
export function toPublicUser(
  user: User,
  profile?: {
    headline: string;
    expertise: string[];
    acceptingStudents: boolean;
  } | null,
) {
  return {
    id: user.id,
    name: user.name,
    role: user.role,
    avatar: user.avatarUrl,
    bio: user.bio,
    socialLinks: user.socialLinks,
    ...(user.role === "instructor"
      ? {
        headline: profile?.headline ?? "",
        expertise: profile?.expertise ?? [],
        acceptingStudents: profile?.acceptingStudents ?? false,
      }
      : {}),
    joinedAt: user.createdAt.toISOString(),
  };
}

/** GET /api/users/:id: 404 for banned and deleted accounts as for unknown ones. */
export async function publicUser(db: DbOrTx, id: string) {
  const [row] = await db.select({ user: users, profile: instructorProfiles })
    .from(users).leftJoin(
      instructorProfiles,
      eq(instructorProfiles.userId, users.id),
    ).where(eq(users.id, id));
  if (!row || row.user.status !== "active") throw notFound("User");
  return toPublicUser(row.user, row.profile);
}

/** GET /api/users/teachers: instructors accepting students, by name, with an optional search. */
export async function listTeachers(
  db: DbOrTx,
  query: PageRequest & { search?: string | undefined },
) {
  const conditions: (SQL | undefined)[] = [
    eq(users.role, "instructor"),
    eq(users.status, "active"),
    eq(instructorProfiles.acceptingStudents, true),
    query.search
      ? sql`(${likeContains(users.name, query.search)} or ${
        likeContains(instructorProfiles.headline, query.search)
      })`
      : undefined,
  ];
  const where = and(...conditions);
  const rows = await db.select({ user: users, profile: instructorProfiles })
    .from(users).innerJoin(
      instructorProfiles,
      eq(instructorProfiles.userId, users.id),
    ).where(where).orderBy(asc(users.name), asc(users.id))
    .limit(query.limit).offset(offsetOf(query));
  const [count] = await db.select({ total: sql<number>`count(*)` }).from(users)
    .innerJoin(instructorProfiles, eq(instructorProfiles.userId, users.id))
    .where(where);
  return {
    teachers: rows.map((row) => toPublicUser(row.user, row.profile)),
    total: count?.total ?? 0,
  };
}

/** GET /api/users/students: an instructor's active students, by name. */
export async function listStudents(
  db: DbOrTx,
  teacherId: string,
  query: PageRequest,
) {
  const studentIds = db.select({ id: relationships.studentId }).from(
    relationships,
  ).where(and(
    eq(relationships.teacherId, teacherId),
    eq(relationships.status, "active"),
  ));
  const where = and(
    inArray(users.id, studentIds),
    eq(users.status, "active"),
  );
  const rows = await db.select().from(users).where(where).orderBy(
    asc(users.name),
    asc(users.id),
  ).limit(query.limit).offset(offsetOf(query));
  const [count] = await db.select({ total: sql<number>`count(*)` }).from(users)
    .where(where);
  return {
    students: rows.map((user) => toPublicUser(user)),
    total: count?.total ?? 0,
  };
}
