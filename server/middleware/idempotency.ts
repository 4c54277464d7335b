import { and, eq, lt } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { idempotencyKeys } from "../../db/schema/mod.ts";
import type { Deps } from "../deps.ts";
import { AppError, badRequest } from "../lib/errors.ts";
import { sha256Hex } from "../lib/storage.ts";
import type { AppEnv } from "../types.ts";

/** A key is remembered for a day, like Stripe's. */
const KEY_LIFETIME_MS = 24 * 3_600_000;
const VALID_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * The contract's `Idempotency-Key` for POSTs that create money-bearing records: the same key with
 * the same body replays the first successful response; with another body it is 409. A key whose
 * request failed is forgotten, so the client can retry with it. Runs after `requireAuth`: keys are
 * per user.
 */
export function idempotent(deps: Pick<Deps, "db">): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = c.req.header("idempotency-key");
    if (key === undefined) return await next();
    if (!VALID_KEY.test(key)) {
      throw badRequest(
        "INVALID_IDEMPOTENCY_KEY",
        "Idempotency-Key must be 1 to 255 printable ASCII characters",
      );
    }
    const userId = c.get("auth").user.id;
    const body = await c.req.text();
    const requestHash = await sha256Hex(
      new TextEncoder().encode(`${c.req.method} ${c.req.path}\n${body}`),
    );
    const now = new Date();
    await deps.db.delete(idempotencyKeys).where(
      lt(idempotencyKeys.createdAt, new Date(now.getTime() - KEY_LIFETIME_MS)),
    );
    const thisKey = and(
      eq(idempotencyKeys.userId, userId),
      eq(idempotencyKeys.key, key),
    );
    const claimed = await deps.db.insert(idempotencyKeys).values({
      userId,
      key,
      requestHash,
      createdAt: now,
    }).onConflictDoNothing().returning();
    if (claimed.length === 0) {
      const [first] = await deps.db.select().from(idempotencyKeys).where(
        thisKey,
      );
      if (!first || first.requestHash !== requestHash) {
        throw new AppError(
          409,
          "IDEMPOTENCY_KEY_REUSED",
          "This Idempotency-Key was already used for a different request",
        );
      }
      if (first.status === null) {
        throw new AppError(
          409,
          "IDEMPOTENCY_IN_PROGRESS",
          "A request with this Idempotency-Key is still running; retry shortly",
          { retryAfter: 1 },
          { "Retry-After": "1" },
        );
      }
      return new Response(first.responseBody, {
        status: first.status,
        headers: {
          "Content-Type": "application/json",
          "Idempotent-Replayed": "true",
        },
      });
    }
    try {
      await next();
    } catch (error) {
      await deps.db.delete(idempotencyKeys).where(thisKey);
      throw error;
    }
    if (c.res.status >= 200 && c.res.status < 300) {
      await deps.db.update(idempotencyKeys).set({
        status: c.res.status,
        responseBody: await c.res.clone().text(),
      }).where(thisKey);
    } else {
      await deps.db.delete(idempotencyKeys).where(thisKey);
    }
  };
}
