import { and, desc, eq } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import {
  type ApplicationStatus,
  type InstructorApplication,
  instructorApplications,
  instructorProfiles,
  type SocialLinks,
  type User,
  users,
} from "../../../db/schema/mod.ts";
import { conflict, notFound, validationFailed } from "../../lib/errors.ts";
import { isId, newId } from "../../lib/ids.ts";
import { asSentence } from "../../lib/plain_text.ts";
import { audit, type AuditedActor } from "../audit/service.ts";
import {
  adminIds,
  deliver,
  notifyAll,
  type NotifyDeps,
  storeNotification,
} from "../notifications/service.ts";
import { ensureInstructorProfile } from "./service.ts";

export interface ApplicationInput {
  bio: string;
  expertise: string[];
  experience?: string | undefined;
  education?: string | undefined;
  socialLinks?: SocialLinks | undefined;
  sampleWork?: string | undefined;
}

const isUniqueViolation = (error: unknown) =>
  String((error as { cause?: unknown }).cause ?? error).includes("UNIQUE");

function pendingConflict(applicationId?: string) {
  return conflict(
    "APPLICATION_PENDING",
    "You already have an application waiting for review",
    applicationId ? { applicationId } : {},
  );
}

/** POST /api/instructors/apply: one pending application per person; administrators are told. */
export async function applyToTeach(
  deps: NotifyDeps,
  applicant: Pick<User, "id" | "name" | "role">,
  input: ApplicationInput,
): Promise<InstructorApplication> {
  if (applicant.role !== "student") {
    throw conflict(
      "ALREADY_INSTRUCTOR",
      "You can already create programs: your account is an instructor or admin",
    );
  }
  let application: InstructorApplication;
  try {
    application = await deps.db.transaction(async (tx) => {
      const [open] = await tx.select({ id: instructorApplications.id })
        .from(instructorApplications).where(and(
          eq(instructorApplications.userId, applicant.id),
          eq(instructorApplications.status, "pending"),
        ));
      if (open) throw pendingConflict(open.id);
      const [created] = await tx.insert(instructorApplications).values({
        id: newId(),
        userId: applicant.id,
        status: "pending",
        bio: input.bio,
        expertise: input.expertise,
        experience: input.experience ?? null,
        education: input.education ?? null,
        socialLinks: input.socialLinks ?? {},
        sampleWork: input.sampleWork ?? null,
        createdAt: new Date(),
      }).returning();
      return created!;
    });
  } catch (error) {
    // Two applications racing: the partial unique index lets only one be pending.
    if (isUniqueViolation(error)) throw pendingConflict();
    throw error;
  }
  await notifyAll(deps, await adminIds(deps.db), {
    type: "application_submitted",
    title: "New instructor application",
    message: `${applicant.name} applied to teach (${
      input.expertise.slice(0, 5).join(", ") || "no expertise listed"
    }).`,
    link: `/api/instructors/applications?status=pending`,
    relatedId: application.id,
  });
  return application;
}

export interface ApplicationView {
  application: InstructorApplication;
  user: Pick<User, "id" | "name" | "email" | "avatarUrl">;
}

const applicantColumns = {
  id: users.id,
  name: users.name,
  email: users.email,
  avatarUrl: users.avatarUrl,
};

export async function listApplications(
  deps: { db: DbOrTx },
  filter: {
    status?: ApplicationStatus | undefined;
    userId?: string | undefined;
    limit: number;
    offset: number;
  },
): Promise<{ rows: ApplicationView[]; total: number }> {
  const where = and(
    filter.status
      ? eq(instructorApplications.status, filter.status)
      : undefined,
    filter.userId
      ? eq(instructorApplications.userId, filter.userId)
      : undefined,
  );
  const [rows, total] = await Promise.all([
    deps.db.select({
      application: instructorApplications,
      user: applicantColumns,
    }).from(instructorApplications)
      .innerJoin(users, eq(users.id, instructorApplications.userId))
      .where(where)
      // Oldest pending first would suit a queue, but 002 lists newest first; status filters the queue.
      .orderBy(
        desc(instructorApplications.createdAt),
        desc(instructorApplications.id),
      )
      .limit(filter.limit).offset(filter.offset),
    deps.db.$count(instructorApplications, where),
  ]);
  return { rows, total };
}

async function loadApplication(
  tx: DbOrTx,
  id: string,
): Promise<{ application: InstructorApplication; user: User }> {
  if (!isId(id)) throw notFound("Application");
  const [row] = await tx.select({
    application: instructorApplications,
    user: users,
  }).from(instructorApplications)
    .innerJoin(users, eq(users.id, instructorApplications.userId))
    .where(eq(instructorApplications.id, id));
  if (!row) throw notFound("Application");
  if (row.application.status !== "pending") {
    throw alreadyDecided(row.application.status);
  }
  return row;
}

