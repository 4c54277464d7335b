import { and, desc, eq, gt, or } from "drizzle-orm";
import type Stripe from "stripe";
import type { DbOrTx } from "../../../db/client.ts";
import {
  ACCESS_TYPES,
  type AccessType,
  type Payment,
  payments,
  programs,
} from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { AppError, conflict, forbidden, notFound } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { formatMoney, toMajor, toMinor } from "../../lib/money.ts";
import { requireStripe, stripeFailure } from "../../lib/stripe.ts";
import { priceOf } from "../access/errors.ts";
import { activeGrants, isOwnerOrAdmin } from "../access/service.ts";
import { notify } from "../notifications/service.ts";
import {
  announceEnrollment,
  assertEnrollable,
  endGrants,
  type EnrollmentResult,
  enrollmentResult,
  grantAccess,
  grantsCover,
} from "../enrollments/service.ts";
import { type Actor, getVisibleProgram } from "../programs/service.ts";
import { getUser } from "../users/service.ts";

type PaymentDeps = Pick<
  Deps,
  "db" | "stripe" | "mail" | "logger" | "background" | "config"
>;

/** A client may reuse a payment it started within this window instead of creating another. */
const REUSE_PENDING_MS = 23 * 3_600_000;
const REUSABLE_INTENT_STATUSES = new Set([
  "requires_payment_method",
  "requires_confirmation",
  "requires_action",
  "processing",
]);

export interface CreateIntentInput {
  programId: string;
  accessType: AccessType;
  /** What the client believes it pays, in major units: checked, never trusted. */
  amount?: number;
}

/**
 * POST /api/payments/create-intent: the server prices the access type, records a pending payment
 * and asks Stripe for a PaymentIntent carrying userId, programId and accessType in its metadata.
 * A second call for the same purchase within a day returns the same PaymentIntent.
 */
export async function createPaymentIntent(
  deps: PaymentDeps,
  viewer: Actor,
  input: CreateIntentInput,
): Promise<{ payment: Payment; clientSecret: string }> {
  const stripe = requireStripe(deps);
  const program = await getVisibleProgram(deps, viewer, input.programId);
  assertEnrollable(program);
  const amount = priceOf(program, input.accessType);
  const currency = program.currency.toLowerCase();
  if (amount === 0) {
    throw conflict(
      "NOTHING_TO_PAY",
      `${input.accessType} access to this program is free: enroll directly`,
    );
  }
  if (input.amount !== undefined && toMinor(input.amount) !== amount) {
    throw new AppError(
      409,
      "AMOUNT_MISMATCH",
      `The price of ${input.accessType} access is ${
        toMajor(amount)
      } ${currency}, not ${input.amount}`,
      { expected: toMajor(amount), currency },
    );
  }
  const grants = await activeGrants(deps.db, viewer.id, program.id);
  if (
    grantsCover(grants, input.accessType) || isOwnerOrAdmin(viewer, program)
  ) {
    throw conflict(
      "ALREADY_ENROLLED",
      `You already have ${input.accessType} access to this program`,
    );
  }

  // Find-or-insert in one write transaction: parallel calls for one purchase share one payment,
  // and so (through its idempotency key) one PaymentIntent.
  const payment = await deps.db.transaction(async (tx) => {
    const pending = await findReusablePayment(
      tx,
      viewer.id,
      program.id,
      input.accessType,
      amount,
      currency,
    );
    if (pending) return pending;
    const now = new Date();
    const [inserted] = await tx.insert(payments).values({
      id: newId(),
      userId: viewer.id,
      programId: program.id,
      accessType: input.accessType,
      amount,
      currency,
      createdAt: now,
      updatedAt: now,
    }).returning();
    return inserted!;
  });

  let intent: Stripe.PaymentIntent;
  try {
    intent = payment.stripePaymentIntentId
      ? await stripe.paymentIntents.retrieve(payment.stripePaymentIntentId)
      : await stripe.paymentIntents.create({
        amount,
        currency,
        automatic_payment_methods: { enabled: true },
        description: `${program.title} (${input.accessType})`,
        metadata: {
          userId: viewer.id,
          programId: program.id,
          accessType: input.accessType,
          paymentId: payment.id,
        },
      }, { idempotencyKey: `lectern-payment-${payment.id}` });
  } catch (error) {
    if (!payment.stripePaymentIntentId) {
      await deps.db.update(payments).set({
        status: "failed",
        failureMessage: "The payment could not be started",
        updatedAt: new Date(),
      }).where(eq(payments.id, payment.id));
    }
    deps.logger.warn("stripe refused a payment intent request", {
      paymentId: payment.id,
      error: error instanceof Error ? error.message : String(error),
    });
    throw stripeFailure(error);
  }

  if (intent.status === "succeeded") {
    // Paid already, and neither the webhook nor the enroll call has told us: grant now rather
    // than let the learner pay twice.
    const result = await deps.db.transaction((tx) =>
      fulfilSucceededIntent(deps, tx, intent)
    );
    await afterFulfilment(deps, result);
    throw conflict(
      "ALREADY_ENROLLED",
      "This purchase is already paid; your access is active",
    );
  }
  if (!REUSABLE_INTENT_STATUSES.has(intent.status) || !intent.client_secret) {
    // Canceled at Stripe: this payment is over; a new call starts a fresh one.
    await deps.db.update(payments).set({
      status: "failed",
      failureMessage: `The payment was ${intent.status}`,
      updatedAt: new Date(),
    }).where(eq(payments.id, payment.id));
    throw conflict(
      "PAYMENT_EXPIRED",
      "The previous payment for this purchase was cancelled; try again",
    );
  }
  if (!payment.stripePaymentIntentId) {
    await deps.db.update(payments).set({
      stripePaymentIntentId: intent.id,
      updatedAt: new Date(),
    }).where(eq(payments.id, payment.id));
  }
  return {
    payment: { ...payment, stripePaymentIntentId: intent.id },
    clientSecret: intent.client_secret,
  };
}

