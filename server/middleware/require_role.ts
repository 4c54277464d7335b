import type { MiddlewareHandler } from "hono";
import type { Role } from "../../db/schema/mod.ts";
import { forbidden } from "../lib/errors.ts";
import type { AppEnv } from "../types.ts";

/** Use after requireAuth: lets only the named roles through. */
export function requireRole(...roles: Role[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!roles.includes(c.get("auth").user.role)) {
      throw forbidden("FORBIDDEN", "Your role does not allow this action");
    }
    await next();
  };
}
