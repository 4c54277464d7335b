import { hmac } from "@oslojs/crypto/hmac";
import { SHA256 } from "@oslojs/crypto/sha2";
import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import { safeEqual } from "./secrets.ts";

const encoder = new TextEncoder();

/** How long a playback link works: long enough to watch a recording, short enough not to leak. */
export const SIGNED_URL_TTL_SECONDS = 60 * 60;

function signatureOf(secret: string, path: string, expires: number): string {
  const mac = hmac(
    SHA256,
    encoder.encode(`signed-url|${secret}`),
    encoder.encode(`${path}|${expires}`),
  );
  return encodeBase64urlNoPadding(mac);
}

/**
 * `path?expires=…&signature=…`: an HMAC over the path and the expiry (Unix seconds), so neither can
 * be changed without the server's secret.
 */
export function signPath(
  secret: string,
  path: string,
  now = Date.now(),
  ttlSeconds = SIGNED_URL_TTL_SECONDS,
): { path: string; expiresAt: Date } {
  const expires = Math.floor(now / 1000) + ttlSeconds;
  const signature = signatureOf(secret, path, expires);
  return {
    path: `${path}?expires=${expires}&signature=${signature}`,
    expiresAt: new Date(expires * 1000),
  };
}

export type SignatureCheck = "valid" | "expired" | "invalid";

/** Checks a signed path's query; the comparison takes the same time whatever the signature. */
export function checkSignature(
  secret: string,
  path: string,
  query: { expires?: string | undefined; signature?: string | undefined },
  now = Date.now(),
): SignatureCheck {
  const expires = Number(query.expires);
  if (!query.signature || !/^\d{1,12}$/.test(query.expires ?? "")) {
    return "invalid";
  }
  if (!safeEqual(signatureOf(secret, path, expires), query.signature)) {
    return "invalid";
  }
  return expires * 1000 < now ? "expired" : "valid";
}
