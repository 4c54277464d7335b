import { Argument, Command, Option } from "@commander-js/extra-typings";
import type { Certificate } from "../../db/schema/mod.ts";
import { loadConfig } from "../../server/env.ts";
import { verifyCredential } from "../../server/features/certificates/credential.ts";
import {
  CERTIFICATE_STATES,
  findCertificate,
  issueManually,
  listCertificates,
  reissueCertificate,
  revokeCertificate,
  stateOf,
} from "../../server/features/certificates/service.ts";
import { certificateDetail } from "../../server/features/certificates/views.ts";
import { getVisibleProgram } from "../../server/features/programs/service.ts";
import { resolveUser } from "../../server/features/users/service.ts";
import {
  ManualIssueBody,
  ReissueBody,
  RevokeBody,
} from "../../server/features/certificates/schemas.ts";
import { AppError, notFound } from "../../server/lib/errors.ts";
import { parseOrThrow } from "../../server/lib/validation.ts";
import { localPublicJwk } from "../../server/lib/signing_key.ts";
import {
  positiveInt,
  printJson,
  reportError,
  withServices,
} from "../context.ts";
import { CLI_ACTOR } from "./programs.ts";

export const certificatesCommand = new Command("certificates").description(
  "Certificates: list, show, issue by hand, revoke, reissue, verify a credential offline",
);

const day = (date: Date | null) => date?.toISOString().slice(0, 10) ?? "—";
const line = (c: Certificate) =>
  `${c.code}  ${stateOf(c).padEnd(10)}  ${
    day(c.issuedAt)
  }  ${c.recipientName}  ${c.programTitle}`;

function describe(c: Certificate, appUrl: string): string {
  const rows: [string, string | null][] = [
    ["Code", c.code],
    ["Status", stateOf(c)],
    ["Learner", `${c.recipientName} (${c.userId})`],
    ["Program", `${c.programTitle} (${c.programId})`],
    ["School", c.schoolName],
    ["Issued", c.issuedAt.toISOString()],
    ["Expires", c.expiresAt?.toISOString() ?? "never"],
    ["Score", c.score === null ? null : `${c.score}%`],
    ["Basis", c.basis],
    ["Reason", c.reason],
    [
      "Revoked",
      c.revokedAt ? `${c.revokedAt.toISOString()}: ${c.revokedReason}` : null,
    ],
    ["PDF SHA-256", c.pdfSha256 ?? "not rendered yet"],
    ["Verify at", `${appUrl}/verify/${c.code}`],
    ["Id", c.id],
  ];
  return rows.filter(([, value]) => value !== null)
    .map(([label, value]) => `${label.padEnd(12)} ${value}`).join("\n");
}

certificatesCommand.command("list")
  .description("List certificates, newest first")
  .option("--user <idOrEmail>", "only this learner's")
  .option("--program <idOrSlug>", "only this program's")
  .addOption(
    new Option("--status <status>", "only this status").choices(
      CERTIFICATE_STATES,
    ),
  )
  .option("--search <text>", "part of the learner's name or of the code")
  .option("--limit <n>", "how many", positiveInt, 50)
  .option("--page <n>", "which page", positiveInt, 1)
  .option("--json", "print as JSON")
  .action(async (options) => {
    try {
      await withServices(async ({ deps }) => {
        const userId = options.user
          ? (await resolveUser(deps, options.user)).id
          : undefined;
        const programId = options.program
          ? (await getVisibleProgram(deps, CLI_ACTOR, options.program)).id
          : undefined;
        const { rows, total } = await listCertificates(deps.db, {
          page: options.page,
          limit: options.limit,
          ...(userId ? { userId } : {}),
          ...(programId ? { programId } : {}),
          ...(options.status ? { status: options.status } : {}),
          ...(options.search ? { search: options.search } : {}),
        });
        if (options.json) {
          printJson({
            total,
            certificates: rows.map((row) =>
              certificateDetail(deps.config.appUrl, row)
            ),
          });
          return;
        }
        for (const row of rows) console.log(line(row));
        console.log(`${rows.length} of ${total}`);
      });
    } catch (error) {
      reportError(error);
    }
  });

certificatesCommand.command("show")
  .description("One certificate, by code (any case) or id")
  .addArgument(new Argument("<code>", "verification code or id"))
  .option("--json", "print as JSON")
  .action(async (code, options) => {
    try {
      await withServices(async ({ deps }) => {
        const certificate = await findCertificate(deps.db, code);
        if (options.json) {
          printJson(certificateDetail(deps.config.appUrl, certificate));
        } else console.log(describe(certificate, deps.config.appUrl));
      });
    } catch (error) {
      reportError(error);
    }
  });

certificatesCommand.command("issue")
  .description("Issue a certificate by hand, with the reason kept on record")
  .requiredOption("--user <idOrEmail>", "the learner")
  .requiredOption("--program <idOrSlug>", "the program")
  .requiredOption("--reason <text>", "why it is issued by hand")
  .option("--json", "print the certificate as JSON")
  .action(async (options) => {
    try {
      await withServices(async ({ deps }) => {
        const user = await resolveUser(deps, options.user);
        const program = await getVisibleProgram(
          deps,
          CLI_ACTOR,
          options.program,
        );
        const { certificate, created } = await issueManually(
          deps,
          CLI_ACTOR,
          parseOrThrow(ManualIssueBody, {
            userId: user.id,
            programId: program.id,
            reason: options.reason,
          }),
        );
        if (options.json) {
          printJson({
            created,
            certificate: certificateDetail(deps.config.appUrl, certificate),
          });
        } else {
          console.log(
            created
              ? `Issued ${certificate.code} to ${certificate.recipientName} for "${certificate.programTitle}"`
              : `${certificate.recipientName} already holds ${certificate.code} for "${certificate.programTitle}"; nothing changed`,
          );
        }
      });
    } catch (error) {
      reportError(error);
    }
  });

