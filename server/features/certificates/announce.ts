import { eq } from "drizzle-orm";
import {
  type Certificate,
  certificates,
  users,
} from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { contentKey, sha256Hex } from "../../lib/storage.ts";
import { queueEmail } from "../email/service.ts";
import { renderCertificatePdf } from "./pdf.ts";

type AnnounceDeps = Pick<
  Deps,
  "db" | "config" | "storage" | "logger" | "background" | "mail"
>;

export const verifyUrlOf = (appUrl: string, code: string) =>
  `${appUrl}/verify/${code}`;

let logo: Promise<Uint8Array | undefined> | undefined;
function schoolLogo(path: string | undefined) {
  logo ??= path
    ? Deno.readFile(path).catch(() => undefined)
    : Promise.resolve(undefined);
  return logo;
}

/**
 * Renders a certificate's PDF once and stores it with its SHA-256; a certificate that already has
 * one keeps it (the document never changes when the template does). Safe to run twice.
 */
export async function ensurePdf(
  deps: Pick<Deps, "db" | "config" | "storage">,
  certificate: Certificate,
): Promise<Certificate> {
  if (certificate.pdfKey) return certificate;
  const pdf = await renderCertificatePdf({
    schoolName: certificate.schoolName,
    logo: await schoolLogo(deps.config.school.logoPath),
    recipientName: certificate.recipientName,
    programTitle: certificate.programTitle,
    issuedAt: certificate.issuedAt,
    expiresAt: certificate.expiresAt,
    score: certificate.score,
    code: certificate.code,
    verifyUrl: verifyUrlOf(deps.config.appUrl, certificate.code),
  });
  const hash = await sha256Hex(pdf);
  const key = contentKey(hash, "pdf");
  await deps.storage.put(key, pdf, "application/pdf");
  await deps.db.update(certificates).set({ pdfKey: key, pdfSha256: hash })
    .where(eq(certificates.id, certificate.id));
  return { ...certificate, pdfKey: key, pdfSha256: hash };
}

/** After the issuing transaction commits: the PDF, then the learner's email. */
export function announceCertificate(deps: AnnounceDeps, certificateId: string) {
  deps.background.run("certificate issued", async () => {
    const [row] = await deps.db.select({
      certificate: certificates,
      user: users,
    })
      .from(certificates).innerJoin(users, eq(users.id, certificates.userId))
      .where(eq(certificates.id, certificateId));
    if (!row) return;
    await ensurePdf(deps, row.certificate);
    const template = row.certificate.replacesId
      ? undefined
      : "certificate_issued" as const;
    if (template) {
      await queueEmail(deps, row.user.email, template, {
        name: row.user.name,
        program: row.certificate.programTitle,
        code: row.certificate.code,
        verifyUrl: verifyUrlOf(deps.config.appUrl, row.certificate.code),
      });
    }
  });
}
