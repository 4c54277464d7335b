import { and, eq } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import {
  accessGrants,
  type AccessType,
  enrollments,
  type Program,
  type User,
} from "../../../db/schema/mod.ts";
import { currentTier } from "../subscriptions/current.ts";
import { planCovers, type PlanId } from "../subscriptions/plans.ts";

/** The features of a program that are sold; `bundle` is an access type that covers all three. */
export type Feature = Exclude<AccessType, "bundle">;
export const FEATURES: readonly Feature[] = [
  "chatbot",
  "documentation",
  "examSimulator",
];

/** The features an access type covers. */
export const featuresOf = (accessType: AccessType): readonly Feature[] =>
  accessType === "bundle" ? FEATURES : [accessType];

type Viewer = Pick<User, "id" | "role">;
type ProgramRef = Pick<Program, "id" | "instructorId" | "level">;

export const isOwnerOrAdmin = (
  viewer: Viewer | undefined,
  program: Pick<Program, "instructorId">,
) =>
  !!viewer &&
  (viewer.role === "admin" || viewer.id === program.instructorId);

export type FeatureAccess = Record<Feature, boolean>;
export interface AccessFacts {
  role: "owner" | "admin" | "other";
  /** Access types granted for good (bought, free or given), still active. */
  grants: AccessType[];
  tier: PlanId;
}

/**
 * The one access rule, as a pure function of the facts: owner and admins always; otherwise an
 * active grant whose access type covers the feature, or a current subscription whose plan covers
 * the feature at the program's level.
 */
export function decideAccess(
  facts: AccessFacts,
  level: Program["level"],
): FeatureAccess {
  const decide = (feature: Feature) =>
    facts.role !== "other" ||
    facts.grants.some((type) => featuresOf(type).includes(feature)) ||
    planCovers(facts.tier, feature, level);
  return {
    chatbot: decide("chatbot"),
    documentation: decide("documentation"),
    examSimulator: decide("examSimulator"),
  };
}

export async function activeGrants(
  db: DbOrTx,
  userId: string,
  programId: string,
): Promise<AccessType[]> {
  const rows = await db.select({ accessType: accessGrants.accessType }).from(
    accessGrants,
  ).where(and(
    eq(accessGrants.userId, userId),
    eq(accessGrants.programId, programId),
    eq(accessGrants.status, "active"),
  ));
  return rows.map((row) => row.accessType);
}

/** What a viewer may use of a program, feature by feature. */
export async function featureAccess(
  deps: { db: DbOrTx },
  viewer: Viewer | undefined,
  program: ProgramRef,
): Promise<FeatureAccess> {
  if (!viewer) {
    return { chatbot: false, documentation: false, examSimulator: false };
  }
  const role = viewer.role === "admin"
    ? "admin"
    : viewer.id === program.instructorId
    ? "owner"
    : "other";
  if (role !== "other") {
    return decideAccess({ role, grants: [], tier: "free" }, program.level);
  }
  const [grants, tier] = await Promise.all([
    activeGrants(deps.db, viewer.id, program.id),
    currentTier(deps.db, viewer.id),
  ]);
  return decideAccess({ role, grants, tier }, program.level);
}

/** "May this user use feature F of program P?" Every gated feature asks this. */
export async function canUseFeature(
  deps: { db: DbOrTx },
  viewer: Viewer | undefined,
  program: ProgramRef,
  feature: Feature,
): Promise<boolean> {
  return (await featureAccess(deps, viewer, program))[feature];
}

/** Whether the learner has an enrollment in the program that they have not dropped. */
export async function isEnrolled(
  deps: { db: DbOrTx },
  userId: string,
  programId: string,
): Promise<boolean> {
  const [found] = await deps.db.select({ status: enrollments.status }).from(
    enrollments,
  ).where(and(
    eq(enrollments.userId, userId),
    eq(enrollments.programId, programId),
  )).limit(1);
  return !!found && found.status !== "dropped";
}