certificatesCommand.command("revoke")
  .description(
    "Revoke a certificate; its page shows the reason, the learner is emailed",
  )
  .addArgument(new Argument("<code>", "verification code or id"))
  .requiredOption("--reason <text>", "shown on the verification page")
  .option("--json", "print the certificate as JSON")
  .action(async (code, options) => {
    try {
      await withServices(async ({ deps }) => {
        const { reason } = parseOrThrow(RevokeBody, { reason: options.reason });
        const revoked = await revokeCertificate(deps, CLI_ACTOR, code, reason);
        if (options.json) {
          printJson(certificateDetail(deps.config.appUrl, revoked));
        } else console.log(`Revoked ${revoked.code}: ${reason}`);
      });
    } catch (error) {
      reportError(error);
    }
  });

certificatesCommand.command("reissue")
  .description(
    "Reissue with a new code and PDF (e.g. to correct the name); the old one points to the new",
  )
  .addArgument(new Argument("<code>", "verification code or id"))
  .option("--name <name>", "print this name instead")
  .option("--reason <text>", "kept on the new record")
  .option("--force", "also reissue a revoked certificate")
  .option("--json", "print both certificates as JSON")
  .action(async (code, options) => {
    try {
      await withServices(async ({ deps }) => {
        const { certificate, replaced } = await reissueCertificate(
          deps,
          CLI_ACTOR,
          code,
          parseOrThrow(ReissueBody, {
            name: options.name,
            reason: options.reason,
            force: options.force === true,
          }),
        ).catch((error) => {
          if (
            error instanceof AppError && error.code === "CERTIFICATE_REVOKED"
          ) {
            error.message =
              "This certificate is revoked: to reissue it anyway, add --force";
          }
          throw error;
        });
        const appUrl = deps.config.appUrl;
        if (options.json) {
          printJson({
            certificate: certificateDetail(appUrl, certificate),
            replaced: certificateDetail(appUrl, replaced, {
              replacedByCode: certificate.code,
            }),
          });
        } else {
          console.log(
            `Reissued ${replaced.code} as ${certificate.code} for ${certificate.recipientName}; ${appUrl}/verify/${certificate.code}`,
          );
        }
      });
    } catch (error) {
      reportError(error);
    }
  });

/** A downloaded credential: the bare VC-JWT, or JSON holding it (e.g. `{"credential": "..."}`). */
function credentialIn(text: string): string {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{") && !trimmed.startsWith('"')) return trimmed;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    throw new Error(
      "The file is neither a credential (a JWT) nor JSON holding one",
    );
  }
  if (typeof parsed === "string") return parsed;
  const record = parsed as Record<string, unknown>;
  const jwt = record.credential ?? record.jwt ?? record.proof;
  if (typeof jwt !== "string") {
    throw new Error("The JSON file has no `credential` string");
  }
  return jwt;
}

async function keysFrom(path: string | undefined) {
  if (path) {
    const set = JSON.parse(await Deno.readTextFile(path));
    return Array.isArray(set.keys) ? set.keys : [set];
  }
  const config = loadConfig(Deno.env.toObject());
  const local = await localPublicJwk(
    config.dataDir,
    config.credentialSigningKey,
  );
  if (!local) {
    throw notFound(
      "Signing key in DATA_DIR (pass --keys with the school's jwks.json)",
    );
  }
  return [local];
}

certificatesCommand.command("verify")
  .description(
    "Check a downloaded credential's signature offline against the school's public key",
  )
  .addArgument(new Argument("<file>", "the .jwt file (or JSON holding it)"))
  .addHelpText(
    "after",
    "\nExit status: 0 genuine and unexpired; 1 altered, signed by another key, or expired.",
  )
  .option(
    "--keys <jwks.json>",
    "the school's published key set; default: this server's own key",
  )
  .option("--json", "print the result as JSON")
  .action(async (file, options) => {
    try {
      const jwt = credentialIn(await Deno.readTextFile(file));
      const result = await verifyCredential(jwt, await keysFrom(options.keys));
      if (!result.valid) {
        if (options.json) printJson({ valid: false, reason: result.reason });
        else console.error(`INVALID: ${result.reason}`);
        Deno.exit(1);
      }
      const vc = result.payload.vc as {
        name: string;
        issuer: { name: string };
        validFrom: string;
        validUntil?: string;
        credentialSubject: { identifier: { identityHash: string }[] };
      };
      const expired = vc.validUntil !== undefined &&
        new Date(vc.validUntil) <= new Date();
      const summary = {
        valid: true,
        expired,
        keyId: result.kid,
        code: result.payload.sub,
        recipient: vc.credentialSubject.identifier[0]?.identityHash,
        achievement: vc.name,
        issuer: vc.issuer.name,
        validFrom: vc.validFrom,
        validUntil: vc.validUntil ?? null,
        statusUrl: result.payload.jti,
      };
      if (options.json) printJson(summary);
      else if (expired) {
        console.error(
          `EXPIRED: the signature is genuine (key ${summary.keyId}), but the credential for ${summary.recipient}, "${summary.achievement}", expired on ${
            vc.validUntil!.slice(0, 10)
          }`,
        );
      } else {
        console.log(
          `VALID signature (key ${summary.keyId}): ${summary.recipient}, "${summary.achievement}", issued by ${summary.issuer} on ${
            summary.validFrom.slice(0, 10)
          }`,
        );
        console.log(
          `Revocation is not part of the signature: check ${summary.statusUrl}`,
        );
      }
      // A script reading only the exit code must not take an expired credential for a valid one.
      if (expired) Deno.exit(1);
    } catch (error) {
      reportError(error);
    }
  });