async function findReusablePayment(
  db: DbOrTx,
  userId: string,
  programId: string,
  accessType: AccessType,
  amount: number,
  currency: string,
): Promise<Payment | undefined> {
  const [found] = await db.select().from(payments).where(and(
    eq(payments.userId, userId),
    eq(payments.programId, programId),
    eq(payments.accessType, accessType),
    eq(payments.status, "pending"),
    eq(payments.amount, amount),
    eq(payments.currency, currency),
    gt(payments.createdAt, new Date(Date.now() - REUSE_PENDING_MS)),
  )).orderBy(desc(payments.createdAt)).limit(1);
  return found;
}

export type FulfilmentOutcome =
  | "granted"
  | "already granted"
  | "refunded before success"
  | "unknown payment"
  | "amount mismatch";

/**
 * A PaymentIntent Stripe reports as succeeded becomes access, exactly once, whoever reports it
 * first (the learner's enroll call or the webhook). The payment row and the grant change together.
 */
export async function fulfilSucceededIntent(
  deps: PaymentDeps,
  tx: DbOrTx,
  intent: Pick<Stripe.PaymentIntent, "id" | "amount" | "currency" | "status">,
): Promise<
  { outcome: FulfilmentOutcome; payment?: Payment; enrolled?: boolean }
> {
  const [payment] = await tx.select().from(payments).where(
    eq(payments.stripePaymentIntentId, intent.id),
  );
  if (!payment) return { outcome: "unknown payment" };
  if (payment.status === "refunded") {
    return { outcome: "refunded before success", payment };
  }
  if (
    intent.amount !== payment.amount ||
    intent.currency.toLowerCase() !== payment.currency
  ) {
    deps.logger.error("payment intent amount differs from the recorded price", {
      paymentId: payment.id,
      intentId: intent.id,
    });
    return { outcome: "amount mismatch", payment };
  }
  const now = new Date();
  if (payment.status !== "succeeded") {
    await tx.update(payments).set({
      status: "succeeded",
      succeededAt: now,
      failureMessage: null,
      updatedAt: now,
    }).where(eq(payments.id, payment.id));
  }
  const { granted, enrolled } = await grantAccess(tx, {
    userId: payment.userId,
    programId: payment.programId,
    accessType: payment.accessType,
    source: "payment",
    paymentId: payment.id,
  }, now);
  return {
    outcome: granted ? "granted" : "already granted",
    payment,
    enrolled,
  };
}

