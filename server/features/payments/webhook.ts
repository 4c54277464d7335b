import { eq } from "drizzle-orm";
import type Stripe from "stripe";
import { type Payment, stripeEvents } from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { badRequest } from "../../lib/errors.ts";
import { paymentsDisabled } from "../../lib/stripe.ts";
import {
  afterSessionPayment,
  confirmSessionPayment,
} from "../tutoring/sessions.ts";
import {
  applyStripeSubscription,
  recordInvoice,
} from "../subscriptions/service.ts";
import {
  afterFulfilment,
  fulfilSucceededIntent,
  recordFailedIntent,
  recordRefund,
  sendPaymentFailedEmail,
  sendRefundEmail,
} from "./service.ts";

type WebhookDeps = Pick<
  Deps,
  "db" | "stripe" | "mail" | "logger" | "background" | "config"
>;

/** Stripe's default: a signature older than five minutes is refused (replay protection). */
const SIGNATURE_TOLERANCE_SECONDS = 300;

/** Checks the signature over the raw body; anything wrong is a 400 that changes nothing. */
export async function verifyStripeEvent(
  deps: WebhookDeps,
  rawBody: string,
  signature: string | undefined,
): Promise<Stripe.Event> {
  const secret = deps.config.stripe.webhookSecret;
  if (!deps.stripe || !secret) throw paymentsDisabled();
  if (!signature) {
    throw badRequest(
      "INVALID_SIGNATURE",
      "The Stripe-Signature header is missing",
    );
  }
  try {
    return await deps.stripe.webhooks.constructEventAsync(
      rawBody,
      signature,
      secret,
      SIGNATURE_TOLERANCE_SECONDS,
    );
  } catch {
    throw badRequest(
      "INVALID_SIGNATURE",
      "The webhook signature does not match this payload",
    );
  }
}

interface Handled {
  outcome: string;
  /** Emails and other effects that must only happen once the changes are committed. */
  after?: () => Promise<void>;
}

/**
 * Applies one verified event, once: the event id is stored in the same transaction as its effects,
 * so a replay (or a concurrent duplicate) finds it and does nothing.
 */
export async function handleStripeEvent(
  deps: WebhookDeps,
  event: Stripe.Event,
): Promise<{ outcome: string; duplicate: boolean }> {
  const [seen] = await deps.db.select().from(stripeEvents).where(
    eq(stripeEvents.id, event.id),
  );
  if (seen) return { outcome: seen.outcome, duplicate: true };
  const eventAt = new Date(event.created * 1000);
  const handled = await deps.db.transaction(async (tx) => {
    const claimed = await tx.insert(stripeEvents).values({
      id: event.id,
      type: event.type,
      outcome: "processing",
      receivedAt: new Date(),
    }).onConflictDoNothing().returning();
    if (claimed.length === 0) return undefined;
    let result: Handled;
    switch (event.type) {
      case "payment_intent.succeeded": {
        if (event.data.object.metadata?.kind === "tutoring_session") {
          const booked = await confirmSessionPayment(tx, event.data.object);
          result = {
            outcome: `tutoring: ${booked.outcome}`,
            after: () => afterSessionPayment(deps, booked),
          };
          break;
        }
        const fulfilled = await fulfilSucceededIntent(
          deps,
          tx,
          event.data.object,
        );
        result = {
          outcome: fulfilled.outcome,
          after: () => afterFulfilment(deps, fulfilled),
        };
        break;
      }
      case "payment_intent.payment_failed": {
        const failed = await recordFailedIntent(tx, event.data.object);
        result = failed
          ? {
            outcome: "payment failed",
            after: () => sendPaymentFailedEmail(deps, failed as Payment),
          }
          : { outcome: "no pending payment" };
        break;
      }
      case "charge.refunded": {
        const refund = await recordRefund(tx, event.data.object);
        result = refund.payment
          ? {
            outcome: refund.revoked > 0
              ? "refunded, access revoked"
              : "refund recorded",
            after: refund.revoked > 0
              ? () => sendRefundEmail(deps, refund.payment!)
              : undefined,
          }
          : { outcome: "unknown payment" };
        break;
      }
      case "invoice.payment_succeeded":
      case "invoice.paid": {
        const saved = await recordInvoice(tx, event.data.object);
        result = {
          outcome: saved.renewed
            ? "subscription renewed"
            : saved.invoice
            ? "invoice recorded"
            : "unknown customer",
        };
        break;
      }
      case "customer.subscription.created":
      case "customer.subscription.updated":
      case "customer.subscription.deleted": {
        const applied = await applyStripeSubscription(
          tx,
          deps.config.stripe,
          event.data.object,
          eventAt,
        );
        result = { outcome: applied.outcome };
        break;
      }
      default:
        deps.logger.info("stripe event acknowledged, not handled", {
          eventId: event.id,
          type: event.type,
        });
        result = { outcome: "ignored" };
    }
    await tx.update(stripeEvents).set({ outcome: result.outcome }).where(
      eq(stripeEvents.id, event.id),
    );
    return result;
  });
  if (!handled) return { outcome: "duplicate", duplicate: true };
  deps.logger.info("stripe event handled", {
    eventId: event.id,
    type: event.type,
    outcome: handled.outcome,
  });
  if (handled.after) {
    await handled.after().catch((error) =>
      deps.logger.error("after-effect of a stripe event failed", {
        eventId: event.id,
        error: error instanceof Error ? error.message : String(error),
      })
    );
  }
  return { outcome: handled.outcome, duplicate: false };
}
