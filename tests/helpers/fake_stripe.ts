import Stripe from "stripe";
import { api, type TestContext } from "./context.ts";

export const STRIPE_TEST_ENV = {
  STRIPE_SECRET_KEY: "sk_test_lectern_fake",
  STRIPE_WEBHOOK_SECRET: "whsec_lectern_fake_secret",
  STRIPE_PRICE_BASIC: "price_basic_monthly",
  STRIPE_PRICE_PREMIUM: "price_premium_monthly",
};

const PRICE_AMOUNTS: Record<string, number> = {
  price_basic_monthly: 1999,
  price_premium_monthly: 3999,
};
const DAY_SECONDS = 86_400;

export interface RecordedRequest {
  method: string;
  path: string;
  // deno-lint-ignore no-explicit-any
  body: Record<string, any>;
  idempotencyKey: string | null;
  authorization: string | null;
}

// deno-lint-ignore no-explicit-any
type StripeObject = Record<string, any>;

/** `a[b][0][c]=1` form encoding (what the SDK sends) into nested objects and arrays. */
export function parseStripeForm(text: string): StripeObject {
  const root: StripeObject = {};
  for (const [fullKey, value] of new URLSearchParams(text)) {
    const parts = fullKey.replace(/\]/g, "").split("[");
    let node: StripeObject = root;
    parts.forEach((part, index) => {
      if (index === parts.length - 1) {
        node[part] = value;
        return;
      }
      const nextIsIndex = /^\d+$/.test(parts[index + 1]!);
      node[part] ??= nextIsIndex ? [] : {};
      node = node[part];
    });
  }
  return root;
}

const error = (
  status: number,
  type: string,
  message: string,
  extra: StripeObject = {},
) => Response.json({ error: { type, message, ...extra } }, { status });

/**
 * The parts of the Stripe API Lectern calls, on a loopback port, for the real SDK to talk to. It
 * keeps objects in memory, replays idempotent requests, records every request, and lets a test
 * move a PaymentIntent on as a customer's bank would.
 */
