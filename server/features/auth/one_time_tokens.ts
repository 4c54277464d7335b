import { and, desc, eq, gt, isNull } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import {
  type OneTimeTokenPurpose,
  oneTimeTokens,
} from "../../../db/schema/mod.ts";
import { newId } from "../../lib/ids.ts";
import { hashToken, newToken } from "../../lib/secrets.ts";

export const TOKEN_TTL_MS: Record<OneTimeTokenPurpose, number> = {
  verify_email: 24 * 3_600_000,
  reset_password: 3_600_000,
};

/** Issues a token for an emailed link; only its hash is stored. */
export async function issueOneTimeToken(
  db: DbOrTx,
  userId: string,
  purpose: OneTimeTokenPurpose,
): Promise<string> {
  const { token, hash } = newToken();
  const now = Date.now();
  await db.insert(oneTimeTokens).values({
    id: newId(),
    userId,
    purpose,
    tokenHash: hash,
    createdAt: new Date(now),
    expiresAt: new Date(now + TOKEN_TTL_MS[purpose]),
  });
  return token;
}

/** Marks the token used and returns its user id; null when unknown, used, expired or for another purpose. */
export async function consumeOneTimeToken(
  db: DbOrTx,
  token: string,
  purpose: OneTimeTokenPurpose,
): Promise<string | null> {
  const [consumed] = await db.update(oneTimeTokens).set({ usedAt: new Date() })
    .where(and(
      eq(oneTimeTokens.tokenHash, hashToken(token)),
      eq(oneTimeTokens.purpose, purpose),
      isNull(oneTimeTokens.usedAt),
      gt(oneTimeTokens.expiresAt, new Date()),
    )).returning({ userId: oneTimeTokens.userId });
  return consumed?.userId ?? null;
}

/** The user a still-valid token belongs to, without spending it. */
export async function findOneTimeToken(
  db: DbOrTx,
  token: string,
  purpose: OneTimeTokenPurpose,
): Promise<string | null> {
  const [found] = await db.select({ userId: oneTimeTokens.userId }).from(
    oneTimeTokens,
  ).where(and(
    eq(oneTimeTokens.tokenHash, hashToken(token)),
    eq(oneTimeTokens.purpose, purpose),
    isNull(oneTimeTokens.usedAt),
    gt(oneTimeTokens.expiresAt, new Date()),
  ));
  return found?.userId ?? null;
}

/** Whether a link of this purpose went out to the user less than `withinMs` ago (to throttle resends). */
export async function issuedRecently(
  db: DbOrTx,
  userId: string,
  purpose: OneTimeTokenPurpose,
  withinMs: number,
): Promise<boolean> {
  const [latest] = await db.select({ createdAt: oneTimeTokens.createdAt }).from(
    oneTimeTokens,
  )
    .where(
      and(eq(oneTimeTokens.userId, userId), eq(oneTimeTokens.purpose, purpose)),
    )
    .orderBy(desc(oneTimeTokens.createdAt)).limit(1);
  return latest !== undefined &&
    Date.now() - latest.createdAt.getTime() < withinMs;
}

/** Spends every outstanding token of a user (all purposes, or one): after a reset, a deletion. */
export async function expireOneTimeTokens(
  db: DbOrTx,
  userId: string,
  purpose?: OneTimeTokenPurpose,
): Promise<void> {
  await db.update(oneTimeTokens).set({ usedAt: new Date() }).where(and(
    eq(oneTimeTokens.userId, userId),
    isNull(oneTimeTokens.usedAt),
    purpose ? eq(oneTimeTokens.purpose, purpose) : undefined,
  ));
}
