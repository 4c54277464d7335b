import { eq, sql } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { sessions, users } from "../../db/schema/mod.ts";
import type { Deps } from "../deps.ts";
import { forbidden, unauthorized } from "../lib/errors.ts";
import { GenerationCache } from "../lib/generation_cache.ts";
import type { AppEnv, AuthContext } from "../types.ts";

/**
 * What the auth state is read from. A write that names neither table cannot change it (`users`
 * cascades into `sessions`; no trigger writes either: auth_state_cache_test checks the schema), so
 * the submits and saves of a busy exam do not empty the cache; another process's writes still do.
 */
export const AUTH_TABLES = ["users", "sessions"] as const;

/** Session id -> the session's revocation and its user, cached until the next write to them. */
function createSessionLoader(deps: Pick<Deps, "db" | "writes">) {
  // Prepared once: this runs on every authenticated request, and building the query each time
  // costs as much as running it (see BENCHMARKS.md).
  const lookup = deps.db.select({ user: users, revokedAt: sessions.revokedAt })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(sessions.id, sql.placeholder("sessionId")))
    .prepare();
  type SessionState = NonNullable<Awaited<ReturnType<typeof lookup.get>>>;
  const cache = new GenerationCache<SessionState>(
    deps.writes.scope(AUTH_TABLES),
    {
      ttlMs: 5_000,
      maxEntries: 10_000,
    },
  );
  return async (sessionId: string): Promise<SessionState | undefined> => {
    const cached = cache.get(sessionId);
    if (cached) return cached;
    const generationBefore = cache.generation;
    const row = await lookup.get({ sessionId });
    if (!row) return undefined;
    // Shared by every request of this session until the next write: nobody may change it.
    Object.freeze(row.user);
    cache.set(sessionId, Object.freeze(row), generationBefore);
    return row;
  };
}

/** One loader (and so one cache) per database, however many routers ask for `requireAuth`. */
const loaders = new WeakMap<
  object,
  ReturnType<typeof createSessionLoader>
>();

/**
 * Bearer token -> user. The token's signature is not enough: the user and the session are read in
 * one query, so a ban, a deletion or a logout takes effect at once. The result is cached per session
 * until users or sessions are written (docs/decisions/005-auth-state-cache.md): such a write in this
 * process drops it immediately; any write by another process drops it within a quarter of a second.
 */
export function requireAuth(
  deps: Pick<Deps, "db" | "jwt" | "writes">,
): MiddlewareHandler<AppEnv> {
  const load = loaders.get(deps.writes) ?? createSessionLoader(deps);
  loaders.set(deps.writes, load);
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
    const row = await load(claims.sid);
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

/**
 * For public routes that show more to a signed-in viewer: no Authorization header means anonymous;
 * a header that is present must be valid (a bad token is an error, not a silent downgrade).
 */
export function optionalAuth(
  deps: Pick<Deps, "db" | "jwt" | "writes">,
): MiddlewareHandler<AppEnv> {
  const required = requireAuth(deps);
  return async (c, next) => {
    if (!c.req.header("authorization")) return await next();
    return await required(c, next);
  };
}

/** The signed-in user on a route behind `optionalAuth`, if any. */
export const viewerOf = (c: { get(key: "auth"): AuthContext | undefined }) =>
  c.get("auth")?.user;
