import { sha256 } from "@oslojs/crypto/sha2";
import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import type { Logger } from "./logger.ts";

/** The school's Ed25519 key: signs credentials; its public half is published as a JWKS. */
export interface CredentialSigner {
  kid: string;
  publicJwk: JsonWebKey & { kid: string; alg: "EdDSA"; use: "sig" };
  sign(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array>;
}

/** RFC 7638 thumbprint: a stable key id derived from the public key itself. */
export function thumbprint(jwk: JsonWebKey): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  return encodeBase64urlNoPadding(sha256(new TextEncoder().encode(canonical)));
}

export async function importPublicKey(jwk: JsonWebKey): Promise<CryptoKey> {
  return await crypto.subtle.importKey(
    "jwk",
    { kty: jwk.kty, crv: jwk.crv, x: jwk.x },
    { name: "Ed25519" },
    true,
    ["verify"],
  );
}

async function signerFrom(privateJwk: JsonWebKey): Promise<CredentialSigner> {
  const privateKey = await crypto.subtle.importKey(
    "jwk",
    privateJwk,
    { name: "Ed25519" },
    false,
    ["sign"],
  );
  const kid = thumbprint(privateJwk);
  return {
    kid,
    publicJwk: {
      kty: privateJwk.kty,
      crv: privateJwk.crv,
      x: privateJwk.x,
      kid,
      alg: "EdDSA",
      use: "sig",
    },
    async sign(data) {
      return new Uint8Array(
        await crypto.subtle.sign({ name: "Ed25519" }, privateKey, data),
      );
    },
  };
}

export const SIGNING_KEY_FILE = "credential_signing_key.jwk";

/**
 * The key from CREDENTIAL_SIGNING_KEY (a private JWK: what several machines must share), else from
 * DATA_DIR, generated there on first start. Losing it means new credentials get a new key; old ones
 * still verify against the JWKS only while it lists the old key.
 */
export async function loadCredentialSigner(
  dataDir: string,
  fromEnv: string | undefined,
  logger: Logger,
): Promise<CredentialSigner> {
  if (fromEnv) return await signerFrom(JSON.parse(fromEnv));
  const path = `${dataDir}/${SIGNING_KEY_FILE}`;
  try {
    return await signerFrom(JSON.parse(await Deno.readTextFile(path)));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  await Deno.mkdir(dataDir, { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(jwk) + "\n", { mode: 0o600 });
  logger.info(`generated the credential signing key in ${path}; back it up`);
  return await signerFrom(jwk);
}

/** The public half of this server's key, without creating one: what offline verification uses. */
export async function localPublicJwk(
  dataDir: string,
  fromEnv: string | undefined,
): Promise<CredentialSigner["publicJwk"] | undefined> {
  if (fromEnv) return (await signerFrom(JSON.parse(fromEnv))).publicJwk;
  try {
    const jwk = JSON.parse(
      await Deno.readTextFile(`${dataDir}/${SIGNING_KEY_FILE}`),
    );
    return (await signerFrom(jwk)).publicJwk;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}
