import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import {
  type AccessGrant,
  accessGrants,
  type AccessType,
  type Enrollment,
  enrollments,
  type GrantSource,
  type Program,
  programs,
  users,
} from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { AppError, conflict, notFound } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { formatMoney } from "../../lib/money.ts";
import {
  activeGrants,
  type FeatureAccess,
  featureAccess,
  featuresOf,
} from "../access/service.ts";
import { priceOf, UPGRADE_URL } from "../access/errors.ts";
import { paymentRequiredFor } from "../access/errors.ts";
import { audit, type AuditedActor } from "../audit/service.ts";
import { recordEvent } from "../events/record.ts";
import { notify, type NotifyDeps } from "../notifications/service.ts";
import { type Actor, getVisibleProgram } from "../programs/service.ts";
import { currentTier } from "../subscriptions/current.ts";
import { PLANS, UNLIMITED } from "../subscriptions/plans.ts";
import { getUser } from "../users/service.ts";
import { countsAsLearner } from "./counting.ts";

/** Recomputes programs.enrolled_count (one indexed statement) instead of incrementing it: no drift. */
export async function refreshEnrolledCount(db: DbOrTx, programId: string) {
  await db.update(programs).set({
    enrolledCount: sql`(
      SELECT count(*) FROM enrollments e
      WHERE e.program_id = ${programId} AND ${countsAsLearner("e")}
    )`,
  }).where(eq(programs.id, programId));
}

export async function findEnrollment(
  db: DbOrTx,
  userId: string,
  programId: string,
): Promise<Enrollment | undefined> {
  const [found] = await db.select().from(enrollments).where(and(
    eq(enrollments.userId, userId),
    eq(enrollments.programId, programId),
  ));
  return found;
}

/** The learner's enrollment in the program, created if missing and resumed if dropped. */
export async function ensureEnrollment(
  db: DbOrTx,
  userId: string,
  programId: string,
  now = new Date(),
): Promise<{ enrollment: Enrollment; created: boolean; resumed: boolean }> {
  const inserted = await db.insert(enrollments).values({
    id: newId(),
    userId,
    programId,
    createdAt: now,
    updatedAt: now,
  }).onConflictDoNothing().returning();
  if (inserted[0]) {
    await recordEvent(db, "enrollment.created", {
      userId,
      programId,
      subjectId: inserted[0].id,
    });
    return { enrollment: inserted[0], created: true, resumed: false };
  }
  let enrollment = (await findEnrollment(db, userId, programId))!;
  const resumed = enrollment.status === "dropped";
  if (resumed) {
    [enrollment] = await db.update(enrollments).set({
      status: "in_progress",
      droppedAt: null,
      updatedAt: now,
    }).where(eq(enrollments.id, enrollment.id)).returning() as [Enrollment];
  }
  return { enrollment, created: false, resumed };
}

export interface GrantRequest {
  userId: string;
  programId: string;
  accessType: AccessType;
  source: GrantSource;
  paymentId?: string;
}

/**
 * Gives an access type for good. Idempotent: an active grant of the same type stays as it is (and
 * `granted` is false); a refunded or revoked one becomes active again. Call inside a transaction.
 */
export async function grantAccess(
  tx: DbOrTx,
  request: GrantRequest,
  now = new Date(),
): Promise<
  {
    enrollment: Enrollment;
    grant: AccessGrant;
    granted: boolean;
    /** The enrollment itself is new (not only the access type). */
    enrolled: boolean;
  }
> {
  const { enrollment, created: enrolled } = await ensureEnrollment(
    tx,
    request.userId,
    request.programId,
    now,
  );
  const [existing] = await tx.select().from(accessGrants).where(and(
    eq(accessGrants.enrollmentId, enrollment.id),
    eq(accessGrants.accessType, request.accessType),
  ));
  let grant: AccessGrant;
  let granted = true;
  if (existing?.status === "active") {
    grant = existing;
    granted = false;
  } else if (existing) {
    [grant] = await tx.update(accessGrants).set({
      status: "active",
      source: request.source,
      paymentId: request.paymentId ?? null,
      revokedAt: null,
      revokeReason: null,
      updatedAt: now,
    }).where(eq(accessGrants.id, existing.id)).returning() as [AccessGrant];
  } else {
    [grant] = await tx.insert(accessGrants).values({
      id: newId(),
      enrollmentId: enrollment.id,
      userId: request.userId,
      programId: request.programId,
      accessType: request.accessType,
      source: request.source,
      paymentId: request.paymentId ?? null,
      createdAt: now,
      updatedAt: now,
    }).returning() as [AccessGrant];
  }
  await refreshEnrolledCount(tx, request.programId);
  return { enrollment, grant, granted, enrolled };
}

