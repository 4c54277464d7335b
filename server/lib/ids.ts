import { encodeBase32LowerCaseNoPadding } from "@oslojs/encoding";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A ULID: 48-bit millisecond time then 80 random bits, Crockford base32; sorts by creation time. */
export function newId(now = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = crypto.getRandomValues(new Uint8Array(16));
  let rest = "";
  for (let i = 0; i < 16; i++) rest += CROCKFORD[random[i]! % 32];
  return time + rest;
}

const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{8,128}$/;

export const isId = (value: string) => ULID_PATTERN.test(value);

/** An incoming X-Request-Id is echoed only when it is a plain token of sane length. */
export const isWellFormedRequestId = (value: string) =>
  REQUEST_ID_PATTERN.test(value);

/** A random secret of `bytes` bytes, base32 encoded: for tokens sent to people and clients. */
export function randomSecret(bytes = 32): string {
  return encodeBase32LowerCaseNoPadding(
    crypto.getRandomValues(new Uint8Array(bytes)),
  );
}
