import {
  decodeBase64urlIgnorePadding,
  encodeBase64urlNoPadding,
} from "@oslojs/encoding";
import {
  type CredentialSigner,
  importPublicKey,
} from "../../lib/signing_key.ts";

export interface CredentialFacts {
  code: string;
  recipientName: string;
  programId: string;
  programTitle: string;
  schoolName: string;
  issuedAt: Date;
  expiresAt: Date | null;
  score: number | null;
}

const encoder = new TextEncoder();
const segment = (value: unknown) =>
  encodeBase64urlNoPadding(encoder.encode(JSON.stringify(value)));

/** The Open Badges 3.0 `OpenBadgeCredential` for a certificate (VC data model 2.0). */
export function openBadgeCredential(appUrl: string, facts: CredentialFacts) {
  const verifyUrl = `${appUrl}/verify/${facts.code}`;
  return {
    "@context": [
      "https://www.w3.org/ns/credentials/v2",
      "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ],
    id: verifyUrl,
    type: ["VerifiableCredential", "OpenBadgeCredential"],
    issuer: {
      id: appUrl,
      type: ["Profile"],
      name: facts.schoolName,
      url: appUrl,
    },
    validFrom: facts.issuedAt.toISOString(),
    ...(facts.expiresAt ? { validUntil: facts.expiresAt.toISOString() } : {}),
    name: facts.programTitle,
    credentialSubject: {
      type: ["AchievementSubject"],
      identifier: [{
        type: "IdentityObject",
        identityType: "name",
        hashed: false,
        identityHash: facts.recipientName,
      }],
      achievement: {
        id: `${appUrl}/api/programs/${facts.programId}`,
        type: ["Achievement"],
        name: facts.programTitle,
        description:
          `Completion of "${facts.programTitle}" at ${facts.schoolName}`,
        criteria: {
          narrative:
            "Awarded when the learner met the program's completion rule.",
        },
      },
      ...(facts.score !== null
        ? {
          result: [{ type: ["Result"], value: `${facts.score}%` }],
        }
        : {}),
    },
  };
}

/** A VC-JWT (compact JWS, EdDSA) carrying the credential in its `vc` claim, as Open Badges 3.0 describes. */
export async function signCredential(
  signer: CredentialSigner,
  appUrl: string,
  facts: CredentialFacts,
): Promise<string> {
  const vc = openBadgeCredential(appUrl, facts);
  const header = { alg: "EdDSA", typ: "JWT", kid: signer.kid };
  const payload = {
    iss: appUrl,
    jti: vc.id,
    sub: facts.code,
    nbf: Math.floor(facts.issuedAt.getTime() / 1000),
    ...(facts.expiresAt
      ? { exp: Math.floor(facts.expiresAt.getTime() / 1000) }
      : {}),
    vc,
  };
  const signingInput = `${segment(header)}.${segment(payload)}`;
  const signature = await signer.sign(encoder.encode(signingInput));
  return `${signingInput}.${encodeBase64urlNoPadding(signature)}`;
}

export type VerifyResult =
  | { valid: true; payload: Record<string, unknown>; kid: string }
  | { valid: false; reason: string };

/**
 * Checks a credential's signature against a published key set, offline. Says why when it fails;
 * expiry is reported by the caller (a signature stays valid after a certificate expires).
 */
export async function verifyCredential(
  jwt: string,
  keys: (JsonWebKey & { kid?: string })[],
): Promise<VerifyResult> {
  const parts = jwt.trim().split(".");
  if (parts.length !== 3) return { valid: false, reason: "Not a compact JWT" };
  let header: { alg?: string; kid?: string };
  let payload: Record<string, unknown>;
  let signature: Uint8Array<ArrayBuffer>;
  try {
    const decode = (part: string) =>
      JSON.parse(new TextDecoder().decode(decodeBase64urlIgnorePadding(part)));
    header = decode(parts[0]!);
    payload = decode(parts[1]!);
    signature = new Uint8Array(decodeBase64urlIgnorePadding(parts[2]!));
  } catch {
    return { valid: false, reason: "The credential is not well-formed" };
  }
  if (header.alg !== "EdDSA") {
    return { valid: false, reason: `Unexpected algorithm ${header.alg}` };
  }
  const jwk = keys.find((key) => key.kid === header.kid);
  if (!jwk) {
    return { valid: false, reason: `No published key with id ${header.kid}` };
  }
  const ok = await crypto.subtle.verify(
    { name: "Ed25519" },
    await importPublicKey(jwk),
    signature,
    encoder.encode(`${parts[0]}.${parts[1]}`),
  );
  return ok ? { valid: true, payload, kid: header.kid! } : {
    valid: false,
    reason:
      "The signature does not match: the credential was altered or signed by another key",
  };
}