const alreadyDecided = (status: string) =>
  conflict("APPLICATION_DECIDED", `This application was already ${status}`);

/** The decision's update matches only while the application is pending (another process may race). */
const stillPending = (id: string) =>
  and(
    eq(instructorApplications.id, id),
    eq(instructorApplications.status, "pending"),
  );

const reviewerOf = (actor: AuditedActor) =>
  actor.origin?.actorId ?? (actor.id === "cli" ? null : actor.id);

/**
 * Approval, in one transaction: the application, the role, the instructor profile (filled from the
 * application), the audit entry and the applicant's notification all commit together.
 */
export async function approveApplication(
  deps: NotifyDeps,
  actor: AuditedActor,
  id: string,
): Promise<ApplicationView> {
  const { view, stored } = await deps.db.transaction(async (tx) => {
    const { application, user } = await loadApplication(tx, id);
    if (user.status !== "active") {
      throw conflict(
        "ACCOUNT_INACTIVE",
        `The applicant's account is ${user.status}`,
      );
    }
    const now = new Date();
    const [approved] = await tx.update(instructorApplications).set({
      status: "approved",
      reviewedBy: reviewerOf(actor),
      reviewedAt: now,
    }).where(stillPending(application.id)).returning();
    if (!approved) throw alreadyDecided("decided");
    const role = user.role === "admin" ? "admin" : "instructor";
    await tx.update(users).set({
      role,
      requestedRole: null,
      bio: user.bio ?? application.bio,
      socialLinks: { ...application.socialLinks, ...user.socialLinks },
      updatedAt: now,
    }).where(eq(users.id, user.id));
    await ensureInstructorProfile(tx, user.id);
    await tx.update(instructorProfiles).set({
      expertise: application.expertise,
      updatedAt: now,
    }).where(eq(instructorProfiles.userId, user.id));
    await audit(tx, actor, {
      action: "application.approve",
      targetType: "instructor_application",
      targetId: application.id,
      before: { status: "pending", role: user.role },
      after: { status: "approved", role, userId: user.id },
    });
    const stored = await storeNotification(tx, deps, {
      userId: user.id,
      type: "application_approved",
      title: "You are now an instructor",
      message:
        "Your application to teach was approved. You can create programs now.",
      link: `/api/instructors/${user.id}`,
      relatedId: application.id,
    });
    return { view: { application: approved!, user }, stored };
  });
  deliver(deps, stored);
  return view;
}

export async function rejectApplication(
  deps: NotifyDeps,
  actor: AuditedActor,
  id: string,
  reason: string,
): Promise<ApplicationView> {
  if (!reason.trim()) {
    throw validationFailed({ reason: "Is required" }, "Give a reason");
  }
  const { view, stored } = await deps.db.transaction(async (tx) => {
    const { application, user } = await loadApplication(tx, id);
    const [rejected] = await tx.update(instructorApplications).set({
      status: "rejected",
      rejectionReason: reason,
      reviewedBy: reviewerOf(actor),
      reviewedAt: new Date(),
    }).where(stillPending(application.id)).returning();
    if (!rejected) throw alreadyDecided("decided");
    await audit(tx, actor, {
      action: "application.reject",
      targetType: "instructor_application",
      targetId: application.id,
      before: { status: "pending" },
      after: { status: "rejected", reason, userId: user.id },
    });
    const stored = await storeNotification(tx, deps, {
      userId: user.id,
      type: "application_rejected",
      title: "Your instructor application was declined",
      message: `Your application to teach was declined: ${
        asSentence(reason)
      } You are welcome to apply again.`,
      relatedId: application.id,
    });
    return { view: { application: rejected!, user }, stored };
  });
  deliver(deps, stored);
  return view;
}

/** 002's shape, with what else the application holds. */
export function toApplicationResponse({ application, user }: ApplicationView) {
  return {
    id: application.id,
    user: {
      id: user.id,
      name: user.name,
      email: user.email,
      avatar: user.avatarUrl,
    },
    bio: application.bio,
    expertise: application.expertise,
    experience: application.experience,
    education: application.education,
    socialLinks: application.socialLinks,
    sampleWork: application.sampleWork,
    status: application.status,
    rejectionReason: application.rejectionReason,
    appliedAt: application.createdAt.toISOString(),
    reviewedAt: application.reviewedAt?.toISOString() ?? null,
  };
}
