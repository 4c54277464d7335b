import type { Certificate } from "../../../db/schema/mod.ts";
import { verifyUrlOf } from "./announce.ts";
import { stateOf } from "./service.ts";

export const downloadUrlOf = (appUrl: string, id: string) =>
  `${appUrl}/api/certificates/${id}/download`;
export const credentialUrlOf = (appUrl: string, id: string) =>
  `${appUrl}/api/certificates/${id}/credential`;

/** 002's certificate details, plus its status and the links a holder needs. */
export function certificateDetail(
  appUrl: string,
  certificate: Certificate,
  related: { replacedByCode?: string | undefined } = {},
) {
  const status = stateOf(certificate);
  return {
    id: certificate.id,
    verificationCode: certificate.code,
    user: { name: certificate.recipientName, id: certificate.userId },
    program: { title: certificate.programTitle, id: certificate.programId },
    schoolName: certificate.schoolName,
    issuedAt: certificate.issuedAt.toISOString(),
    expiresAt: certificate.expiresAt?.toISOString() ?? null,
    certificateUrl: downloadUrlOf(appUrl, certificate.id),
    credentialUrl: credentialUrlOf(appUrl, certificate.id),
    shareableLink: verifyUrlOf(appUrl, certificate.code),
    score: certificate.score,
    isValid: status === "valid",
    status,
    basis: certificate.basis,
    reason: certificate.reason,
    revokedAt: certificate.revokedAt?.toISOString() ?? null,
    revocationReason: certificate.revokedReason,
    replacedBy: related.replacedByCode ?? null,
    pdfSha256: certificate.pdfSha256,
  };
}

/** An item of 002's `GET /api/users/certificates`. */
export function certificateListItem(appUrl: string, certificate: Certificate) {
  const status = stateOf(certificate);
  return {
    id: certificate.id,
    programId: certificate.programId,
    programTitle: certificate.programTitle,
    issuedAt: certificate.issuedAt.toISOString(),
    expiresAt: certificate.expiresAt?.toISOString() ?? null,
    verificationCode: certificate.code,
    certificateUrl: downloadUrlOf(appUrl, certificate.id),
    credentialUrl: credentialUrlOf(appUrl, certificate.id),
    shareableLink: verifyUrlOf(appUrl, certificate.code),
    score: certificate.score,
    status,
    isValid: status === "valid",
  };
}
