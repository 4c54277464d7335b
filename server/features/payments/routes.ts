import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { Deps } from "../../deps.ts";
import { Price } from "../../lib/money.ts";
import { bearerAuth, responses } from "../../lib/openapi.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import { idempotent } from "../../middleware/idempotency.ts";
import type { AppEnv } from "../../types.ts";
import { AccessTypeSchema } from "../enrollments/schemas.ts";
import {
  createPaymentIntent,
  paymentStatus,
  toPaymentResponse,
} from "./service.ts";
import { handleStripeEvent, verifyStripeEvent } from "./webhook.ts";

const tags = ["Payments"];

const CreateIntentBody = v.strictObject({
  programId: v.pipe(
    v.string("Must be a string"),
    v.minLength(1),
    v.maxLength(200),
  ),
  accessType: AccessTypeSchema,
  amount: v.optional(Price),
}, "Unknown field");

const CreateIntentResponse = v.object({
  success: v.literal(true),
  clientSecret: v.string(),
  paymentIntentId: v.string(),
  transactionId: v.string(),
  amount: v.number(),
  currency: v.string(),
});

const PaymentSchema = v.object({
  id: v.string(),
  paymentIntentId: v.nullable(v.string()),
  programId: v.string(),
  accessType: AccessTypeSchema,
  amount: v.number(),
  currency: v.string(),
  status: v.string(),
  refundedAmount: v.number(),
  failureMessage: v.nullable(v.string()),
  createdAt: v.string(),
  succeededAt: v.nullable(v.string()),
  refundedAt: v.nullable(v.string()),
});

export function paymentRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const signedIn = requireAuth(deps);

  app.post(
    "/create-intent",
    describeRoute({
      tags,
      summary:
        "Start paying for an access type: the server prices it and returns a Stripe client secret",
      description:
        "`amount` is optional and only checked (409 AMOUNT_MISMATCH if it differs). Calling again for the same purchase within a day returns the same PaymentIntent. Honours Idempotency-Key.",
      security: bearerAuth,
      responses: responses({
        status: 201,
        description: "PaymentIntent created",
        schema: CreateIntentResponse,
      }, [400, 401, 404, 409, 422, 503]),
    }),
    signedIn,
    idempotent(deps),
    validate("json", CreateIntentBody),
    async (c) => {
      const { payment, clientSecret } = await createPaymentIntent(
        deps,
        c.get("auth").user,
        c.req.valid("json"),
      );
      return c.json({
        success: true,
        clientSecret,
        paymentIntentId: payment.stripePaymentIntentId!,
        transactionId: payment.id,
        amount: payment.amount / 100,
        currency: payment.currency,
      }, 201);
    },
  );

  app.post(
    "/webhook",
    describeRoute({
      tags,
      summary:
        "Stripe webhook (signed): payments, refunds, invoices and subscription changes; replays do nothing",
      responses: responses({
        description: "Acknowledged",
        schema: v.object({
          received: v.literal(true),
          outcome: v.string(),
          duplicate: v.boolean(),
        }),
      }, [400, 503]),
    }),
    async (c) => {
      const event = await verifyStripeEvent(
        deps,
        await c.req.text(),
        c.req.header("stripe-signature"),
      );
      const result = await handleStripeEvent(deps, event);
      return c.json({ received: true as const, ...result });
    },
  );

  app.get(
    "/status/:transactionId",
    describeRoute({
      tags,
      summary:
        "A payment's status, by transaction id or PaymentIntent id (the payer and admins)",
      security: bearerAuth,
      responses: responses({
        description: "Payment",
        schema: v.object({
          success: v.literal(true),
          transaction: PaymentSchema,
        }),
      }, [401, 404]),
    }),
    signedIn,
    validate(
      "param",
      v.object({ transactionId: v.pipe(v.string(), v.maxLength(200)) }),
    ),
    async (c) => {
      const payment = await paymentStatus(
        deps,
        c.get("auth").user,
        c.req.valid("param").transactionId,
      );
      return c.json({ success: true, transaction: toPaymentResponse(payment) });
    },
  );

  return app;
}
