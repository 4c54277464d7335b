import {
  and,
  count,
  desc,
  eq,
  gt,
  isNull,
  lt,
  lte,
  ne,
  or,
  type SQL,
} from "drizzle-orm";
import type { DbOrTx, Tx } from "../../../db/client.ts";
import {
  type Certificate,
  certificates,
  programs,
  quizAttempts,
} from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { AppError, conflict, forbidden, notFound } from "../../lib/errors.ts";
import { likeContains } from "../../lib/like.ts";
import { offsetOf, type PageRequest } from "../../lib/pagination.ts";
import { audit } from "../audit/service.ts";
import { recordEvent } from "../events/record.ts";
import type { Actor } from "../programs/service.ts";
import { ensurePdf, tellLearner } from "./announce.ts";
import { canonicalCode } from "./codes.ts";
import { issueCertificate, meetsRule } from "./issue.ts";

type ServiceDeps = Pick<
  Deps,
  "db" | "config" | "signer" | "storage" | "logger" | "background" | "mail"
>;

/** The account behind an action, for `issued_by`; the CLI (actor id "cli") is no account. */
const accountOf = (actor: Actor) => actor.id === "cli" ? null : actor.id;

/** What a verifier is told: the record's status, with expiry worked out at the time of asking. */
export const CERTIFICATE_STATES = [
  "valid",
  "expired",
  "revoked",
  "superseded",
] as const;
export type CertificateState = (typeof CERTIFICATE_STATES)[number];

export function stateOf(
  certificate: Pick<Certificate, "status" | "expiresAt">,
  now = new Date(),
): CertificateState {
  if (certificate.status !== "valid") return certificate.status;
  return certificate.expiresAt && certificate.expiresAt <= now
    ? "expired"
    : "valid";
}

/** A certificate by its code as a person typed it (any case, with or without dashes). */
export async function findByCode(
  db: DbOrTx,
  input: string,
): Promise<Certificate | undefined> {
  const code = canonicalCode(input);
  if (!code) return undefined;
  const [found] = await db.select().from(certificates).where(
    eq(certificates.code, code),
  );
  return found;
}

/** By id or by code: what an administrator has at hand. */
export async function findCertificate(
  db: DbOrTx,
  idOrCode: string,
): Promise<Certificate> {
  const code = canonicalCode(idOrCode);
  const [found] = await db.select().from(certificates).where(
    code ? eq(certificates.code, code) : eq(certificates.id, idOrCode),
  );
  if (!found) throw notFound("Certificate");
  return found;
}

/** The learner it belongs to, an admin, or the program's instructor. */
export async function getCertificateFor(
  db: DbOrTx,
  actor: Actor,
  id: string,
  options: { instructorMaySee: boolean } = { instructorMaySee: true },
): Promise<Certificate> {
  const certificate = await findCertificate(db, id);
  if (actor.role === "admin" || certificate.userId === actor.id) {
    return certificate;
  }
  if (options.instructorMaySee && actor.role === "instructor") {
    const [program] = await db.select({ instructorId: programs.instructorId })
      .from(programs).where(eq(programs.id, certificate.programId));
    if (program?.instructorId === actor.id) return certificate;
  }
  // Not 403: whether a certificate id exists is not the caller's business.
  throw notFound("Certificate");
}

export interface CertificateFilter extends PageRequest {
  userId?: string;
  programId?: string;
  /** As verifiers see it: `valid` leaves out expired ones, `expired` is valid ones past their date. */
  status?: CertificateState;
  /** Part of the recipient's name or of the code. */
  search?: string;
  /** Leave out certificates that were replaced by a reissue. */
  withoutSuperseded?: boolean;
}