/** Ends grants (a refund, or an administrator); returns how many were active. */
export async function endGrants(
  tx: DbOrTx,
  where: { paymentId: string } | {
    userId: string;
    programId: string;
    accessType?: AccessType;
  },
  status: "refunded" | "revoked",
  reason: string,
  now = new Date(),
): Promise<number> {
  const condition = "paymentId" in where
    ? eq(accessGrants.paymentId, where.paymentId)
    : and(
      eq(accessGrants.userId, where.userId),
      eq(accessGrants.programId, where.programId),
      where.accessType
        ? eq(accessGrants.accessType, where.accessType)
        : undefined,
    );
  const ended = await tx.update(accessGrants).set({
    status,
    revokedAt: now,
    revokeReason: reason,
    updatedAt: now,
  }).where(and(condition, eq(accessGrants.status, "active"))).returning({
    programId: accessGrants.programId,
  });
  for (const programId of new Set(ended.map((row) => row.programId))) {
    await refreshEnrolledCount(tx, programId);
  }
  return ended.length;
}

/** Whether the active grants already cover every feature of an access type. */
export const grantsCover = (grants: AccessType[], accessType: AccessType) =>
  featuresOf(accessType).every((feature) =>
    grants.some((type) => featuresOf(type).includes(feature))
  );

export function assertEnrollable(program: Program) {
  if (program.status !== "published" || program.deletedAt) {
    throw conflict(
      "PROGRAM_NOT_AVAILABLE",
      "This program is not open for enrollment",
    );
  }
}

export interface EnrollmentResult {
  enrollment: Enrollment;
  access: FeatureAccess;
  accessTypes: AccessType[];
  /** True when this call changed nothing: the learner already had what was asked. */
  alreadyEnrolled: boolean;
}

/** The enrollment as the API returns it, with what the learner may use now. */
export async function enrollmentResult(
  deps: Pick<Deps, "db">,
  viewer: Actor,
  program: Pick<Program, "id" | "instructorId" | "level">,
  alreadyEnrolled: boolean,
): Promise<EnrollmentResult> {
  const [enrollment, access, accessTypes] = await Promise.all([
    findEnrollment(deps.db, viewer.id, program.id),
    featureAccess(deps, viewer, program),
    activeGrants(deps.db, viewer.id, program.id),
  ]);
  return {
    enrollment: enrollment!,
    access,
    accessTypes,
    alreadyEnrolled,
  };
}

/**
 * Free tier: at most `limits.programs` programs at once (dropped ones do not count, resuming one
 * does). Call inside the write transaction that enrolls, so parallel requests cannot all pass.
 */
async function assertWithinProgramLimit(
  db: DbOrTx,
  userId: string,
  programId: string,
) {
  const tier = await currentTier(db, userId);
  const limit = PLANS[tier].limits.programs;
  if (limit === UNLIMITED) return;
  const existing = await findEnrollment(db, userId, programId);
  if (existing && existing.status !== "dropped") return;
  const [row] = await db.select({ n: sql<number>`count(*)` }).from(enrollments)
    .where(and(
      eq(enrollments.userId, userId),
      sql`${enrollments.status} != 'dropped'`,
    ));
  if ((row?.n ?? 0) >= limit) {
    throw new AppError(
      402,
      "PLAN_LIMIT_REACHED",
      `The ${
        PLANS[tier].name
      } plan allows ${limit} programs at once; drop one or upgrade`,
      { limit, tier, upgradeUrl: UPGRADE_URL },
    );
  }
}

/**
 * POST /api/programs/:id/enroll without a payment: a free access type enrolls at once; a paid one
 * the learner's plan covers enrolls under the plan; otherwise 402 with prices and plans.
 */