/** After a fulfilment commits: the receipt and the instructor's notice, once. */
export async function afterFulfilment(
  deps: PaymentDeps,
  result: { outcome: FulfilmentOutcome; payment?: Payment; enrolled?: boolean },
) {
  const payment = result.payment;
  if (result.outcome !== "granted" || !payment) return;
  const [program] = await deps.db.select().from(programs).where(
    eq(programs.id, payment.programId),
  );
  if (program) {
    await announceEnrollment(deps, {
      userId: payment.userId,
      program,
      accessType: payment.accessType,
      newStudent: result.enrolled === true,
      paid: {
        amount: payment.amount,
        currency: payment.currency,
        paymentId: payment.id,
      },
    });
  }
}

/**
 * POST /api/programs/:id/enroll with a paymentIntentId: asks Stripe for the PaymentIntent and
 * enrolls only if it succeeded, for this learner, program, access type, amount and currency.
 */
export async function enrollWithPayment(
  deps: PaymentDeps,
  viewer: Actor,
  programRef: string,
  accessType: AccessType,
  paymentIntentId: string,
): Promise<EnrollmentResult> {
  const stripe = requireStripe(deps);
  const program = await getVisibleProgram(deps, viewer, programRef);
  let intent: Stripe.PaymentIntent;
  try {
    intent = await stripe.paymentIntents.retrieve(paymentIntentId);
  } catch (error) {
    throw stripeFailure(error);
  }
  const [payment] = await deps.db.select().from(payments).where(
    eq(payments.stripePaymentIntentId, intent.id),
  );
  const metadata = intent.metadata ?? {};
  if (
    !payment || metadata.userId !== viewer.id || payment.userId !== viewer.id
  ) {
    throw forbidden(
      "PAYMENT_MISMATCH",
      "This payment was not made by you for this program",
    );
  }
  if (
    metadata.programId !== program.id || payment.programId !== program.id ||
    metadata.accessType !== accessType || payment.accessType !== accessType
  ) {
    throw conflict(
      "PAYMENT_MISMATCH",
      "This payment was made for another program or access type",
    );
  }
  if (
    intent.amount !== payment.amount ||
    intent.currency.toLowerCase() !== payment.currency
  ) {
    throw conflict(
      "AMOUNT_MISMATCH",
      "The amount paid differs from the price of this access",
    );
  }
  if (intent.status !== "succeeded") {
    throw new AppError(
      402,
      "PAYMENT_NOT_COMPLETED",
      "The payment has not succeeded yet; complete it, then enroll again",
      { paymentStatus: intent.status },
    );
  }
  const result = await deps.db.transaction((tx) =>
    fulfilSucceededIntent(deps, tx, intent)
  );
  if (result.outcome === "refunded before success") {
    throw conflict("PAYMENT_REFUNDED", "This payment was refunded");
  }
  await afterFulfilment(deps, result);
  return await enrollmentResult(
    deps,
    viewer,
    program,
    result.outcome !== "granted",
  );
}

/** payment_intent.payment_failed: a pending payment fails; a succeeded one never goes back. */
export async function recordFailedIntent(
  tx: DbOrTx,
  intent: Pick<Stripe.PaymentIntent, "id" | "last_payment_error">,
): Promise<Payment | undefined> {
  const reason = intent.last_payment_error?.message ??
    "The payment was declined";
  const [failed] = await tx.update(payments).set({
    status: "failed",
    failureMessage: reason.slice(0, 500),
    updatedAt: new Date(),
  }).where(and(
    eq(payments.stripePaymentIntentId, intent.id),
    or(eq(payments.status, "pending"), eq(payments.status, "failed")),
  )).returning();
  return failed;
}

/**
 * charge.refunded: records the refunded amount; a full refund ends the access the payment bought.
 * A refund arriving before the success event marks the payment refunded so the success grants nothing.
 */