export async function listCertificates(
  db: DbOrTx,
  filter: CertificateFilter,
): Promise<{ rows: Certificate[]; total: number }> {
  const conditions: SQL[] = [];
  if (filter.userId) conditions.push(eq(certificates.userId, filter.userId));
  if (filter.programId) {
    conditions.push(eq(certificates.programId, filter.programId));
  }
  const now = new Date();
  if (filter.status === "valid") {
    conditions.push(
      eq(certificates.status, "valid"),
      or(isNull(certificates.expiresAt), gt(certificates.expiresAt, now))!,
    );
  } else if (filter.status === "expired") {
    conditions.push(
      eq(certificates.status, "valid"),
      lte(certificates.expiresAt, now),
    );
  } else if (filter.status) {
    conditions.push(eq(certificates.status, filter.status));
  }
  if (filter.withoutSuperseded) {
    conditions.push(ne(certificates.status, "superseded"));
  }
  if (filter.search) {
    conditions.push(
      or(
        likeContains(certificates.recipientName, filter.search),
        likeContains(certificates.code, filter.search.toUpperCase()),
      )!,
    );
  }
  const where = conditions.length ? and(...conditions) : undefined;
  const [rows, [totals]] = await Promise.all([
    db.select().from(certificates).where(where)
      .orderBy(desc(certificates.issuedAt), desc(certificates.createdAt))
      .limit(filter.limit).offset(offsetOf(filter)),
    db.select({ total: count() }).from(certificates).where(where),
  ]);
  return { rows, total: totals?.total ?? 0 };
}

/** The certificate that finally replaced this one, following reissues. */
export async function replacementOf(
  db: DbOrTx,
  certificate: Certificate,
): Promise<Certificate | undefined> {
  let current = certificate;
  for (let hops = 0; current.supersededById && hops < 50; hops++) {
    const [next] = await db.select().from(certificates).where(
      eq(certificates.id, current.supersededById),
    );
    if (!next) break;
    current = next;
  }
  return current === certificate ? undefined : current;
}

/** After commit: the PDF first (so the email's link has a document behind it), then the learner. */
async function renderAndTell(
  deps: ServiceDeps,
  certificate: Certificate,
  news: Parameters<typeof tellLearner>[2],
): Promise<Certificate> {
  const rendered = await ensurePdf(deps, certificate);
  await tellLearner(deps, rendered, news);
  return rendered;
}

const tellIssued = (deps: ServiceDeps, certificate: Certificate) =>
  renderAndTell(deps, certificate, { kind: "issued" });

const auditedFields = (c: Certificate) => ({
  code: c.code,
  userId: c.userId,
  programId: c.programId,
  status: c.status,
});

export interface ManualIssueInput {
  userId: string;
  programId: string;
  reason: string;
}

/**
 * An administrator's certificate (001), with the reason kept on the record. A learner who already
 * holds a valid certificate for the program keeps it: `created` is false and nothing changes.
 */
export async function issueManually(
  deps: ServiceDeps,
  actor: Actor,
  input: ManualIssueInput,
): Promise<{ certificate: Certificate; created: boolean }> {
  const result = await deps.db.transaction(async (tx) => {
    const issued = await issueCertificate(tx, deps, {
      userId: input.userId,
      programId: input.programId,
      basis: "manual",
      reason: input.reason,
      issuedBy: accountOf(actor),
    });
    if (issued.created) {
      await audit(tx, actor, {
        action: "certificate.issue",
        targetType: "certificate",
        targetId: issued.certificate.id,
        after: { ...auditedFields(issued.certificate), reason: input.reason },
      });
    }
    return issued;
  });
  if (!result.created) return result;
  return {
    certificate: await tellIssued(deps, result.certificate),
    created: true,
  };
}

export interface GenerateInput {
  userId: string;
  programId: string;
  quizAttemptId?: string | undefined;
}

/**
 * 002's `POST /api/certificates/generate`: issue for a passed exam attempt, or for a learner who
 * meets the program's completion rule. Checked on the server; the caller's score is not trusted.
 */
