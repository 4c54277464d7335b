import { createJWTSignatureMessage, encodeJWT, parseJWT } from "@oslojs/jwt";
import { hmac } from "@oslojs/crypto/hmac";
import { SHA256 } from "@oslojs/crypto/sha2";
import { constantTimeEqual } from "@oslojs/crypto/subtle";

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
    const signature = hmac(
      SHA256,
      this.#key,
      createJWTSignatureMessage(HEADER, payload),
    );
    return encodeJWT(HEADER, payload, signature);
  }

  /** The claims of a valid, unexpired access token; "invalid" or "expired" otherwise. */
  verify(token: string): AccessClaims | "invalid" | "expired" {
    let parts: ReturnType<typeof parseJWT>;
    try {
      parts = parseJWT(token);
    } catch {
      return "invalid";
    }
    const [header, payload, signature, message] = parts;
    if ((header as { alg?: unknown }).alg !== "HS256") return "invalid";
    if (!constantTimeEqual(hmac(SHA256, this.#key, message), signature)) {
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
    return {
      userId: p.userId,
      role: String(p.role),
      subscriptionTier: String(p.subscriptionTier),
      sid: p.sid,
    };
  }
}