export async function enrollWithoutPayment(
  deps: Pick<Deps, "db" | "mail" | "logger" | "background" | "config">,
  viewer: Actor,
  programRef: string,
  accessType: AccessType,
): Promise<EnrollmentResult> {
  const program = await getVisibleProgram(deps, viewer, programRef);
  assertEnrollable(program);
  if (program.instructorId === viewer.id) {
    throw conflict(
      "OWN_PROGRAM",
      "You teach this program: you already have every part of it",
    );
  }
  const grants = await activeGrants(deps.db, viewer.id, program.id);
  if (grantsCover(grants, accessType)) {
    // Already bought: at most a dropped enrollment to resume.
    const { resumed } = await deps.db.transaction(async (tx) => {
      await assertWithinProgramLimit(tx, viewer.id, program.id);
      const result = await ensureEnrollment(tx, viewer.id, program.id);
      if (result.resumed) await refreshEnrolledCount(tx, program.id);
      return result;
    });
    return await enrollmentResult(deps, viewer, program, !resumed);
  }
  if (priceOf(program, accessType) === 0) {
    const { granted, enrolled } = await deps.db.transaction(async (tx) => {
      await assertWithinProgramLimit(tx, viewer.id, program.id);
      return await grantAccess(tx, {
        userId: viewer.id,
        programId: program.id,
        accessType,
        source: "free",
      });
    });
    if (granted) {
      await announceEnrollment(deps, {
        userId: viewer.id,
        program,
        accessType,
        newStudent: enrolled,
      });
    }
    return await enrollmentResult(deps, viewer, program, !granted);
  }
  const access = await featureAccess(deps, viewer, program);
  if (featuresOf(accessType).every((feature) => access[feature])) {
    // The plan covers it: the enrollment tracks progress; access lasts as long as the plan.
    const { created, resumed } = await deps.db.transaction(async (tx) => {
      await assertWithinProgramLimit(tx, viewer.id, program.id);
      const result = await ensureEnrollment(tx, viewer.id, program.id);
      await refreshEnrolledCount(tx, program.id);
      return result;
    });
    if (created) {
      await announceEnrollment(deps, {
        userId: viewer.id,
        program,
        accessType,
        newStudent: true,
      });
    }
    return await enrollmentResult(
      deps,
      viewer,
      program,
      !created && !resumed,
    );
  }
  const missing = featuresOf(accessType).find((feature) => !access[feature])!;
  const error = paymentRequiredFor(program, missing);
  error.details.accessType = accessType;
  error.details.price = priceOf(program, accessType) / 100;
  error.details.createIntentUrl = "/api/payments/create-intent";
  throw error;
}

/** The learner stops following a program; access they bought stays. */
export async function dropEnrollment(
  deps: Pick<Deps, "db">,
  viewer: Actor,
  programRef: string,
): Promise<Enrollment> {
  const program = await getVisibleProgram(deps, viewer, programRef);
  return await deps.db.transaction(async (tx) => {
    const enrollment = await findEnrollment(tx, viewer.id, program.id);
    if (!enrollment) throw notFound("Enrollment");
    const now = new Date();
    const [dropped] = await tx.update(enrollments).set({
      status: "dropped",
      droppedAt: now,
      updatedAt: now,
    }).where(eq(enrollments.id, enrollment.id)).returning();
    await refreshEnrolledCount(tx, program.id);
    return dropped!;
  });
}

const ACCESS_LABELS: Record<AccessType, string> = {
  chatbot: "AI tutor",
  documentation: "lessons",
  examSimulator: "exam simulator",
  bundle: "full (lessons, AI tutor and exam simulator)",
};

export interface EnrollmentNews {
  userId: string;
  program: Pick<Program, "id" | "title" | "instructorId">;
  accessType: AccessType;
  /** A first enrollment in the program (not another access type): the instructor hears of it. */
  newStudent: boolean;
  /** What the learner paid, when a payment bought it. */
  paid?: { amount: number; currency: string; paymentId: string };
}

/**
 * After an enrollment or a new access type commits: the learner's confirmation (a receipt when it
 * was paid for) and, for a new student, a notice to the program's instructor.
 */
export async function announceEnrollment(
  deps: NotifyDeps,
  news: EnrollmentNews,
) {
  const { program, paid } = news;
  const learner = await getUser(deps, news.userId);
  const link = `/api/programs/${program.id}`;
  const paidLine = paid
    ? `Payment received: ${formatMoney(paid.amount, paid.currency)}.`
    : undefined;
  await notify(deps, {
    userId: learner.id,
    type: paid ? "payment_succeeded" : "enrollment",
    title: paid
      ? `Payment received for ${program.title}`
      : `You are enrolled in ${program.title}`,
    message: [
      paidLine,
      `You now have ${
        ACCESS_LABELS[news.accessType]
      } access to "${program.title}".`,
    ].filter(Boolean).join(" "),
    link,
    relatedId: paid?.paymentId ?? program.id,
    email: {
      template: "enrollment_confirmed",
      data: {
        name: learner.name,
        program: program.title,
        access: ACCESS_LABELS[news.accessType],
        link: `${deps.config.appUrl}${link}`,
        ...(paidLine ? { paid: paidLine } : {}),
      },
    },
  });
  if (news.newStudent && program.instructorId !== learner.id) {
    await notify(deps, {
      userId: program.instructorId,
      type: "new_student",
      title: "New student enrolled",
      message: `${learner.name} enrolled in ${program.title}`,
      link,
      relatedId: program.id,
    });
  }
}

