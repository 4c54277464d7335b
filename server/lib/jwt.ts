import { createJWTSignatureMessage, encodeJWT, parseJWT } from "@oslojs/jwt";
import { constantTimeEqual } from "@oslojs/crypto/subtle";
import { createHmac } from "node:crypto";

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;

export interface AccessClaims {
  userId: string;
  role: string;
  subscriptionTier: string;
  /** The session (refresh-token family) this token was issued for. */
  sid: string;
}

const HEADER = JSON.stringify({ alg: "HS256", typ: "JWT" });
const encoder = new TextEncoder();

/**
 * HMAC-SHA256 through the runtime's native implementation: every authenticated request verifies a
 * token, and the pure-JS HMAC took 35 µs of a 40 µs budget (BENCHMARKS.md).
 */
function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  return createHmac("sha256", key).update(message).digest();
}

export class JwtSigner {
  readonly #key: Uint8Array;
  constructor(secret: string) {
    this.#key = encoder.encode(secret);
  }

  sign(claims: AccessClaims, ttlSeconds = ACCESS_TOKEN_TTL_SECONDS): string {
    const iat = Math.floor(Date.now() / 1000);
    const payload = JSON.stringify({
      ...claims,
      typ: "access",
      iat,
      exp: iat + ttlSeconds,
    });
    const signature = hmacSha256(
      this.#key,
      createJWTSignatureMessage(HEADER, payload),
    );
    return encodeJWT(HEADER, payload, signature);
  }

  /**
   * Tokens already proven genuine, with their expiry. A client sends the same token for its whole
   * life, so the signature is checked once per token rather than once per request. Only tokens that
   * verified are kept: an unknown string always goes through the full check.
   */
  readonly #verified = new Map<string, { claims: AccessClaims; exp: number }>();
  static readonly MAX_REMEMBERED = 10_000;

  /** The claims of a valid, unexpired access token; "invalid" or "expired" otherwise. */
  verify(token: string): AccessClaims | "invalid" | "expired" {
    const known = this.#verified.get(token);
    if (known) {
      if (known.exp * 1000 > Date.now()) return known.claims;
      this.#verified.delete(token);
      return "expired";
    }
    const result = this.#verifySignature(token);
    if (typeof result === "object") {
      if (this.#verified.size >= JwtSigner.MAX_REMEMBERED) {
        this.#verified.delete(this.#verified.keys().next().value!);
      }
      this.#verified.set(token, result);
      return result.claims;
    }
    return result;
  }

  #verifySignature(
    token: string,
  ): { claims: AccessClaims; exp: number } | "invalid" | "expired" {
    let parts: ReturnType<typeof parseJWT>;
    try {
      parts = parseJWT(token);
    } catch {
      return "invalid";
    }
    const [header, payload, signature, message] = parts;
    if ((header as { alg?: unknown }).alg !== "HS256") return "invalid";
    if (!constantTimeEqual(hmacSha256(this.#key, message), signature)) {
      return "invalid";
    }
    const p = payload as Record<string, unknown>;
    if (
      p.typ !== "access" || typeof p.userId !== "string" ||
      typeof p.sid !== "string"
    ) return "invalid";
    if (typeof p.exp !== "number" || p.exp * 1000 <= Date.now()) {
      return "expired";
    }
    const claims: AccessClaims = Object.freeze({
      userId: p.userId,
      role: String(p.role),
      subscriptionTier: String(p.subscriptionTier),
      sid: p.sid,
    });
    return { claims, exp: p.exp };
  }
}
