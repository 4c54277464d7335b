import type { MiddlewareHandler } from "hono";
import { isWellFormedRequestId, newId } from "../lib/ids.ts";
import type { Logger } from "../lib/logger.ts";
import type { AppEnv } from "../types.ts";

/** Paths that carry a single-use token: the log keeps the route, never the token. */
const TOKEN_IN_PATH = /\/(verify-email|reset-password)\/[^/]+/;
export const redactPath = (path: string) =>
  path.replace(TOKEN_IN_PATH, "/$1/[redacted]");

/** Gives every request an id (echoing a well-formed incoming one) and logs one line when it ends. */
export function requestLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && isWellFormedRequestId(incoming)
      ? incoming
      : newId();
    c.set("requestId", requestId);
    c.header("X-Request-Id", requestId);
    await next();
    const status = c.res.status;
    logger[status >= 500 ? "error" : "info"]("request", {
      requestId,
      method: c.req.method,
      path: redactPath(c.req.path),
      status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      userId: c.get("auth")?.user.id ?? null,
    });
  };
}
