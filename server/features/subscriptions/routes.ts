import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import { PAID_PLAN_IDS } from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { bearerAuth, responses } from "../../lib/openapi.ts";
import { pageQuery, paginate, PaginationSchema } from "../../lib/pagination.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import { idempotent } from "../../middleware/idempotency.ts";
import type { AppEnv } from "../../types.ts";
import { currentSubscription } from "./current.ts";
import {
  cancelSubscription,
  listInvoices,
  listPlans,
  subscribe,
  toInvoiceResponse,
  toSubscriptionResponse,
} from "./service.ts";

const tags = ["Subscriptions"];

const PlanSchema = v.object({
  id: v.string(),
  name: v.string(),
  price: v.number(),
  currency: v.string(),
  billingCycle: v.nullable(v.string()),
  features: v.array(v.string()),
  limits: v.object({
    aiMessages: v.number(),
    aiTokensPerMessage: v.number(),
    programs: v.number(),
  }),
});
const SubscriptionSchema = v.object({
  id: v.string(),
  planId: v.string(),
  planName: v.string(),
  status: v.string(),
  source: v.string(),
  currentPeriodStart: v.string(),
  currentPeriodEnd: v.string(),
  cancelAtPeriodEnd: v.boolean(),
  nextBillingDate: v.nullable(v.string()),
  amount: v.number(),
  currency: v.string(),
});
const InvoiceSchema = v.object({
  id: v.string(),
  stripeInvoiceId: v.string(),
  amount: v.number(),
  currency: v.string(),
  status: v.string(),
  date: v.string(),
  periodStart: v.nullable(v.string()),
  periodEnd: v.nullable(v.string()),
  invoiceUrl: v.nullable(v.string()),
  downloadUrl: v.nullable(v.string()),
});

const SubscribeBody = v.strictObject({
  planId: v.picklist(PAID_PLAN_IDS, "Must be basic or premium"),
  paymentMethodId: v.pipe(
    v.string("Must be a string"),
    v.regex(
      /^pm_[A-Za-z0-9_]{1,200}$/,
      "Must be a Stripe PaymentMethod id (pm_...)",
    ),
  ),
}, "Unknown field");

export function subscriptionRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const signedIn = requireAuth(deps);

  app.get(
    "/plans",
    describeRoute({
      tags,
      summary:
        "The plans: prices, what they include, and their limits (-1: none)",
      responses: responses({
        description: "Plans",
        schema: v.object({
          success: v.literal(true),
          plans: v.array(PlanSchema),
        }),
      }, []),
    }),
    (c) => c.json({ success: true, plans: listPlans() }),
  );

  app.post(
    "/subscribe",
    describeRoute({
      tags,
      summary: "Subscribe to basic or premium with a Stripe payment method",
      description: "Honours Idempotency-Key.",
      security: bearerAuth,
      responses: responses({
        status: 201,
        description:
          "Subscribed (status may be `incomplete` if the card needs authentication)",
        schema: v.object({
          success: v.literal(true),
          subscription: SubscriptionSchema,
          invoice: v.nullable(InvoiceSchema),
        }),
      }, [400, 401, 402, 409, 422, 502, 503]),
    }),
    signedIn,
    idempotent(deps),
    validate("json", SubscribeBody),
    async (c) => {
      const result = await subscribe(
        deps,
        c.get("auth").user,
        c.req.valid("json"),
      );
      return c.json({
        success: true,
        subscription: toSubscriptionResponse(result.subscription),
        invoice: result.invoice ? toInvoiceResponse(result.invoice) : null,
      }, 201);
    },
  );

  app.get(
    "/current",
    describeRoute({
      tags,
      summary: "Your current subscription (null on the Free plan)",
      security: bearerAuth,
      responses: responses({
        description: "Current subscription",
        schema: v.object({
          success: v.literal(true),
          planId: v.string(),
          subscription: v.nullable(SubscriptionSchema),
        }),
      }, [401]),
    }),
    signedIn,
    async (c) => {
      const current = await currentSubscription(deps.db, c.get("auth").user.id);
      return c.json({
        success: true,
        planId: current?.planId ?? "free",
        subscription: current ? toSubscriptionResponse(current) : null,
      });
    },
  );

  app.post(
    "/cancel",
    describeRoute({
      tags,
      summary:
        "Cancel at the end of the current period; the plan's access lasts until then",
      security: bearerAuth,
      responses: responses({
        description: "Will cancel at period end",
        schema: v.object({
          success: v.literal(true),
          subscription: SubscriptionSchema,
        }),
      }, [401, 404, 502, 503]),
    }),
    signedIn,
    async (c) => {
      const subscription = await cancelSubscription(deps, c.get("auth").user);
      return c.json({
        success: true,
        subscription: toSubscriptionResponse(subscription),
      });
    },
  );

  app.get(
    "/invoices",
    describeRoute({
      tags,
      summary: "Your invoices, newest first",
      security: bearerAuth,
      responses: responses({
        description: "Invoices",
        schema: v.object({
          success: v.literal(true),
          invoices: v.array(InvoiceSchema),
          pagination: PaginationSchema,
        }),
      }, [401, 422]),
    }),
    signedIn,
    validate("query", v.object(pageQuery())),
    async (c) => {
      const query = c.req.valid("query");
      const result = await listInvoices(deps, c.get("auth").user.id, query);
      return c.json({
        success: true,
        invoices: result.invoices.map(toInvoiceResponse),
        pagination: paginate(c, query, result.total),
      });
    },
  );

  return app;
}