export async function generateCertificate(
  deps: ServiceDeps,
  actor: Actor,
  input: GenerateInput,
): Promise<{ certificate: Certificate; created: boolean }> {
  const result = await deps.db.transaction(async (tx) => {
    const issued = await issueForRequest(tx, deps, actor, input);
    if (issued.created) {
      await audit(tx, actor, {
        action: "certificate.generate",
        targetType: "certificate",
        targetId: issued.certificate.id,
        after: auditedFields(issued.certificate),
      });
    }
    return issued;
  });
  if (!result.created) return result;
  return {
    certificate: await tellIssued(deps, result.certificate),
    created: true,
  };
}

/** The checks and the issue behind `generateCertificate`, inside its transaction. */
async function issueForRequest(
  tx: Tx,
  deps: ServiceDeps,
  actor: Actor,
  input: GenerateInput,
) {
  if (input.quizAttemptId) {
    const [attempt] = await tx.select({
      userId: quizAttempts.userId,
      programId: quizAttempts.programId,
      mode: quizAttempts.mode,
      status: quizAttempts.status,
      passed: quizAttempts.passed,
      scorePercentage: quizAttempts.scorePercentage,
    }).from(quizAttempts).where(eq(quizAttempts.id, input.quizAttemptId));
    if (
      !attempt || attempt.userId !== input.userId ||
      attempt.programId !== input.programId
    ) {
      throw notFound("Quiz attempt for this learner and program");
    }
    if (
      attempt.mode !== "exam" || attempt.status !== "completed" ||
      !attempt.passed
    ) {
      throw new AppError(
        422,
        "QUIZ_NOT_PASSED",
        "That attempt is not a passed, graded exam attempt",
      );
    }
    return await issueCertificate(tx, deps, {
      userId: input.userId,
      programId: input.programId,
      basis: "quiz",
      quizAttemptId: input.quizAttemptId,
      score: attempt.scorePercentage,
      issuedBy: accountOf(actor),
    });
  }
  const [program] = await tx.select().from(programs).where(
    eq(programs.id, input.programId),
  );
  if (!program) throw notFound("Program");
  if (!(await meetsRule(tx, input.userId, program))) {
    throw new AppError(
      422,
      "REQUIREMENTS_NOT_MET",
      "The learner has not met this program's certificate rule",
    );
  }
  return await issueCertificate(tx, deps, {
    userId: input.userId,
    programId: input.programId,
    basis: "completion",
    issuedBy: accountOf(actor),
  });
}

/** Revoke (reason required): the verification page says Revoked from now on; the learner is told. */
export async function revokeCertificate(
  deps: ServiceDeps,
  actor: Actor,
  idOrCode: string,
  reason: string,
): Promise<Certificate> {
  const revoked = await deps.db.transaction(async (tx) => {
    const certificate = await findCertificate(tx, idOrCode);
    if (certificate.status === "revoked") {
      throw conflict(
        "CERTIFICATE_REVOKED",
        "This certificate is already revoked",
      );
    }
    if (certificate.status === "superseded") {
      throw conflict(
        "CERTIFICATE_SUPERSEDED",
        "This certificate was replaced by a reissue: revoke the one that replaced it",
      );
    }
    const changes = {
      status: "revoked" as const,
      revokedAt: new Date(),
      revokedReason: reason,
    };
    await tx.update(certificates).set(changes).where(
      eq(certificates.id, certificate.id),
    );
    await recordEvent(tx, "certificate.revoked", {
      userId: certificate.userId,
      programId: certificate.programId,
      subjectId: certificate.id,
      payload: { reason, by: actor.id },
    });
    await audit(tx, actor, {
      action: "certificate.revoke",
      targetType: "certificate",
      targetId: certificate.id,
      before: { status: certificate.status },
      after: { status: "revoked", reason },
    });
    return { ...certificate, ...changes };
  });
  await tellLearner(deps, revoked, { kind: "revoked", reason });
  return revoked;
}

