import Stripe from "stripe";
import type { StripeConfig } from "../env.ts";
import { AppError } from "./errors.ts";

const STRIPE_TIMEOUT_MS = 20_000;

/** The official SDK over fetch; `apiBase` points it at another Stripe-compatible API (tests, stripe-mock). */
export function createStripeClient(config: StripeConfig): Stripe | undefined {
  if (!config.secretKey) return undefined;
  const base = config.apiBase ? new URL(config.apiBase) : undefined;
  return new Stripe(config.secretKey, {
    httpClient: Stripe.createFetchHttpClient(),
    maxNetworkRetries: 2,
    timeout: STRIPE_TIMEOUT_MS,
    telemetry: false,
    ...(base
      ? {
        host: base.hostname,
        port: base.port || (base.protocol === "https:" ? 443 : 80),
        protocol: base.protocol === "https:" ? "https" : "http",
      }
      : {}),
  });
}

export const PAYMENT_ENV_VARS = ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"];

/** 503 for every paid route while Stripe is not configured; free enrollment keeps working. */
export const paymentsDisabled = (missing = PAYMENT_ENV_VARS) =>
  new AppError(
    503,
    "PAYMENTS_DISABLED",
    `Payments are not configured on this server: set ${
      missing.join(" and ")
    }. Free programs can still be joined, and administrators can grant access with the CLI (enrollments grant).`,
    { env: missing },
  );

export function requireStripe(
  deps: { stripe: Stripe | undefined },
): Stripe {
  if (!deps.stripe) throw paymentsDisabled();
  return deps.stripe;
}

/**
 * Stripe failures as the contract's errors: card problems are the learner's to fix (402, with
 * Stripe's message, which is written for customers); anything else is a 502 without internals.
 */
export function stripeFailure(error: unknown): AppError {
  if (error instanceof Stripe.errors.StripeCardError) {
    return new AppError(
      402,
      "PAYMENT_FAILED",
      error.message || "The card was declined",
      { declineCode: error.decline_code ?? error.code ?? null },
    );
  }
  if (
    error instanceof Stripe.errors.StripeInvalidRequestError &&
    error.statusCode === 404
  ) {
    return new AppError(
      404,
      "PAYMENT_NOT_FOUND",
      "The payment provider does not know this payment",
    );
  }
  return new AppError(
    502,
    "PAYMENT_PROVIDER_ERROR",
    "The payment provider could not be reached or refused the request; try again shortly",
  );
}
