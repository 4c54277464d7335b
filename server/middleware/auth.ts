import { eq, sql } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { sessions, users } from "../../db/schema/mod.ts";
import type { Deps } from "../deps.ts";
import { forbidden, unauthorized } from "../lib/errors.ts";
import type { AppEnv } from "../types.ts";

/**
 * Bearer token -> user. The token's signature is not enough: every request re-reads the user and the
 * session in one query, so a ban, a deletion or a logout takes effect at once.
 */
export function requireAuth(
  deps: Pick<Deps, "db" | "jwt">,
): MiddlewareHandler<AppEnv> {
  // Prepared once: this runs on every authenticated request, and building the query each time
  // costs as much as running it (see BENCHMARKS.md).
  const lookup = deps.db.select({ user: users, revokedAt: sessions.revokedAt })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(sessions.id, sql.placeholder("sessionId")))
    .prepare();
  return async (c, next) => {
    const header = c.req.header("authorization");
    const match = header?.match(/^Bearer\s+(\S+)$/i);
    if (!match) {
      throw unauthorized(
        "UNAUTHENTICATED",
        "Sign in first: send an Authorization: Bearer <token> header",
      );
    }
    const claims = deps.jwt.verify(match[1]!);
    if (claims === "expired") {
      throw unauthorized(
        "TOKEN_EXPIRED",
        "The access token has expired; refresh it",
      );
    }
    if (claims === "invalid") {
      throw unauthorized("INVALID_TOKEN", "The access token is invalid");
    }
    const row = await lookup.get({ sessionId: claims.sid });
    if (
      !row || row.user.id !== claims.userId || row.user.status === "deleted"
    ) {
      throw unauthorized("INVALID_TOKEN", "The access token is invalid");
    }
    if (row.user.status === "banned") {
      throw forbidden("ACCOUNT_BANNED", "This account has been banned");
    }
    if (row.revokedAt) {
      throw unauthorized(
        "SESSION_REVOKED",
        "This session has ended; sign in again",
      );
    }
    c.set("auth", { user: row.user, sessionId: claims.sid });
    await next();
  };
}
