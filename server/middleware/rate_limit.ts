import type { MiddlewareHandler } from "hono";
import type { Deps } from "../deps.ts";
import { clientIp } from "../lib/client_ip.ts";
import { tooManyRequests } from "../lib/errors.ts";
import type { AppEnv } from "../types.ts";

/** Per-IP limit for a group of routes, e.g. every /api/auth route shares one budget a minute. */
export function rateLimitByIp(
  deps: Pick<Deps, "rateLimiter" | "config">,
  bucket: string,
  limit: number,
  windowMs = 60_000,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const retryAfter = deps.rateLimiter.hit(
      `${bucket}:${clientIp(c, deps.config.trustProxy)}`,
      limit,
      windowMs,
    );
    if (retryAfter > 0) throw tooManyRequests(retryAfter);
    await next();
  };
}
