import { sha256 } from "@oslojs/crypto/sha2";
import { constantTimeEqual } from "@oslojs/crypto/subtle";
import { encodeHexLowerCase } from "@oslojs/encoding";
import { randomSecret } from "./ids.ts";

const encoder = new TextEncoder();

/** SHA-256 hex of a high-entropy token: what the database stores instead of the token itself. */
export const hashToken = (token: string) =>
  encodeHexLowerCase(sha256(encoder.encode(token)));

/** A new opaque token and the hash to store for it. */
export function newToken(): { token: string; hash: string } {
  const token = randomSecret(32);
  return { token, hash: hashToken(token) };
}

export const safeEqual = (a: string, b: string) => {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  return left.length === right.length && constantTimeEqual(left, right);
};
