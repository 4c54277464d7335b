import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import { AppError } from "../../lib/errors.ts";
import { UPGRADE_URL } from "../access/errors.ts";
import { UNLIMITED } from "../subscriptions/plans.ts";

/** Quotas count per UTC day. */
export const utcDay = (now: Date) => now.toISOString().slice(0, 10);

export function nextUtcMidnight(now: Date): Date {
  return new Date(
    Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1),
  );
}

export interface Usage {
  used: number;
  /** -1: unlimited. */
  limit: number;
  resetAt: string;
}

export async function usageToday(
  db: DbOrTx,
  userId: string,
  limit: number,
  now = new Date(),
): Promise<Usage> {
  const [row] = await db.all<{ messages: number }>(sql`
    SELECT messages FROM ai_usage WHERE user_id = ${userId} AND day = ${
    utcDay(now)
  }`);
  return {
    used: row?.messages ?? 0,
    limit,
    resetAt: nextUtcMidnight(now).toISOString(),
  };
}

/**
 * Counts one tutor message against today's quota in a single statement: the increment happens only
 * while the count is under the limit, so two requests at the quota cannot both pass. Throws 429
 * AI_DAILY_LIMIT (with `resetAt` and `upgradeUrl`) when it is reached.
 */
export async function consumeMessage(
  db: DbOrTx,
  userId: string,
  limit: number,
  now = new Date(),
): Promise<Usage> {
  const day = utcDay(now);
  const under = limit === UNLIMITED ? sql`1` : sql`messages < ${limit}`;
  const [row] = await db.all<{ messages: number }>(sql`
    INSERT INTO ai_usage (user_id, day, messages) VALUES (${userId}, ${day}, 1)
    ON CONFLICT (user_id, day) DO UPDATE SET messages = messages + 1 WHERE ${under}
    RETURNING messages`);
  const resetAt = nextUtcMidnight(now);
  if (!row) {
    const retryAfter = Math.max(
      1,
      Math.ceil((resetAt.getTime() - now.getTime()) / 1000),
    );
    throw new AppError(
      429,
      "AI_DAILY_LIMIT",
      `You have used today's ${limit} tutor messages; the count starts again at midnight UTC`,
      {
        limit,
        retryAfter,
        resetAt: resetAt.toISOString(),
        upgradeUrl: UPGRADE_URL,
      },
      { "Retry-After": String(retryAfter) },
    );
  }
  return { used: row.messages, limit, resetAt: resetAt.toISOString() };
}

/** Gives a message back when no answer came (the provider failed): the learner got nothing for it. */
export async function refundMessage(
  db: DbOrTx,
  userId: string,
  now = new Date(),
): Promise<void> {
  await db.run(sql`
    UPDATE ai_usage SET messages = max(messages - 1, 0)
    WHERE user_id = ${userId} AND day = ${utcDay(now)}`);
}