export function startFakeStripe() {
  const intents = new Map<string, StripeObject>();
  const customers = new Map<string, StripeObject>();
  const subscriptions = new Map<string, StripeObject>();
  const refunds = new Map<string, StripeObject>();
  const idempotent = new Map<string, { status: number; body: string }>();
  const requests: RecordedRequest[] = [];
  let counter = 0;
  const nextId = (prefix: string) =>
    `${prefix}_fake${Date.now().toString(36)}${++counter}`;
  const now = () => Math.floor(Date.now() / 1000);
  /** Set by a test to make the next calls fail as if Stripe were down. */
  const state = { down: false };

  function subscriptionObject(
    body: StripeObject,
    customer: string,
  ): StripeObject {
    const id = nextId("sub");
    const price = body.items?.[0]?.price as string;
    const start = now();
    const end = start + 30 * DAY_SECONDS;
    const amount = PRICE_AMOUNTS[price] ?? 1000;
    const invoice = {
      id: nextId("in"),
      object: "invoice",
      customer,
      status: "paid",
      amount_paid: amount,
      amount_due: amount,
      currency: "usd",
      created: start,
      hosted_invoice_url: `https://invoice.stripe.test/${id}`,
      invoice_pdf: `https://invoice.stripe.test/${id}.pdf`,
      parent: {
        type: "subscription_details",
        subscription_details: { subscription: id },
      },
      lines: {
        object: "list",
        data: [{ period: { start, end } }],
      },
    };
    return {
      id,
      object: "subscription",
      customer,
      status: body.payment_behavior === "force_incomplete"
        ? "incomplete"
        : "active",
      cancel_at_period_end: false,
      canceled_at: null,
      ended_at: null,
      created: start,
      metadata: body.metadata ?? {},
      default_payment_method: body.default_payment_method,
      items: {
        object: "list",
        data: [{
          id: nextId("si"),
          object: "subscription_item",
          price: { id: price, unit_amount: amount, currency: "usd" },
          current_period_start: start,
          current_period_end: end,
        }],
      },
      latest_invoice: body.expand?.includes("latest_invoice")
        ? invoice
        : invoice.id,
    };
  }

  function route(
    method: string,
    path: string,
    body: StripeObject,
  ): Response {
    let match: RegExpMatchArray | null;
    if (method === "POST" && path === "/v1/payment_intents") {
      const id = nextId("pi");
      const intent = {
        id,
        object: "payment_intent",
        amount: Number(body.amount),
        currency: body.currency,
        status: "requires_payment_method",
        client_secret: `${id}_secret_${crypto.randomUUID().slice(0, 8)}`,
        metadata: body.metadata ?? {},
        description: body.description ?? null,
        customer: body.customer ?? null,
        last_payment_error: null,
        created: now(),
      };
      intents.set(id, intent);
      return Response.json(intent);
    }
    if ((match = path.match(/^\/v1\/payment_intents\/([^/]+)$/))) {
      const intent = intents.get(match[1]!);
      if (!intent) {
        return error(
          404,
          "invalid_request_error",
          `No such payment_intent: '${match[1]}'`,
          { code: "resource_missing" },
        );
      }
      return Response.json(intent);
    }
    if (method === "POST" && path === "/v1/customers") {
      const customer = {
        id: nextId("cus"),
        object: "customer",
        email: body.email,
        name: body.name,
        metadata: body.metadata ?? {},
      };
      customers.set(customer.id, customer);
      return Response.json(customer);
    }
    if (
      method === "POST" &&
      (match = path.match(/^\/v1\/payment_methods\/([^/]+)\/attach$/))
    ) {
      if (match[1] === "pm_card_chargeDeclined") {
        return error(402, "card_error", "Your card was declined.", {
          code: "card_declined",
          decline_code: "generic_decline",
        });
      }
      return Response.json({
        id: match[1],
        object: "payment_method",
        customer: body.customer,
      });
    }
    if (method === "POST" && path === "/v1/subscriptions") {
      if (!customers.has(body.customer)) {
        return error(404, "invalid_request_error", "No such customer", {
          code: "resource_missing",
        });
      }
      const subscription = subscriptionObject(body, body.customer);
      subscriptions.set(subscription.id, subscription);
      return Response.json(subscription);
    }
    if (
      method === "POST" &&
      (match = path.match(/^\/v1\/subscriptions\/([^/]+)$/))
    ) {
      const subscription = subscriptions.get(match[1]!);
      if (!subscription) {
        return error(404, "invalid_request_error", "No such subscription", {
          code: "resource_missing",
        });
      }
      if (body.cancel_at_period_end !== undefined) {
        subscription.cancel_at_period_end = body.cancel_at_period_end ===
          "true";
      }
      return Response.json(subscription);
    }
    if (method === "POST" && path === "/v1/refunds") {
      const intent = intents.get(body.payment_intent);
      if (!intent) {
        return error(
          404,
          "invalid_request_error",
          `No such payment_intent: '${body.payment_intent}'`,
          { code: "resource_missing" },
        );
      }
      if (intent.status !== "succeeded") {
        return error(
          400,
          "invalid_request_error",
          `This PaymentIntent (${intent.id}) does not have a successful charge to refund.`,
          { code: "charge_not_refundable" },
        );
      }
      const refund = {
        id: nextId("re"),
        object: "refund",
        payment_intent: intent.id,
        amount: body.amount === undefined ? intent.amount : Number(body.amount),
        currency: intent.currency,
        status: "succeeded",
        reason: body.reason ?? null,
        metadata: body.metadata ?? {},
        created: now(),
      };
      refunds.set(refund.id, refund);
      return Response.json(refund);
    }
    return error(404, "invalid_request_error", `Unrecognized request URL`);
  }

  const server = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen: () => {},
  }, async (request) => {
    const url = new URL(request.url);
    const body = parseStripeForm(
      request.method === "GET" ? url.search.slice(1) : await request.text(),
    );
    const idempotencyKey = request.headers.get("idempotency-key");
    requests.push({
      method: request.method,
      path: url.pathname,
      body,
      idempotencyKey,
      authorization: request.headers.get("authorization"),
    });
    if (state.down) {
      return error(500, "api_error", "Stripe is having a bad day");
    }
    const cacheKey = idempotencyKey
      ? `${request.method} ${url.pathname} ${idempotencyKey}`
      : undefined;
    const replay = cacheKey ? idempotent.get(cacheKey) : undefined;
    if (replay) {
      return new Response(replay.body, {
        status: replay.status,
        headers: { "Content-Type": "application/json" },
      });
    }
    const response = route(request.method, url.pathname, body);
    if (cacheKey) {
      idempotent.set(cacheKey, {
        status: response.status,
        body: await response.clone().text(),
      });
    }
    return response;
  });

  const port = (server.addr as Deno.NetAddr).port;
  return {
    url: `http://127.0.0.1:${port}`,
    env: { ...STRIPE_TEST_ENV, STRIPE_API_BASE: `http://127.0.0.1:${port}` },
    requests,
    state,
    intents,
    subscriptions,
    customers,
    /** Refunds created through POST /v1/refunds (each once, however often the request is replayed). */
    refunds,
    /** The customer's bank says yes: the PaymentIntent is now succeeded. */
    succeed(intentId: string): StripeObject {
      const intent = intents.get(intentId);
      if (!intent) throw new Error(`no intent ${intentId}`);
      intent.status = "succeeded";
      return structuredClone(intent);
    },
    /** The bank says no. */
    fail(intentId: string, message = "Your card was declined."): StripeObject {
      const intent = intents.get(intentId);
      if (!intent) throw new Error(`no intent ${intentId}`);
      intent.status = "requires_payment_method";
      intent.last_payment_error = { message, code: "card_declined" };
      return structuredClone(intent);
    },
    /** A charge object for a refund of this intent (full unless `amount` says otherwise). */
    refundCharge(intentId: string, amount?: number): StripeObject {
      const intent = intents.get(intentId);
      if (!intent) throw new Error(`no intent ${intentId}`);
      const refunded = amount ?? intent.amount;
      return {
        id: nextId("ch"),
        object: "charge",
        payment_intent: intentId,
        amount: intent.amount,
        amount_refunded: refunded,
        refunded: refunded >= intent.amount,
        currency: intent.currency,
      };
    },
    async close() {
      await server.shutdown();
    },
  };
}

export type FakeStripe = ReturnType<typeof startFakeStripe>;

const signer = new Stripe("sk_test_signing_only", {
  httpClient: Stripe.createFetchHttpClient(),
});
let eventCounter = 0;

/** A Stripe event as the webhook receives it, signed with the test secret (or another one). */
export async function signedEvent(
  type: string,
  object: StripeObject,
  options: { id?: string; created?: number; secret?: string } = {},
): Promise<{ id: string; payload: string; signature: string }> {
  const id = options.id ??
    `evt_fake${Date.now().toString(36)}${++eventCounter}`;
  const payload = JSON.stringify({
    id,
    object: "event",
    type,
    api_version: "2026-10-28.endive",
    created: options.created ?? Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object },
  });
  const signature = await signer.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: options.secret ?? STRIPE_TEST_ENV.STRIPE_WEBHOOK_SECRET,
  });
  return { id, payload, signature };
}

/** Sends a signed event to the app's webhook, as Stripe would. */
export async function deliverEvent(
  ctx: TestContext,
  event: { payload: string; signature: string },
) {
  return await api(ctx, "POST", "/api/payments/webhook", {
    body: event.payload,
    headers: {
      "Content-Type": "application/json",
      "Stripe-Signature": event.signature,
    },
  });
}
