import { and, eq } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import {
  type PracticeSubmission,
  practiceSubmissions,
  submissionShares,
} from "../../../db/schema/mod.ts";
import { notFound } from "../../lib/errors.ts";
import type { Actor } from "../programs/service.ts";
import { isActiveTeacher } from "../relationships/service.ts";

/**
 * What a person may do with a practice recording (004's resource rules):
 * - owner: everything;
 * - shared: people it is shared with view and comment;
 * - teacher: an active teacher of the owner it is shared with also scores it;
 * - public: any signed-in user views a public one;
 * - admin: views and deletes, for moderation.
 */
export type SubmissionRole =
  | "owner"
  | "teacher"
  | "shared"
  | "public"
  | "admin";

export interface SubmissionAccess {
  role: SubmissionRole;
  canView: true;
  canComment: boolean;
  canEdit: boolean;
  canDelete: boolean;
  canScore: boolean;
}

/** What a role allows; an admin keeps the right to delete whatever else they are to it. */
export function accessFor(
  role: SubmissionRole,
  viewer: Pick<Actor, "role">,
): SubmissionAccess {
  const admin = viewer.role === "admin";
  return {
    role,
    canView: true,
    canComment: role === "owner" || role === "teacher" || role === "shared",
    canEdit: role === "owner",
    canDelete: role === "owner" || admin,
    canScore: role === "teacher",
  };
}

/** The viewer's role for a recording, or null when they may not see it at all. */
export async function roleOf(
  db: DbOrTx,
  viewer: Actor,
  submission: PracticeSubmission,
): Promise<SubmissionRole | null> {
  if (viewer.id === submission.ownerId) return "owner";
  const [share] = await db.select({ userId: submissionShares.userId }).from(
    submissionShares,
  ).where(and(
    eq(submissionShares.submissionId, submission.id),
    eq(submissionShares.userId, viewer.id),
  ));
  if (share) {
    return await isActiveTeacher(db, viewer.id, submission.ownerId)
      ? "teacher"
      : "shared";
  }
  if (viewer.role === "admin") return "admin";
  if (submission.isPublic) return "public";
  return null;
}

/**
 * A recording and what the viewer may do with it. 404, never 403, for one they may not see: a
 * private recording's existence is private too.
 */
export async function loadSubmission(
  db: DbOrTx,
  viewer: Actor,
  id: string,
): Promise<{ submission: PracticeSubmission; access: SubmissionAccess }> {
  const [submission] = await db.select().from(practiceSubmissions).where(
    eq(practiceSubmissions.id, id),
  );
  const role = submission ? await roleOf(db, viewer, submission) : null;
  if (!submission || !role) throw notFound("Recording");
  return { submission, access: accessFor(role, viewer) };
}
