import { and, eq, inArray } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import {
  type AccessType,
  enrollments,
  type Program,
  type User,
} from "../../../db/schema/mod.ts";

/** The features of a program that are sold; `bundle` is an access type that covers all three. */
export type Feature = Exclude<AccessType, "bundle">;

type Viewer = Pick<User, "id" | "role">;

export const isOwnerOrAdmin = (
  viewer: Viewer | undefined,
  program: Pick<Program, "instructorId">,
) =>
  !!viewer &&
  (viewer.role === "admin" || viewer.id === program.instructorId);

/**
 * "May this user use feature F of program P?" The one rule every gated feature asks: the owner and
 * admins always; otherwise an active enrollment whose access type covers F. (Subscriptions join
 * this rule with the enrollment issue.)
 */
export async function canUseFeature(
  deps: { db: DbOrTx },
  viewer: Viewer | undefined,
  program: Pick<Program, "id" | "instructorId">,
  feature: Feature,
): Promise<boolean> {
  if (!viewer) return false;
  if (isOwnerOrAdmin(viewer, program)) return true;
  const [found] = await deps.db.select({ id: enrollments.id }).from(
    enrollments,
  ).where(and(
    eq(enrollments.userId, viewer.id),
    eq(enrollments.programId, program.id),
    eq(enrollments.status, "active"),
    inArray(enrollments.accessType, [feature, "bundle"]),
  )).limit(1);
  return !!found;
}

/** Enrolled with any access type, e.g. to review the program. */
export async function isEnrolled(
  deps: { db: DbOrTx },
  userId: string,
  programId: string,
): Promise<boolean> {
  const [found] = await deps.db.select({ id: enrollments.id }).from(
    enrollments,
  ).where(and(
    eq(enrollments.userId, userId),
    eq(enrollments.programId, programId),
    eq(enrollments.status, "active"),
  )).limit(1);
  return !!found;
}
