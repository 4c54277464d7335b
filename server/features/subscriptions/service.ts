import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { audit, type AuditedActor } from "../audit/service.ts";
import type Stripe from "stripe";
import type { DbOrTx } from "../../../db/client.ts";
import {
  type Invoice,
  invoices,
  type PaidPlanId,
  type Subscription,
  SUBSCRIPTION_STATUSES,
  subscriptions,
  type SubscriptionStatus,
  type User,
  users,
} from "../../../db/schema/mod.ts";
import type { StripeConfig } from "../../env.ts";
import type { Deps } from "../../deps.ts";
import { AppError, notFound } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { toMajor } from "../../lib/money.ts";
import {
  paymentsDisabled,
  requireStripe,
  stripeFailure,
} from "../../lib/stripe.ts";
import { queueEmail } from "../email/service.ts";
import { getUser } from "../users/service.ts";
import { currentSubscription, LIVE_STATUSES, syncUserTier } from "./current.ts";
import { type PlanId, planOfStripePrice, PLANS } from "./plans.ts";

type SubscriptionDeps = Pick<
  Deps,
  "db" | "stripe" | "mail" | "logger" | "background" | "config"
>;

const fromUnix = (seconds: number | null | undefined) =>
  seconds ? new Date(seconds * 1000) : undefined;
const dateOnly = (date: Date) => date.toISOString().slice(0, 10);

/** GET /api/subscriptions/plans in 002's shape (prices in major units). */
export function listPlans() {
  return Object.values(PLANS).map((plan) => ({
    id: plan.id,
    name: plan.name,
    price: toMajor(plan.price),
    currency: plan.currency,
    billingCycle: plan.billingCycle,
    features: plan.features,
    limits: {
      aiMessages: plan.limits.aiMessages,
      aiTokensPerMessage: plan.limits.aiTokensPerMessage,
      programs: plan.limits.programs,
    },
  }));
}

/** The Stripe customer of a user, created once (the idempotency key makes a retry reuse it). */
async function ensureStripeCustomer(
  deps: SubscriptionDeps,
  stripe: Stripe,
  user: User,
): Promise<string> {
  if (user.stripeCustomerId) return user.stripeCustomerId;
  const customer = await stripe.customers.create({
    email: user.email,
    name: user.name,
    metadata: { userId: user.id },
  }, { idempotencyKey: `lectern-customer-${user.id}` });
  await deps.db.update(users).set({ stripeCustomerId: customer.id }).where(
    eq(users.id, user.id),
  );
  return customer.id;
}

/** The period of a subscription: on its items in current Stripe API versions, on itself before. */
function periodOf(subscription: Stripe.Subscription) {
  const item = subscription.items?.data?.[0] as
    | (Stripe.SubscriptionItem & Record<string, unknown>)
    | undefined;
  const legacy = subscription as unknown as {
    current_period_start?: number;
    current_period_end?: number;
  };
  return {
    start: fromUnix(item?.current_period_start ?? legacy.current_period_start),
    end: fromUnix(item?.current_period_end ?? legacy.current_period_end),
  };
}

const customerIdOf = (value: string | { id: string } | null | undefined) =>
  typeof value === "string" ? value : value?.id;

async function userIdForStripe(
  db: DbOrTx,
  metadataUserId: string | undefined,
  customerId: string | undefined,
): Promise<string | undefined> {
  if (metadataUserId) {
    const [found] = await db.select({ id: users.id }).from(users).where(
      eq(users.id, metadataUserId),
    );
    if (found) return found.id;
  }
  if (!customerId) return undefined;
  const [found] = await db.select({ id: users.id }).from(users).where(
    eq(users.stripeCustomerId, customerId),
  );
  return found?.id;
}

const asStatus = (status: string): SubscriptionStatus =>
  (SUBSCRIPTION_STATUSES as readonly string[]).includes(status)
    ? status as SubscriptionStatus
    : "incomplete";

export type SubscriptionOutcome =
  | "recorded"
  | "stale event ignored"
  | "already canceled"
  | "unknown subscription";

/**
 * Records what Stripe says a subscription is now. Events can arrive late or twice: one older than
 * the last applied (`eventAt`) changes nothing, and a canceled subscription never comes back.
 */