export function toEnrollmentResponse(result: EnrollmentResult) {
  const { enrollment } = result;
  return {
    id: enrollment.id,
    programId: enrollment.programId,
    status: enrollment.status,
    accessTypes: result.accessTypes,
    access: result.access,
    enrolledAt: enrollment.createdAt.toISOString(),
    completedAt: enrollment.completedAt?.toISOString() ?? null,
    lastAccessedAt: enrollment.lastAccessedAt?.toISOString() ?? null,
  };
}

/** `enrollments grant` (CLI): an administrator gives an access type for good, e.g. without Stripe. */
export async function adminGrantAccess(
  deps: NotifyDeps,
  actor: AuditedActor,
  userId: string,
  programId: string,
  accessType: AccessType,
) {
  const result = await deps.db.transaction(async (tx) => {
    const granted = await grantAccess(tx, {
      userId,
      programId,
      accessType,
      source: "admin",
    });
    if (granted.granted) {
      await audit(tx, actor, {
        action: "enrollment.grant",
        targetType: "enrollment",
        targetId: granted.enrollment.id,
        after: { userId, programId, accessType },
      });
    }
    return granted;
  });
  if (result.granted) {
    const [program] = await deps.db.select().from(programs).where(
      eq(programs.id, programId),
    );
    await announceEnrollment(deps, {
      userId,
      program: program!,
      accessType,
      newStudent: result.enrolled,
    });
  }
  return result;
}

/** `enrollments revoke` (CLI): ends active grants; progress and the enrollment stay. */
export async function adminRevokeAccess(
  deps: Pick<Deps, "db">,
  actor: AuditedActor,
  userId: string,
  programId: string,
  accessType: AccessType | undefined,
  reason: string,
): Promise<number> {
  const revoked = await deps.db.transaction(async (tx) => {
    const count = await endGrants(
      tx,
      { userId, programId, ...(accessType ? { accessType } : {}) },
      "revoked",
      reason,
    );
    if (count > 0) {
      await audit(tx, actor, {
        action: "enrollment.revoke",
        targetType: "user",
        targetId: userId,
        before: { programId, accessType: accessType ?? "all", active: count },
        after: { programId, reason },
      });
    }
    return count;
  });
  if (revoked === 0) {
    throw conflict(
      "NOTHING_TO_REVOKE",
      "This learner has no active access of that kind to this program",
    );
  }
  return revoked;
}

/** Enrollments with their grants, newest first: for `enrollments list`. */
export async function listEnrollments(
  deps: Pick<Deps, "db">,
  filter: { userId?: string; programId?: string; limit: number },
) {
  const rows = await deps.db.select({
    enrollment: enrollments,
    email: users.email,
    title: programs.title,
  }).from(enrollments)
    .innerJoin(users, eq(users.id, enrollments.userId))
    .innerJoin(programs, eq(programs.id, enrollments.programId))
    .where(and(
      filter.userId ? eq(enrollments.userId, filter.userId) : undefined,
      filter.programId
        ? eq(enrollments.programId, filter.programId)
        : undefined,
    ))
    .orderBy(desc(enrollments.createdAt), desc(enrollments.id))
    .limit(filter.limit);
  const grants = rows.length === 0 ? [] : await deps.db.select().from(
    accessGrants,
  ).where(inArray(
    accessGrants.enrollmentId,
    rows.map((row) => row.enrollment.id),
  ));
  return rows.map((row) => ({
    id: row.enrollment.id,
    user: { id: row.enrollment.userId, email: row.email },
    program: { id: row.enrollment.programId, title: row.title },
    status: row.enrollment.status,
    enrolledAt: row.enrollment.createdAt.toISOString(),
    grants: grants.filter((grant) => grant.enrollmentId === row.enrollment.id)
      .map((grant) => ({
        accessType: grant.accessType,
        status: grant.status,
        source: grant.source,
        paymentId: grant.paymentId,
        revokeReason: grant.revokeReason,
      })),
  }));
}