export async function recordRefund(
  tx: DbOrTx,
  charge: Pick<
    Stripe.Charge,
    "payment_intent" | "amount_refunded" | "refunded"
  >,
): Promise<{ payment?: Payment; revoked: number }> {
  const intentId = typeof charge.payment_intent === "string"
    ? charge.payment_intent
    : charge.payment_intent?.id;
  if (!intentId) return { revoked: 0 };
  const [payment] = await tx.select().from(payments).where(
    eq(payments.stripePaymentIntentId, intentId),
  );
  if (!payment) return { revoked: 0 };
  const now = new Date();
  const full = charge.refunded || charge.amount_refunded >= payment.amount;
  const [updated] = await tx.update(payments).set({
    refundedAmount: Math.max(payment.refundedAmount, charge.amount_refunded),
    ...(full ? { status: "refunded" as const, refundedAt: now } : {}),
    updatedAt: now,
  }).where(eq(payments.id, payment.id)).returning();
  const revoked = full
    ? await endGrants(
      tx,
      { paymentId: payment.id },
      "refunded",
      "Payment refunded",
      now,
    )
    : 0;
  return { payment: updated, revoked };
}

async function payerAndProgram(deps: PaymentDeps, payment: Payment) {
  const [user, program] = await Promise.all([
    getUser(deps, payment.userId),
    deps.db.select({ title: programs.title }).from(programs).where(
      eq(programs.id, payment.programId),
    ).then((rows) => rows[0]),
  ]);
  return { user, title: program?.title ?? "a program" };
}

export async function sendRefundEmail(deps: PaymentDeps, payment: Payment) {
  const { user, title } = await payerAndProgram(deps, payment);
  await notify(deps, {
    userId: user.id,
    type: "refund",
    title: `Refund for ${title}`,
    message: `${
      formatMoney(payment.refundedAmount, payment.currency)
    } was refunded for "${title}"; the access it bought has ended.`,
    link: `/api/payments/status/${payment.id}`,
    relatedId: payment.id,
    email: {
      template: "access_refunded",
      data: {
        name: user.name,
        program: title,
        amount: payment.refundedAmount,
        currency: payment.currency,
      },
    },
  });
}

export async function sendPaymentFailedEmail(
  deps: PaymentDeps,
  payment: Payment,
) {
  const { user, title } = await payerAndProgram(deps, payment);
  const reason = payment.failureMessage ?? "The payment was declined";
  await notify(deps, {
    userId: user.id,
    type: "payment_failed",
    title: "Your payment did not go through",
    message: `The payment for "${title}" failed: ${reason}`,
    link: `/api/payments/status/${payment.id}`,
    relatedId: payment.id,
    email: {
      template: "payment_failed",
      data: { name: user.name, program: title, reason },
    },
  });
}

/** GET /api/payments/status/:transactionId, by our id or Stripe's; the payer and admins only. */
export async function paymentStatus(
  deps: Pick<Deps, "db">,
  viewer: Actor,
  transactionId: string,
): Promise<Payment> {
  const [payment] = await deps.db.select().from(payments).where(or(
    eq(payments.id, transactionId),
    eq(payments.stripePaymentIntentId, transactionId),
  )).limit(1);
  if (!payment || (payment.userId !== viewer.id && viewer.role !== "admin")) {
    throw notFound("Payment");
  }
  return payment;
}

export function toPaymentResponse(payment: Payment) {
  return {
    id: payment.id,
    paymentIntentId: payment.stripePaymentIntentId,
    programId: payment.programId,
    accessType: payment.accessType,
    amount: toMajor(payment.amount),
    currency: payment.currency,
    status: payment.status,
    refundedAmount: toMajor(payment.refundedAmount),
    failureMessage: payment.failureMessage,
    createdAt: payment.createdAt.toISOString(),
    succeededAt: payment.succeededAt?.toISOString() ?? null,
    refundedAt: payment.refundedAt?.toISOString() ?? null,
  };
}

export const isAccessType = (value: string | undefined): value is AccessType =>
  (ACCESS_TYPES as readonly string[]).includes(value ?? "");