export async function applyStripeSubscription(
  tx: DbOrTx,
  stripeConfig: StripeConfig,
  remote: Stripe.Subscription,
  eventAt?: Date,
): Promise<{ outcome: SubscriptionOutcome; subscription?: Subscription }> {
  const [existing] = await tx.select().from(subscriptions).where(
    eq(subscriptions.stripeSubscriptionId, remote.id),
  );
  if (existing?.lastEventAt && eventAt && eventAt < existing.lastEventAt) {
    return { outcome: "stale event ignored", subscription: existing };
  }
  if (existing?.status === "canceled") {
    return { outcome: "already canceled", subscription: existing };
  }
  const userId = existing?.userId ?? await userIdForStripe(
    tx,
    remote.metadata?.userId,
    customerIdOf(remote.customer),
  );
  const item = remote.items?.data?.[0];
  const planId = planOfStripePrice(stripeConfig, item?.price?.id) ??
    (remote.metadata?.planId === "basic" ||
        remote.metadata?.planId === "premium"
      ? remote.metadata.planId as PaidPlanId
      : existing?.planId);
  if (!userId || !planId) return { outcome: "unknown subscription" };
  const period = periodOf(remote);
  const now = new Date();
  const status = asStatus(remote.status);
  const values = {
    planId,
    status,
    amount: item?.price?.unit_amount ?? PLANS[planId].price,
    currency: item?.price?.currency ?? PLANS[planId].currency,
    currentPeriodStart: period.start ?? existing?.currentPeriodStart ?? now,
    currentPeriodEnd: period.end ?? existing?.currentPeriodEnd ?? now,
    cancelAtPeriodEnd: remote.cancel_at_period_end ?? false,
    canceledAt: status === "canceled"
      ? fromUnix(remote.ended_at ?? remote.canceled_at) ?? now
      : null,
    lastEventAt: eventAt ?? existing?.lastEventAt ?? null,
    updatedAt: now,
  };
  if (status === "canceled") {
    // Ended: access stops when Stripe ended it (the period end, or now if ended early).
    const endedAt = fromUnix(remote.ended_at) ?? now;
    if (endedAt < values.currentPeriodEnd) values.currentPeriodEnd = endedAt;
  }
  let subscription: Subscription;
  if (existing) {
    [subscription] = await tx.update(subscriptions).set(values).where(
      eq(subscriptions.id, existing.id),
    ).returning() as [Subscription];
  } else {
    [subscription] = await tx.insert(subscriptions).values({
      id: newId(),
      userId,
      source: "stripe",
      stripeSubscriptionId: remote.id,
      createdAt: now,
      ...values,
    }).returning() as [Subscription];
  }
  await syncUserTier(tx, userId);
  return { outcome: "recorded", subscription };
}

const subscriptionIdOfInvoice = (
  invoice: Stripe.Invoice,
): string | undefined => {
  const fromParent = invoice.parent?.subscription_details?.subscription;
  const legacy =
    (invoice as unknown as { subscription?: string | { id: string } })
      .subscription;
  return customerIdOf(fromParent ?? legacy ?? undefined);
};

/**
 * Records an invoice (idempotent by Stripe id) and, when it is paid, renews the subscription it
 * belongs to up to the end of the period it paid for.
 */
export async function recordInvoice(
  tx: DbOrTx,
  invoice: Stripe.Invoice,
): Promise<{ invoice?: Invoice; renewed: boolean }> {
  const stripeSubscriptionId = subscriptionIdOfInvoice(invoice);
  const [subscription] = stripeSubscriptionId
    ? await tx.select().from(subscriptions).where(
      eq(subscriptions.stripeSubscriptionId, stripeSubscriptionId),
    )
    : [];
  const userId = subscription?.userId ??
    await userIdForStripe(tx, undefined, customerIdOf(invoice.customer));
  if (!userId) return { renewed: false };
  const line = invoice.lines?.data?.[0];
  const periodStart = fromUnix(line?.period?.start);
  const periodEnd = fromUnix(line?.period?.end);
  const values = {
    userId,
    subscriptionId: subscription?.id ?? null,
    amount: invoice.status === "paid"
      ? invoice.amount_paid
      : invoice.amount_due,
    currency: invoice.currency,
    status: invoice.status ?? "draft",
    hostedInvoiceUrl: invoice.hosted_invoice_url ?? null,
    invoicePdfUrl: invoice.invoice_pdf ?? null,
    periodStart: periodStart ?? null,
    periodEnd: periodEnd ?? null,
  };
  const [saved] = await tx.insert(invoices).values({
    id: newId(),
    stripeInvoiceId: invoice.id!,
    createdAt: fromUnix(invoice.created) ?? new Date(),
    ...values,
  }).onConflictDoUpdate({ target: invoices.stripeInvoiceId, set: values })
    .returning();
  let renewed = false;
  if (
    invoice.status === "paid" && subscription &&
    subscription.status !== "canceled" && periodEnd &&
    periodEnd > subscription.currentPeriodEnd
  ) {
    await tx.update(subscriptions).set({
      status: "active",
      currentPeriodStart: periodStart ?? subscription.currentPeriodStart,
      currentPeriodEnd: periodEnd,
      updatedAt: new Date(),
    }).where(eq(subscriptions.id, subscription.id));
    await syncUserTier(tx, userId);
    renewed = true;
  }
  return { invoice: saved, renewed };
}

