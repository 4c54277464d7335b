import type { Context } from "hono";
import type { Certificate } from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { clientIp } from "../../lib/client_ip.ts";
import { tooManyRequests } from "../../lib/errors.ts";
import { GenerationCache } from "../../lib/generation_cache.ts";
import { canonicalCode } from "./codes.ts";
import { verifyUrlOf } from "./announce.ts";
import {
  type CertificateState,
  findByCode,
  replacementOf,
  stateOf,
} from "./service.ts";

export interface Verification {
  state: CertificateState;
  certificate: Certificate;
  /** For a superseded certificate: the one that replaced it. */
  replacement: Certificate | undefined;
}

/** Misses an IP may make in a window before each further one is slowed. */
export const FREE_MISSES = 5;
const MISS_WINDOW_MS = 15 * 60_000;
const MAX_MISS_DELAY_MS = 10_000;

/** The pause before answering a miss: none for the first few, then doubling, capped at 10 s. */
export function missDelayMs(misses: number, baseMs: number): number {
  if (misses <= FREE_MISSES) return 0;
  return Math.min(baseMs * 2 ** (misses - FREE_MISSES - 1), MAX_MISS_DELAY_MS);
}

/**
 * Looks codes up for the public page and its JSON twin. Hits are cached until the next write
 * (a revoke or reissue is seen at once); a run of misses from one IP is slowed and then refused,
 * so guessing codes costs far more than the 75 bits already make it.
 */
export function certificateVerifier(
  deps: Pick<Deps, "db" | "writes" | "rateLimiter" | "config">,
) {
  const cache = new GenerationCache<
    { certificate: Certificate; replacement: Certificate | undefined }
  >(deps.writes, { ttlMs: 60_000, maxEntries: 5_000 });
  const { missLimit, missDelayMs: baseDelayMs } = deps.config.verify;

  return async (c: Context, input: string): Promise<Verification | null> => {
    const missKey = `verify-miss:${clientIp(c, deps.config.trustProxy)}`;
    // Count the attempt as a miss before looking, and take it back on a hit: parallel guesses
    // then cannot all pass the check before any of them is counted.
    deps.rateLimiter.hit(missKey, Number.MAX_SAFE_INTEGER, MISS_WINDOW_MS);
    const misses = deps.rateLimiter.peek(missKey);
    if (misses.count > missLimit) {
      deps.rateLimiter.release(missKey);
      throw tooManyRequests(
        misses.retryAfter,
        "Too many unknown certificate codes from this address; try again later",
      );
    }

    const code = canonicalCode(input);
    let found = code ? cache.get(code) : undefined;
    if (code && !found) {
      const generation = cache.generation;
      const certificate = await findByCode(deps.db, code);
      if (certificate) {
        found = {
          certificate,
          replacement: certificate.status === "superseded"
            ? await replacementOf(deps.db, certificate)
            : undefined,
        };
        cache.set(code, found, generation);
      }
    }
    if (found) {
      deps.rateLimiter.release(missKey);
      return { state: stateOf(found.certificate), ...found };
    }
    const delay = missDelayMs(misses.count, baseDelayMs);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    return null;
  };
}

const day = (date: Date) => date.toISOString().slice(0, 10);

/** The verification answer as JSON: 002's shape plus the status and what a verifier needs. */
export function verificationJson(
  appUrl: string,
  { state, certificate, replacement }: Verification,
) {
  return {
    success: true as const,
    isValid: state === "valid",
    status: state,
    certificate: {
      recipientName: certificate.recipientName,
      programTitle: certificate.programTitle,
      issuedDate: day(certificate.issuedAt),
      verificationCode: certificate.code,
      schoolName: certificate.schoolName,
      issuedAt: certificate.issuedAt.toISOString(),
      expiresAt: certificate.expiresAt?.toISOString() ?? null,
      score: certificate.score,
      revokedAt: certificate.revokedAt?.toISOString() ?? null,
      revocationReason: certificate.revokedReason,
      supersededBy: replacement
        ? {
          verificationCode: replacement.code,
          verifyUrl: verifyUrlOf(appUrl, replacement.code),
        }
        : null,
      verifyUrl: verifyUrlOf(appUrl, certificate.code),
    },
    issuer: {
      name: certificate.schoolName,
      url: appUrl,
      jwksUrl: `${appUrl}/.well-known/jwks.json`,
    },
  };
}
