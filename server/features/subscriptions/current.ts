import { and, desc, eq, gt, inArray, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import {
  type Subscription,
  subscriptions,
  type SubscriptionStatus,
  users,
} from "../../../db/schema/mod.ts";
import type { PlanId } from "./plans.ts";

/**
 * Statuses that give access until the period ends. `past_due` keeps access while Stripe retries
 * the payment; Stripe moves the subscription to `canceled` or `unpaid` when it gives up.
 */
export const LIVE_STATUSES: SubscriptionStatus[] = [
  "active",
  "trialing",
  "past_due",
];

/** The subscription that sets a user's tier now: live, inside its period, highest plan first. */
export async function currentSubscription(
  db: DbOrTx,
  userId: string,
  now = new Date(),
): Promise<Subscription | undefined> {
  const [found] = await db.select().from(subscriptions).where(and(
    eq(subscriptions.userId, userId),
    inArray(subscriptions.status, LIVE_STATUSES),
    gt(subscriptions.currentPeriodEnd, now),
  )).orderBy(
    desc(sql`${subscriptions.planId} = 'premium'`),
    desc(subscriptions.currentPeriodEnd),
  ).limit(1);
  return found;
}

export async function currentTier(
  db: DbOrTx,
  userId: string,
  now = new Date(),
): Promise<PlanId> {
  return (await currentSubscription(db, userId, now))?.planId ?? "free";
}

/** Keeps users.subscription_tier (a copy for listings and tokens) equal to what subscriptions say. */
export async function syncUserTier(
  db: DbOrTx,
  userId: string,
  now = new Date(),
): Promise<PlanId> {
  const tier = await currentTier(db, userId, now);
  await db.update(users).set({ subscriptionTier: tier }).where(
    eq(users.id, userId),
  );
  return tier;
}

/**
 * Brings every stored tier copy up to date, e.g. after a period ended without any event (an
 * administrator's plan, or a Stripe webhook that never came). One statement; run periodically.
 */
export async function syncAllTiers(db: DbOrTx, now = new Date()) {
  const live = sql.join(LIVE_STATUSES.map((status) => sql`${status}`), sql`, `);
  const current = sql`coalesce((
    SELECT s.plan_id FROM subscriptions s
    WHERE s.user_id = users.id AND s.status IN (${live})
      AND s.current_period_end > ${now.getTime()}
    ORDER BY s.plan_id = 'premium' DESC LIMIT 1
  ), 'free')`;
  const changed = await db.update(users).set({ subscriptionTier: current })
    .where(sql`${users.subscriptionTier} != ${current}`).returning({
      id: users.id,
    });
  return changed.length;
}
