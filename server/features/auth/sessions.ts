import { and, eq, isNull, ne } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import { refreshTokens, sessions } from "../../../db/schema/mod.ts";
import { newId } from "../../lib/ids.ts";
import { hashToken, newToken } from "../../lib/secrets.ts";

export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3_600_000;

export interface ClientInfo {
  userAgent?: string | undefined;
  ip?: string | undefined;
}

async function issueRefreshToken(
  db: DbOrTx,
  sessionId: string,
): Promise<string> {
  const { token, hash } = newToken();
  const now = Date.now();
  await db.insert(refreshTokens).values({
    id: newId(),
    sessionId,
    tokenHash: hash,
    createdAt: new Date(now),
    expiresAt: new Date(now + REFRESH_TOKEN_TTL_MS),
  });
  return token;
}

/** Starts a session (a refresh-token family) and returns its first refresh token. */
export async function createSession(
  db: DbOrTx,
  userId: string,
  client: ClientInfo,
): Promise<{ sessionId: string; refreshToken: string }> {
  const now = new Date();
  const sessionId = newId();
  await db.insert(sessions).values({
    id: sessionId,
    userId,
    createdAt: now,
    lastUsedAt: now,
    userAgent: client.userAgent?.slice(0, 300) ?? null,
    ip: client.ip ?? null,
  });
  return { sessionId, refreshToken: await issueRefreshToken(db, sessionId) };
}

export type RotationOutcome =
  | { kind: "rotated"; userId: string; sessionId: string; refreshToken: string }
  | { kind: "reused" }
  | { kind: "invalid" };

/**
 * Exchanges a refresh token for a new one. A token that was already exchanged means it was copied:
 * the whole family is revoked, so both the thief and the owner must sign in again. Returns an outcome
 * instead of throwing so that the revocation commits with the caller's transaction.
 */
export async function rotateRefreshToken(
  db: DbOrTx,
  token: string,
): Promise<RotationOutcome> {
  const [found] = await db.select({ token: refreshTokens, session: sessions })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .where(eq(refreshTokens.tokenHash, hashToken(token)));
  if (!found || found.session.revokedAt) return { kind: "invalid" };
  if (found.token.usedAt) {
    await revokeSession(db, found.session.id, "refresh_token_reused");
    return { kind: "reused" };
  }
  if (found.token.expiresAt.getTime() <= Date.now()) return { kind: "invalid" };
  const now = new Date();
  const [claimed] = await db.update(refreshTokens).set({ usedAt: now })
    .where(
      and(eq(refreshTokens.id, found.token.id), isNull(refreshTokens.usedAt)),
    ).returning({ id: refreshTokens.id });
  // Lost a race with a concurrent exchange of the same token: that is reuse too.
  if (!claimed) return await rotateRefreshToken(db, token);
  await db.update(sessions).set({ lastUsedAt: now }).where(
    eq(sessions.id, found.session.id),
  );
  return {
    kind: "rotated",
    userId: found.session.userId,
    sessionId: found.session.id,
    refreshToken: await issueRefreshToken(db, found.session.id),
  };
}

export async function revokeSession(
  db: DbOrTx,
  sessionId: string,
  reason: string,
): Promise<void> {
  await db.update(sessions).set({ revokedAt: new Date(), revokeReason: reason })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
}

export async function revokeAllSessions(
  db: DbOrTx,
  userId: string,
  reason: string,
  exceptSessionId?: string,
): Promise<void> {
  await db.update(sessions).set({ revokedAt: new Date(), revokeReason: reason })
    .where(and(
      eq(sessions.userId, userId),
      isNull(sessions.revokedAt),
      exceptSessionId ? ne(sessions.id, exceptSessionId) : undefined,
    ));
}
