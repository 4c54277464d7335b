import { and, desc, eq, inArray, or, type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { DbOrTx } from "../../../db/client.ts";
import {
  instructorProfiles,
  practiceSubmissions,
  type Relationship,
  relationships,
  type RelationshipStatus,
  submissionShares,
  type User,
  users,
} from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { AppError, conflict, forbidden, notFound } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { offsetOf, type PageRequest } from "../../lib/pagination.ts";
import { deliver, storeNotification } from "../notifications/service.ts";
import type { Actor } from "../programs/service.ts";

type RelDeps = Pick<Deps, "db" | "mail" | "logger" | "background" | "config">;

/** After a decline, the same person may ask again once this long has passed. */
export const DECLINE_COOLDOWN_MS = 7 * 86_400_000;

const TEACHING_ROLES = new Set(["instructor", "admin"]);

export interface RelationshipRequest {
  userId: string;
  /** What the other person becomes; by default a learner asks a teacher and an instructor invites a student. */
  as?: "teacher" | "student" | undefined;
  message?: string | undefined;
}

/** The other person of a request, who must be a live account. */
async function activeUser(db: DbOrTx, id: string): Promise<User> {
  const [user] = await db.select().from(users).where(eq(users.id, id));
  if (!user || user.status !== "active") throw notFound("User");
  return user;
}

async function acceptsStudents(db: DbOrTx, teacherId: string) {
  const [profile] = await db.select({
    accepting: instructorProfiles.acceptingStudents,
  }).from(instructorProfiles).where(eq(instructorProfiles.userId, teacherId));
  return profile?.accepting === true;
}

/**
 * POST /api/relationships/request. One row per (student, teacher) pair: asking again after a
 * decline (past the cool-down) or a removal reopens it; a request crossing one from the other side
 * makes the pair active at once.
 */
export async function requestRelationship(
  deps: RelDeps,
  actor: Actor,
  input: RelationshipRequest,
): Promise<Relationship> {
  if (input.userId === actor.id) {
    throw conflict("SELF_RELATIONSHIP", "You cannot be your own teacher");
  }
  const now = new Date();
  const outcome = await deps.db.transaction(async (tx) => {
    const other = await activeUser(tx, input.userId);
    const otherIsTeacher = input.as
      ? input.as === "teacher"
      : !TEACHING_ROLES.has(actor.role);
    const [studentId, teacherId] = otherIsTeacher
      ? [actor.id, other.id]
      : [other.id, actor.id];
    const teacherRole = otherIsTeacher ? other.role : actor.role;
    if (!TEACHING_ROLES.has(teacherRole)) {
      throw forbidden(
        otherIsTeacher ? "NOT_A_TEACHER" : "NOT_AN_INSTRUCTOR",
        otherIsTeacher
          ? "That person is not an instructor"
          : "Only instructors can invite students",
      );
    }
    const [existing] = await tx.select().from(relationships).where(and(
      eq(relationships.studentId, studentId),
      eq(relationships.teacherId, teacherId),
    ));
    const message = input.message ?? null;
    // Only a new request needs the teacher's door open; answering their invitation does not.
    const answersInvitation = existing?.status === "pending" &&
      existing.requestedBy !== actor.id;
    if (
      otherIsTeacher && existing?.status !== "active" && !answersInvitation &&
      !(await acceptsStudents(tx, teacherId))
    ) {
      throw conflict(
        "NOT_ACCEPTING_STUDENTS",
        "This instructor is not accepting new students",
      );
    }
    if (!existing) {
      const [created] = await tx.insert(relationships).values({
        id: newId(),
        studentId,
        teacherId,
        status: "pending",
        requestedBy: actor.id,
        message,
        createdAt: now,
        updatedAt: now,
      }).returning();
      return { row: created!, notifyUser: other.id, accepted: false };
    }
    if (existing.status === "active") {
      throw conflict(
        "RELATIONSHIP_EXISTS",
        "You are already connected",
        { relationshipId: existing.id },
      );
    }
    if (existing.status === "pending") {
      if (existing.requestedBy === actor.id) {
        throw conflict(
          "REQUEST_PENDING",
          "Your request is waiting for an answer",
          {
            relationshipId: existing.id,
          },
        );
      }
      const [accepted] = await tx.update(relationships).set({
        status: "active",
        updatedAt: now,
      }).where(eq(relationships.id, existing.id)).returning();
      return { row: accepted!, notifyUser: other.id, accepted: true };
    }
    if (
      existing.status === "declined" && existing.requestedBy === actor.id &&
      now.getTime() - existing.updatedAt.getTime() < DECLINE_COOLDOWN_MS
    ) {
      throw new AppError(
        409,
        "REQUEST_DECLINED",
        "This request was declined recently; you can ask again later",
        {
          retryAt: new Date(existing.updatedAt.getTime() + DECLINE_COOLDOWN_MS)
            .toISOString(),
        },
      );
    }
    const [reopened] = await tx.update(relationships).set({
      status: "pending",
      requestedBy: actor.id,
      message,
      updatedAt: now,
    }).where(eq(relationships.id, existing.id)).returning();
    return { row: reopened!, notifyUser: other.id, accepted: false };
  });
  await announce(
    deps,
    actor,
    outcome.row,
    outcome.notifyUser,
    outcome.accepted,
  );
  return outcome.row;
}

async function announce(
  deps: RelDeps,
  actor: Actor,
  row: Relationship,
  notifyUser: string,
  accepted: boolean,
) {
  const [me] = await deps.db.select({ name: users.name }).from(users).where(
    eq(users.id, actor.id),
  );
  const name = me?.name ?? "Someone";
  const teacherAsked = row.requestedBy === row.teacherId;
  const stored = await deps.db.transaction((tx) =>
    storeNotification(
      tx,
      deps,
      accepted
        ? {
          userId: notifyUser,
          type: "relationship_accepted",
          title: "Request accepted",
          message: `${name} accepted your request; you are now connected.`,
          link: `/api/relationships/${row.id}`,
          relatedId: row.id,
        }
        : {
          userId: notifyUser,
          type: "relationship_requested",
          title: teacherAsked
            ? "An instructor invited you"
            : "A new student request",
          message: teacherAsked
            ? `${name} invited you to be their student.`
            : `${name} asked you to be their teacher.`,
          link: `/api/relationships/${row.id}`,
          relatedId: row.id,
        },
    )
  );
  deliver(deps, stored);
}

/** A relationship the actor is part of, or 404. */
async function ownRelationship(
  db: DbOrTx,
  actor: Actor,
  id: string,
): Promise<Relationship> {
  const [row] = await db.select().from(relationships).where(
    eq(relationships.id, id),
  );
  if (
    !row ||
    (row.studentId !== actor.id && row.teacherId !== actor.id &&
      actor.role !== "admin")
  ) {
    throw notFound("Relationship");
  }
  return row;
}

/** GET /api/relationships/:id: one of the actor's relationships. */
export async function getRelationship(
  db: DbOrTx,
  actor: Actor,
  id: string,
): Promise<Relationship> {
  return await ownRelationship(db, actor, id);
}

/** Accept or decline: only the person who was asked, and only while pending. */
export async function answerRelationship(
  deps: RelDeps,
  actor: Actor,
  id: string,
  answer: "accept" | "decline",
): Promise<Relationship> {
  const now = new Date();
  const row = await deps.db.transaction(async (tx) => {
    const found = await ownRelationship(tx, actor, id);
    const asked = found.requestedBy === found.studentId
      ? found.teacherId
      : found.studentId;
    if (asked !== actor.id) {
      throw forbidden(
        "NOT_YOURS_TO_ANSWER",
        "Only the person who was asked can answer this request",
      );
    }
    if (found.status !== "pending") {
      throw conflict(
        "RELATIONSHIP_NOT_PENDING",
        `This request is ${found.status}, not pending`,
      );
    }
    const status: RelationshipStatus = answer === "accept"
      ? "active"
      : "declined";
    const [updated] = await tx.update(relationships).set({
      status,
      updatedAt: now,
    }).where(
      and(eq(relationships.id, id), eq(relationships.status, "pending")),
    ).returning();
    if (!updated) {
      throw conflict("RELATIONSHIP_NOT_PENDING", "This request was answered");
    }
    return updated;
  });
  if (answer === "accept") {
    await announce(deps, actor, row, row.requestedBy, true);
  }
  return row;
}

/**
 * DELETE /api/relationships/:id: either person ends it (or withdraws a request). The teacher
 * loses what the student had shared with them, in the same transaction.
 */
export async function removeRelationship(
  deps: Pick<Deps, "db">,
  actor: Actor,
  id: string,
): Promise<Relationship> {
  return await deps.db.transaction(async (tx) => {
    const found = await ownRelationship(tx, actor, id);
    if (found.status === "removed" || found.status === "declined") {
      throw conflict(
        "RELATIONSHIP_ENDED",
        `This relationship is already ${found.status}`,
      );
    }
    const [updated] = await tx.update(relationships).set({
      status: "removed",
      updatedAt: new Date(),
    }).where(eq(relationships.id, id)).returning();
    const studentSubmissions = tx.select({ id: practiceSubmissions.id }).from(
      practiceSubmissions,
    ).where(eq(practiceSubmissions.ownerId, found.studentId));
    await tx.delete(submissionShares).where(and(
      eq(submissionShares.userId, found.teacherId),
      inArray(submissionShares.submissionId, studentSubmissions),
    ));
    return updated!;
  });
}

/** Whether `teacherId` is an active teacher of `studentId`. */
export async function isActiveTeacher(
  db: DbOrTx,
  teacherId: string,
  studentId: string,
): Promise<boolean> {
  const [row] = await db.select({ id: relationships.id }).from(relationships)
    .where(and(
      eq(relationships.teacherId, teacherId),
      eq(relationships.studentId, studentId),
      eq(relationships.status, "active"),
    ));
  return !!row;
}

/** Whether two people share an active relationship, in either direction. */
export async function areConnected(
  db: DbOrTx,
  a: string,
  b: string,
): Promise<boolean> {
  return await isActiveTeacher(db, a, b) || await isActiveTeacher(db, b, a);
}

export interface RelationshipFilter extends PageRequest {
  status?: RelationshipStatus | undefined;
  /** The caller's side: relationships where they are the teacher, or the student. */
  as?: "teacher" | "student" | undefined;
  /** Whose relationships; everyone's when absent (the CLI). */
  userId?: string | undefined;
}

const student = alias(users, "student");
const teacher = alias(users, "teacher");

/** Relationships with both people's names: one person's (the API), or everyone's (the CLI). */
export async function listRelationships(
  db: DbOrTx,
  filter: RelationshipFilter,
) {
  const who = filter.userId;
  const conditions: (SQL | undefined)[] = [
    filter.status ? eq(relationships.status, filter.status) : undefined,
  ];
  if (who) {
    conditions.push(
      filter.as === "teacher"
        ? eq(relationships.teacherId, who)
        : filter.as === "student"
        ? eq(relationships.studentId, who)
        : or(
          eq(relationships.teacherId, who),
          eq(relationships.studentId, who),
        ),
    );
  }
  const where = and(...conditions);
  const rows = await db.select({
    relationship: relationships,
    studentName: student.name,
    studentAvatar: student.avatarUrl,
    teacherName: teacher.name,
    teacherAvatar: teacher.avatarUrl,
  }).from(relationships)
    .innerJoin(student, eq(student.id, relationships.studentId))
    .innerJoin(teacher, eq(teacher.id, relationships.teacherId))
    .where(where)
    .orderBy(desc(relationships.updatedAt), desc(relationships.id))
    .limit(filter.limit).offset(offsetOf(filter));
  const [count] = await db.select({ total: sql<number>`count(*)` }).from(
    relationships,
  ).where(where);
  return {
    relationships: rows.map((row) => ({
      ...toRelationshipResponse(row.relationship),
      student: {
        id: row.relationship.studentId,
        name: row.studentName,
        avatar: row.studentAvatar,
      },
      teacher: {
        id: row.relationship.teacherId,
        name: row.teacherName,
        avatar: row.teacherAvatar,
      },
    })),
    total: count?.total ?? 0,
  };
}

export function toRelationshipResponse(row: Relationship) {
  return {
    id: row.id,
    studentId: row.studentId,
    teacherId: row.teacherId,
    status: row.status,
    requestedBy: row.requestedBy,
    message: row.message,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