export interface SubscribeInput {
  planId: PaidPlanId;
  paymentMethodId: string;
}

/**
 * POST /api/subscriptions/subscribe: reuses or creates the Stripe customer, attaches the payment
 * method, creates the subscription and records it with its first invoice.
 */
export async function subscribe(
  deps: SubscriptionDeps,
  viewer: { id: string },
  input: SubscribeInput,
) {
  const stripe = requireStripe(deps);
  const price = deps.config.stripe.prices[input.planId];
  if (!price) {
    throw paymentsDisabled([`STRIPE_PRICE_${input.planId.toUpperCase()}`]);
  }
  const current = await currentSubscription(deps.db, viewer.id);
  if (current) {
    throw new AppError(
      409,
      "ALREADY_SUBSCRIBED",
      current.planId === input.planId
        ? `You are already on the ${PLANS[current.planId].name} plan`
        : `You are on the ${
          PLANS[current.planId].name
        } plan until ${current.currentPeriodEnd.toISOString()}; changing plans takes effect after it ends`,
      { planId: current.planId, currentPeriodEnd: current.currentPeriodEnd },
    );
  }
  const user = await getUser(deps, viewer.id);
  let remote: Stripe.Subscription;
  try {
    const customer = await ensureStripeCustomer(deps, stripe, user);
    await stripe.paymentMethods.attach(input.paymentMethodId, { customer });
    // Retries of this attempt share the key; once a subscription has ended, the next attempt
    // differs (Stripe would otherwise replay the old, ended subscription for a day).
    const [latest] = await deps.db.select({ id: subscriptions.id }).from(
      subscriptions,
    ).where(eq(subscriptions.userId, user.id)).orderBy(
      desc(subscriptions.createdAt),
      desc(subscriptions.id),
    ).limit(1);
    remote = await stripe.subscriptions.create({
      customer,
      items: [{ price }],
      default_payment_method: input.paymentMethodId,
      metadata: { userId: user.id, planId: input.planId },
      expand: ["latest_invoice"],
    }, {
      idempotencyKey:
        `lectern-subscribe-${user.id}-${input.planId}-${input.paymentMethodId}-${
          latest?.id ?? "first"
        }`,
    });
  } catch (error) {
    deps.logger.warn("stripe refused a subscription", {
      userId: user.id,
      error: error instanceof Error ? error.message : String(error),
    });
    throw stripeFailure(error);
  }
  const invoice = typeof remote.latest_invoice === "object"
    ? remote.latest_invoice
    : null;
  const recorded = await deps.db.transaction(async (tx) => {
    const applied = await applyStripeSubscription(
      tx,
      deps.config.stripe,
      remote,
    );
    const saved = invoice ? await recordInvoice(tx, invoice) : undefined;
    return { subscription: applied.subscription, invoice: saved?.invoice };
  });
  if (!recorded.subscription) {
    throw new AppError(
      502,
      "PAYMENT_PROVIDER_ERROR",
      "The payment provider returned a subscription for an unknown plan",
    );
  }
  if (LIVE_STATUSES.includes(recorded.subscription.status)) {
    await queueEmail(deps, user.email, "subscription_started", {
      name: user.name,
      plan: PLANS[recorded.subscription.planId].name,
      periodEnd: dateOnly(recorded.subscription.currentPeriodEnd),
      link: `${deps.config.appUrl}/api/subscriptions/current`,
    });
  }
  return recorded as { subscription: Subscription; invoice?: Invoice };
}

