import * as v from "valibot";
import { pageQuery, PaginationSchema } from "../../lib/pagination.ts";
import { stripControlChars } from "../../lib/plain_text.ts";
import { CERTIFICATE_STATES } from "./service.ts";

const id = v.pipe(
  v.string("Must be a string"),
  v.trim(),
  v.minLength(1, "Is required"),
  v.maxLength(200, "Must be at most 200 characters"),
);
const text = (max: number) =>
  v.pipe(
    v.string("Must be a string"),
    v.transform(stripControlChars),
    v.trim(),
    v.minLength(1, "Is required"),
    v.maxLength(max, `Must be at most ${max} characters`),
  );

export const IdParam = v.object({ id });
export const CodeParam = v.object({
  code: v.pipe(v.string(), v.maxLength(64)),
});

/** 002: the caller's `score` is accepted for compatibility and ignored; the attempt's is used. */
export const GenerateBody = v.strictObject({
  userId: id,
  programId: id,
  quizAttemptId: v.optional(id),
  score: v.optional(v.number("Must be a number")),
}, "Unknown field: use userId, programId, quizAttemptId and score");

export const ManualIssueBody = v.strictObject({
  userId: id,
  programId: id,
  reason: text(500),
}, "Unknown field: use userId, programId and reason");

export const RevokeBody = v.strictObject({
  reason: text(500),
}, "Unknown field: use reason");

export const ReissueBody = v.strictObject({
  /** Print this name instead (a correction). */
  name: v.optional(text(200)),
  reason: v.optional(text(500)),
  /** Also reissue a revoked certificate. */
  force: v.optional(v.boolean("Must be true or false")),
}, "Unknown field: use name, reason and force");

export const AdminListQuery = v.object({
  ...pageQuery(20),
  userId: v.optional(id),
  programId: v.optional(id),
  status: v.optional(
    v.picklist(
      CERTIFICATE_STATES,
      `Must be one of ${CERTIFICATE_STATES.join(", ")}`,
    ),
  ),
  search: v.optional(text(200)),
});

export const UserListQuery = v.object({ ...pageQuery(20) });

const Detail = v.object({
  id: v.string(),
  verificationCode: v.string(),
  user: v.object({ name: v.string(), id: v.string() }),
  program: v.object({ title: v.string(), id: v.string() }),
  schoolName: v.string(),
  issuedAt: v.string(),
  expiresAt: v.nullable(v.string()),
  certificateUrl: v.string(),
  credentialUrl: v.string(),
  shareableLink: v.string(),
  score: v.nullable(v.number()),
  isValid: v.boolean(),
  status: v.picklist(["valid", "revoked", "superseded", "expired"]),
  basis: v.string(),
  reason: v.nullable(v.string()),
  revokedAt: v.nullable(v.string()),
  revocationReason: v.nullable(v.string()),
  replacedBy: v.nullable(v.string()),
  pdfSha256: v.nullable(v.string()),
});

export const DetailResponse = v.object({
  success: v.literal(true),
  certificate: Detail,
});
export const IssuedResponse = v.object({
  success: v.literal(true),
  created: v.boolean(),
  message: v.string(),
  certificate: Detail,
});
export const ReissuedResponse = v.object({
  success: v.literal(true),
  message: v.string(),
  certificate: Detail,
  replaced: Detail,
});
export const AdminListResponse = v.object({
  success: v.literal(true),
  certificates: v.array(Detail),
  pagination: PaginationSchema,
});

export const UserListResponse = v.object({
  success: v.literal(true),
  certificates: v.array(v.object({
    id: v.string(),
    programId: v.string(),
    programTitle: v.string(),
    issuedAt: v.string(),
    expiresAt: v.nullable(v.string()),
    verificationCode: v.string(),
    certificateUrl: v.string(),
    credentialUrl: v.string(),
    shareableLink: v.string(),
    score: v.nullable(v.number()),
    status: v.string(),
    isValid: v.boolean(),
  })),
  pagination: PaginationSchema,
});

export const VerifyResponse = v.object({
  success: v.literal(true),
  isValid: v.boolean(),
  status: v.picklist(["valid", "revoked", "superseded", "expired"]),
  certificate: v.object({
    recipientName: v.string(),
    programTitle: v.string(),
    issuedDate: v.string(),
    verificationCode: v.string(),
    schoolName: v.string(),
    issuedAt: v.string(),
    expiresAt: v.nullable(v.string()),
    score: v.nullable(v.number()),
    revokedAt: v.nullable(v.string()),
    revocationReason: v.nullable(v.string()),
    supersededBy: v.nullable(v.object({
      verificationCode: v.string(),
      verifyUrl: v.string(),
    })),
    verifyUrl: v.string(),
  }),
  issuer: v.object({ name: v.string(), url: v.string(), jwksUrl: v.string() }),
});
