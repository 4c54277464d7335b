import { eq } from "drizzle-orm";
import {
  type Certificate,
  certificates,
  users,
} from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { contentKey, sha256Hex } from "../../lib/storage.ts";
import { notify } from "../notifications/service.ts";
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

/** The learner hears of a certificate issued, revoked or reissued: in the app and by email. */
export async function tellLearner(
  deps: AnnounceDeps,
  certificate: Certificate,
  news:
    | { kind: "issued" }
    | { kind: "revoked"; reason: string }
    | { kind: "reissued"; oldCode: string },
) {
  const [learner] = await deps.db.select({ name: users.name }).from(users)
    .where(eq(users.id, certificate.userId));
  if (!learner) return;
  const program = certificate.programTitle;
  const verifyUrl = verifyUrlOf(deps.config.appUrl, certificate.code);
  const base = {
    userId: certificate.userId,
    link: `/verify/${certificate.code}`,
    relatedId: certificate.id,
  };
  const name = learner.name;
  const code = certificate.code;
  if (news.kind === "issued") {
    await notify(deps, {
      ...base,
      type: "certificate_issued",
      title: `Your certificate for ${program}`,
      message: `You earned a certificate for "${program}" (code ${code}).`,
      email: {
        template: "certificate_issued",
        data: { name, program, code, verifyUrl },
      },
    });
  } else if (news.kind === "revoked") {
    await notify(deps, {
      ...base,
      type: "certificate_revoked",
      title: `Your certificate for ${program} was revoked`,
      message:
        `The certificate ${code} for "${program}" has been revoked: ${news.reason}`,
      email: {
        template: "certificate_revoked",
        data: { name, program, code, reason: news.reason },
      },
    });
  } else {
    await notify(deps, {
      ...base,
      type: "certificate_reissued",
      title: `A new certificate for ${program}`,
      message:
        `Your certificate for "${program}" was reissued with the code ${code}; the old code ${news.oldCode} points to it.`,
      email: {
        template: "certificate_reissued",
        data: { name, program, oldCode: news.oldCode, code, verifyUrl },
      },
    });
  }
}

/** After the issuing transaction commits: the PDF, then the learner's notification. */
export function announceCertificate(deps: AnnounceDeps, certificateId: string) {
  deps.background.run("certificate issued", async () => {
    const [certificate] = await deps.db.select().from(certificates)
      .where(eq(certificates.id, certificateId));
    if (!certificate) return;
    await ensurePdf(deps, certificate);
    // A reissue announces itself, with the old code.
    if (!certificate.replacesId) {
      await tellLearner(deps, certificate, { kind: "issued" });
    }
  });
}
