import { and, eq, inArray, isNull } from "drizzle-orm";
import type { DbOrTx, Tx } from "../../../db/client.ts";
import {
  type Certificate,
  type CertificateRule,
  certificates,
  enrollments,
  events,
  type Program,
  programs,
  quizzes,
  users,
} from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { conflict, notFound } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { recordEvent } from "../events/record.ts";
import { newVerificationCode } from "./codes.ts";
import { signCredential } from "./credential.ts";

export type IssueDeps = Pick<Deps, "config" | "signer">;

export interface IssueRequest {
  userId: string;
  programId: string;
  basis: Certificate["basis"];
  quizAttemptId?: string | null;
  score?: number | null;
  reason?: string | null;
  issuedBy?: string | null;
  /** Reissue: the certificate this one replaces, and the name to print instead. */
  replaces?: Certificate;
  recipientName?: string;
}

/** The rule a program uses: its own, or the final exam when it has one, otherwise every lesson. */
export async function ruleOf(
  db: DbOrTx,
  program: Pick<Program, "id" | "certificateRule">,
): Promise<CertificateRule> {
  if (program.certificateRule) return program.certificateRule;
  const [finalExam] = await db.select({ id: quizzes.id }).from(quizzes).where(
    and(
      eq(quizzes.programId, program.id),
      eq(quizzes.certificateRole, "final"),
      isNull(quizzes.deletedAt),
    ),
  ).limit(1);
  return finalExam
    ? { finalExam: true, requiredQuizzes: false, allLessons: false }
    : { finalExam: false, requiredQuizzes: false, allLessons: true };
}

/** Whether a learner meets every part of a program's completion rule. */
export async function meetsRule(
  db: DbOrTx,
  userId: string,
  program: Pick<Program, "id" | "certificateRule">,
): Promise<boolean> {
  const rule = await ruleOf(db, program);
  if (!rule.finalExam && !rule.requiredQuizzes && !rule.allLessons) {
    return false;
  }
  if (rule.finalExam || rule.requiredQuizzes) {
    const roles = rule.requiredQuizzes
      ? ["final", "required"] as const
      : ["final"] as const;
    const needed = (await db.select({ id: quizzes.id }).from(quizzes).where(
      and(
        eq(quizzes.programId, program.id),
        inArray(quizzes.certificateRole, [...roles]),
        isNull(quizzes.deletedAt),
      ),
    )).map((row) => row.id);
    if (needed.length === 0) return false;
    const passed = new Set(
      (await db.select({ quizId: events.subjectId }).from(events).where(and(
        eq(events.type, "quiz.passed"),
        eq(events.userId, userId),
        inArray(events.subjectId, needed),
      ))).map((row) => row.quizId),
    );
    if (!needed.every((id) => passed.has(id))) return false;
  }
  if (rule.allLessons) {
    const [enrollment] = await db.select({ status: enrollments.status }).from(
      enrollments,
    ).where(and(
      eq(enrollments.userId, userId),
      eq(enrollments.programId, program.id),
    ));
    if (enrollment?.status !== "completed") return false;
  }
  return true;
}

export const isExpired = (
  certificate: Pick<Certificate, "expiresAt">,
  now = new Date(),
) => certificate.expiresAt !== null && certificate.expiresAt <= now;

export async function validCertificate(
  db: DbOrTx,
  userId: string,
  programId: string,
): Promise<Certificate | undefined> {
  const [found] = await db.select().from(certificates).where(and(
    eq(certificates.userId, userId),
    eq(certificates.programId, programId),
    eq(certificates.status, "valid"),
  ));
  return found;
}

/**
 * Issues a learner's certificate for a program inside the caller's transaction: once. If a valid
 * one exists it is returned unchanged (`created: false`), so passing again or a retried request
 * never makes a second. The PDF is rendered after commit (renderPendingPdfs).
 */
export async function issueCertificate(
  tx: Tx,
  deps: IssueDeps,
  request: IssueRequest,
): Promise<{ certificate: Certificate; created: boolean }> {
  const now = new Date();
  const held = request.replaces
    ? undefined
    : await validCertificate(tx, request.userId, request.programId);
  if (held && !isExpired(held, now)) {
    return { certificate: held, created: false };
  }
  // An expired certificate is renewed: it leaves the one-valid slot, its page points to the new one.
  const renewed = held ??
    (request.replaces && isExpired(request.replaces, now)
      ? request.replaces
      : undefined);
  if (held) {
    await tx.update(certificates).set({ status: "superseded" }).where(
      eq(certificates.id, held.id),
    );
  }
  const [row] = await tx.select({ user: users, program: programs }).from(users)
    .innerJoin(programs, eq(programs.id, request.programId))
    .where(eq(users.id, request.userId));
  if (!row) throw notFound("Learner or program");
  if (row.user.deletedAt) {
    throw conflict("USER_DELETED", "This account has been deleted");
  }
  // A reissue keeps the achievement's dates, unless they have run out: then it is a renewal.
  const keepDates = request.replaces && !renewed;
  const issuedAt = keepDates ? request.replaces!.issuedAt : now;
  const validityDays = row.program.certificateValidityDays;
  const facts = {
    code: newVerificationCode(now.getUTCFullYear()),
    recipientName: request.recipientName ?? request.replaces?.recipientName ??
      row.user.name,
    programId: row.program.id,
    programTitle: request.replaces?.programTitle ?? row.program.title,
    schoolName: deps.config.school.name,
    issuedAt,
    expiresAt: keepDates
      ? request.replaces!.expiresAt
      : validityDays
      ? new Date(issuedAt.getTime() + validityDays * 86_400_000)
      : null,
    score: request.score ?? request.replaces?.score ?? null,
  };
  const certificate: Certificate = {
    id: newId(),
    ...facts,
    userId: row.user.id,
    basis: request.basis,
    quizAttemptId: request.quizAttemptId ?? request.replaces?.quizAttemptId ??
      null,
    reason: request.reason ?? null,
    status: "valid",
    revokedAt: null,
    revokedReason: null,
    supersededById: null,
    replacesId: request.replaces?.id ?? null,
    pdfKey: null,
    pdfSha256: null,
    credential: await signCredential(deps.signer, deps.config.appUrl, facts),
    issuedBy: request.issuedBy ?? null,
    createdAt: now,
  };
  await tx.insert(certificates).values(certificate);
  if (held) {
    await tx.update(certificates).set({ supersededById: certificate.id })
      .where(eq(certificates.id, held.id));
  }
  await recordEvent(tx, "certificate.issued", {
    userId: certificate.userId,
    programId: certificate.programId,
    subjectId: certificate.id,
    payload: {
      basis: certificate.basis,
      replaces: certificate.replacesId,
      renews: held?.id ?? null,
    },
  });
  return { certificate, created: true };
}

/**
 * Called in the transaction of anything that can complete a program (a graded quiz, a completed
 * lesson): issues the certificate the moment the rule is met.
 */
export async function issueIfEarned(
  tx: Tx,
  deps: IssueDeps,
  userId: string,
  programId: string,
  trigger: { quizAttemptId?: string; score?: number | null } = {},
): Promise<{ certificate: Certificate; created: boolean } | undefined> {
  const [program] = await tx.select().from(programs).where(
    eq(programs.id, programId),
  );
  if (!program || !(await meetsRule(tx, userId, program))) return undefined;
  return await issueCertificate(tx, deps, {
    userId,
    programId,
    basis: trigger.quizAttemptId ? "quiz" : "completion",
    quizAttemptId: trigger.quizAttemptId ?? null,
    score: trigger.score ?? null,
  });
}