/** POST /api/subscriptions/cancel: ends at the period's end; access stays until then. */
export async function cancelSubscription(
  deps: SubscriptionDeps,
  viewer: { id: string },
): Promise<Subscription> {
  const current = await currentSubscription(deps.db, viewer.id);
  if (!current) {
    throw notFound("Active subscription");
  }
  if (current.cancelAtPeriodEnd) return current;
  let updated: Subscription;
  if (current.source === "stripe" && current.stripeSubscriptionId) {
    const stripe = requireStripe(deps);
    let remote: Stripe.Subscription;
    try {
      remote = await stripe.subscriptions.update(current.stripeSubscriptionId, {
        cancel_at_period_end: true,
      });
    } catch (error) {
      throw stripeFailure(error);
    }
    updated = await deps.db.transaction(async (tx) =>
      (await applyStripeSubscription(tx, deps.config.stripe, remote))
        .subscription ?? current
    );
  } else {
    [updated] = await deps.db.update(subscriptions).set({
      cancelAtPeriodEnd: true,
      updatedAt: new Date(),
    }).where(eq(subscriptions.id, current.id)).returning() as [Subscription];
  }
  const user = await getUser(deps, viewer.id);
  await queueEmail(deps, user.email, "subscription_canceled", {
    name: user.name,
    plan: PLANS[updated.planId].name,
    accessUntil: dateOnly(updated.currentPeriodEnd),
  });
  return updated;
}

/**
 * `subscriptions set` (CLI): an administrator gives a plan until a date without Stripe, or takes
 * their grant back with tier `free`. Stripe subscriptions are left alone.
 */
export async function setSubscriptionByAdmin(
  deps: Pick<Deps, "db">,
  actor: AuditedActor,
  userId: string,
  tier: PlanId,
  until: Date | undefined,
): Promise<{ tier: PlanId; subscription?: Subscription }> {
  const now = new Date();
  if (tier !== "free" && (!until || until <= now)) {
    throw new AppError(
      422,
      "VALIDATION_FAILED",
      "--until must be a date in the future",
      { fields: { until: "Must be in the future" } },
    );
  }
  return await deps.db.transaction(async (tx) => {
    await tx.update(subscriptions).set({
      status: "canceled",
      canceledAt: now,
      currentPeriodEnd: now,
      updatedAt: now,
    }).where(and(
      eq(subscriptions.userId, userId),
      eq(subscriptions.source, "admin"),
      inArray(subscriptions.status, LIVE_STATUSES),
    ));
    let subscription: Subscription | undefined;
    if (tier !== "free") {
      [subscription] = await tx.insert(subscriptions).values({
        id: newId(),
        userId,
        planId: tier,
        status: "active",
        source: "admin",
        amount: 0,
        currency: PLANS[tier].currency,
        currentPeriodStart: now,
        currentPeriodEnd: until!,
        createdAt: now,
        updatedAt: now,
      }).returning();
    }
    const result = { tier: await syncUserTier(tx, userId, now), subscription };
    await audit(tx, actor, {
      action: "subscription.set",
      targetType: "user",
      targetId: userId,
      after: { tier, until: until?.toISOString() ?? null, now: result.tier },
    });
    return result;
  });
}

export async function listInvoices(
  deps: Pick<Deps, "db">,
  userId: string,
  page: { page: number; limit: number },
) {
  const where = eq(invoices.userId, userId);
  const [rows, [count]] = await Promise.all([
    deps.db.select().from(invoices).where(where).orderBy(
      desc(invoices.createdAt),
      desc(invoices.id),
    ).limit(page.limit).offset((page.page - 1) * page.limit),
    deps.db.select({ n: sql<number>`count(*)` }).from(invoices).where(where),
  ]);
  return { invoices: rows, total: count?.n ?? 0 };
}

export function toSubscriptionResponse(subscription: Subscription) {
  const live = LIVE_STATUSES.includes(subscription.status);
  return {
    id: subscription.id,
    planId: subscription.planId,
    planName: PLANS[subscription.planId].name,
    status: subscription.status,
    source: subscription.source,
    currentPeriodStart: subscription.currentPeriodStart.toISOString(),
    currentPeriodEnd: subscription.currentPeriodEnd.toISOString(),
    cancelAtPeriodEnd: subscription.cancelAtPeriodEnd,
    nextBillingDate: live && !subscription.cancelAtPeriodEnd &&
        subscription.source === "stripe"
      ? subscription.currentPeriodEnd.toISOString()
      : null,
    amount: toMajor(subscription.amount),
    currency: subscription.currency,
  };
}

export function toInvoiceResponse(invoice: Invoice) {
  return {
    id: invoice.id,
    stripeInvoiceId: invoice.stripeInvoiceId,
    amount: toMajor(invoice.amount),
    currency: invoice.currency,
    status: invoice.status,
    date: invoice.createdAt.toISOString(),
    periodStart: invoice.periodStart?.toISOString() ?? null,
    periodEnd: invoice.periodEnd?.toISOString() ?? null,
    invoiceUrl: invoice.hostedInvoiceUrl,
    downloadUrl: invoice.invoicePdfUrl,
  };
}