export interface ReissueInput {
  /** The name to print instead of the one on the certificate (a correction). */
  name?: string | undefined;
  reason?: string | undefined;
  /** Reissue a revoked certificate too. */
  force?: boolean | undefined;
}

/**
 * A new code, credential and PDF for the same achievement (same issue and expiry dates); the old
 * record becomes `superseded` and points to the new one, so its page sends people there.
 */
export async function reissueCertificate(
  deps: ServiceDeps,
  actor: Actor,
  idOrCode: string,
  input: ReissueInput = {},
): Promise<{ certificate: Certificate; replaced: Certificate }> {
  const { certificate, replaced } = await deps.db.transaction(async (tx) => {
    const old = await findCertificate(tx, idOrCode);
    if (old.status === "superseded") {
      const [next] = await tx.select({ code: certificates.code }).from(
        certificates,
      ).where(eq(certificates.id, old.supersededById ?? ""));
      throw conflict(
        "CERTIFICATE_SUPERSEDED",
        `This certificate was already replaced${
          next ? ` by ${next.code}` : ""
        }: reissue that one`,
      );
    }
    if (old.status === "revoked" && !input.force) {
      throw conflict(
        "CERTIFICATE_REVOKED",
        "This certificate is revoked: reissue it only on purpose, with force",
      );
    }
    if (old.status === "revoked") {
      const [other] = await tx.select({ code: certificates.code }).from(
        certificates,
      ).where(and(
        eq(certificates.userId, old.userId),
        eq(certificates.programId, old.programId),
        eq(certificates.status, "valid"),
      ));
      if (other) {
        throw conflict(
          "CERTIFICATE_EXISTS",
          `The learner already holds a valid certificate for this program (${other.code})`,
        );
      }
    }
    // Leave the one-valid-per-program slot before the new certificate takes it.
    await tx.update(certificates).set({ status: "superseded" }).where(
      eq(certificates.id, old.id),
    );
    const issued = await issueCertificate(tx, deps, {
      userId: old.userId,
      programId: old.programId,
      basis: old.basis,
      reason: input.reason ?? null,
      issuedBy: accountOf(actor),
      replaces: old,
      ...(input.name ? { recipientName: input.name } : {}),
    });
    await tx.update(certificates).set({
      supersededById: issued.certificate.id,
    }).where(eq(certificates.id, old.id));
    await recordEvent(tx, "certificate.reissued", {
      userId: old.userId,
      programId: old.programId,
      subjectId: issued.certificate.id,
      payload: { replaces: old.id, reason: input.reason ?? null, by: actor.id },
    });
    await audit(tx, actor, {
      action: "certificate.reissue",
      targetType: "certificate",
      targetId: old.id,
      before: auditedFields(old),
      after: {
        replacedBy: issued.certificate.id,
        code: issued.certificate.code,
        recipientName: issued.certificate.recipientName,
        reason: input.reason ?? null,
      },
    });
    return {
      certificate: issued.certificate,
      replaced: {
        ...old,
        status: "superseded" as const,
        supersededById: issued.certificate.id,
      },
    };
  });
  const rendered = await renderAndTell(deps, certificate, {
    kind: "reissued",
    oldCode: replaced.code,
  });
  return { certificate: rendered, replaced };
}

/** Certificates whose PDF was not rendered (the process stopped between commit and render). */
export async function renderMissingPdfs(
  deps: Pick<Deps, "db" | "config" | "storage">,
  limit = 20,
): Promise<number> {
  // A minute old: younger ones are still being rendered by the request that issued them.
  const pending = await deps.db.select().from(certificates).where(and(
    isNull(certificates.pdfKey),
    lt(certificates.createdAt, new Date(Date.now() - 60_000)),
  )).limit(limit);
  for (const certificate of pending) await ensurePdf(deps, certificate);
  return pending.length;
}

export function assertMayAdminister(actor: Actor): void {
  if (actor.role !== "admin") {
    throw forbidden("FORBIDDEN", "Only admins can do this");
  }
}
