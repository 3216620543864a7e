// Webhooks as GitHub, Stripe and Shopify send them, signed with node:crypto (not the code under
// test), and the sources route mounted on the test registry with its secrets: old and new for each.
import { createHmac } from "node:crypto";
import { OpenAPIHono } from "@hono/zod-openapi";
import { env } from "cloudflare:workers";
import { z } from "zod";
import { sources } from "../../agents/sources";
import { onError } from "../../src/http/errors";
import { sourceRoutes } from "../../src/http/sources";
import { defineRegistry } from "../../src/registry";
import { defineSource } from "../../src/sources/define";
import { testRegistry } from "./fixtures";
import { uniqueId } from "./helpers";

export const KEYS = {
  github: { current: "gh-test-secret-current-0123456789", old: "gh-test-secret-old-0123456789" },
  stripe: { current: "whsec_test_stripe_current_0123456789", old: "whsec_test_stripe_old_0123456789" },
  shopify: { current: "shpss_test_shopify_current_0123456789", old: "shpss_test_shopify_old_0123456789" },
  relay: { current: "relay-token-current-0123456789", old: "relay-token-old-0123456789" },
  billing: {
    current: `whsec_${btoa("billing-current-secret-0123456789")}`,
    old: `whsec_${btoa("billing-old-secret-0123456789")}`,
  },
};
const both = (k: { current: string; old: string }) => `${k.current}, ${k.old}`;

/** A Standard Webhooks source of test.unheard events, and a bearer relay that says anything it is given. */
const billing = defineSource({
  name: "billing",
  verify: { scheme: "standard-webhooks", secret: "TEST_BILLING_SECRET" },
  body: z.object({ n: z.number() }),
  deliveryId: ({ headers }) => headers.get("webhook-id"),
  toEvents: ({ headers, body }) => ({ type: "test.unheard", id: headers.get("webhook-id") ?? "", data: body }),
});
const relay = defineSource({
  name: "relay",
  verify: { scheme: "bearer", secret: "TEST_RELAY_TOKEN" },
  body: z.object({ type: z.string(), id: z.string(), data: z.unknown() }),
  deliveryId: ({ body }) => body.id,
  toEvents: ({ body }) => body,
});
/** Declared, but its secret is not set. */
const unset = defineSource({
  name: "unset",
  verify: { scheme: "github", secret: "TEST_UNSET_SECRET" },
  deliveryId: () => "x",
  toEvents: () => [],
});

export const sourcesRegistry = defineRegistry({
  catalog: testRegistry.catalog,
  agents: testRegistry.agents,
  workflows: testRegistry.workflows,
  capabilities: testRegistry.capabilities,
  sources: [...sources, billing, relay, unset],
});

export const sourcesEnv: Env = Object.assign({}, env, {
  GITHUB_WEBHOOK_SECRET: both(KEYS.github),
  STRIPE_WEBHOOK_SECRET: both(KEYS.stripe),
  SHOPIFY_WEBHOOK_SECRET: both(KEYS.shopify),
  TEST_RELAY_TOKEN: both(KEYS.relay),
  TEST_BILLING_SECRET: both(KEYS.billing),
});

// The route as src/http/app.ts mounts it, with the app's one error handler.
export const sourcesApp = new OpenAPIHono<{ Bindings: Env }>();
sourcesApp.route("/v1/sources", sourceRoutes(sourcesRegistry));
sourcesApp.onError(onError);

export const postSource = async (request: Request): Promise<Response> => sourcesApp.fetch(request, sourcesEnv);

const url = (name: string) => `https://agentwire.test/v1/sources/${name}`;
const hmac = (key: string | Buffer, content: string) => createHmac("sha256", key).update(content, "utf8");
export const hexHmac = (key: string, content: string) => hmac(key, content).digest("hex");

export interface Sent {
  body: string;
  headers: Record<string, string>;
}

export const request = (name: string, { body, headers }: Sent) =>
  new Request(url(name), { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

/** GitHub: X-Hub-Signature-256 = sha256=<hex HMAC of the body>. */
export function githubSent(
  payload: unknown,
  opts: { event?: string; delivery?: string; key?: string; body?: string } = {},
): Sent {
  const signed = JSON.stringify(payload);
  return {
    body: opts.body ?? signed,
    headers: {
      "x-github-event": opts.event ?? "issues",
      "x-github-delivery": opts.delivery ?? crypto.randomUUID(),
      "x-hub-signature-256": `sha256=${hmac(opts.key ?? KEYS.github.current, signed).digest("hex")}`,
    },
  };
}

export const stripeSignature = (key: string, t: number, body: string) =>
  `t=${t},v1=${hmac(key, `${t}.${body}`).digest("hex")}`;

/** Stripe: Stripe-Signature = t=<unix>,v1=<hex HMAC of "t.body">. */
export function stripeSent(
  payload: unknown,
  opts: { t?: number; key?: string; body?: string; signature?: string } = {},
): Sent {
  const signed = JSON.stringify(payload);
  const t = opts.t ?? Math.floor(Date.now() / 1000);
  return {
    body: opts.body ?? signed,
    headers: { "stripe-signature": opts.signature ?? stripeSignature(opts.key ?? KEYS.stripe.current, t, signed) },
  };
}

/** Shopify: X-Shopify-Hmac-Sha256 = base64 HMAC of the body. */
export function shopifySent(
  payload: unknown,
  opts: { topic?: string; webhookId?: string; key?: string; body?: string } = {},
): Sent {
  const signed = JSON.stringify(payload);
  return {
    body: opts.body ?? signed,
    headers: {
      "x-shopify-topic": opts.topic ?? "orders/create",
      "x-shopify-webhook-id": opts.webhookId ?? crypto.randomUUID(),
      "x-shopify-triggered-at": new Date().toISOString(),
      "x-shopify-shop-domain": "acme.myshopify.com",
      "x-shopify-hmac-sha256": hmac(opts.key ?? KEYS.shopify.current, signed).digest("base64"),
    },
  };
}

/** Standard Webhooks, signed by hand: HMAC of `${id}.${timestamp}.${body}` under the base64-decoded secret. */
export function standardSent(
  payload: unknown,
  opts: { id?: string; t?: number; key?: string; body?: string } = {},
): Sent {
  const signed = JSON.stringify(payload);
  const id = opts.id ?? uniqueId("msg");
  const t = opts.t ?? Math.floor(Date.now() / 1000);
  const key = Buffer.from((opts.key ?? KEYS.billing.current).replace(/^whsec_/, ""), "base64");
  return {
    body: opts.body ?? signed,
    headers: {
      "webhook-id": id,
      "webhook-timestamp": String(t),
      "webhook-signature": `v1,${hmac(key, `${id}.${t}.${signed}`).digest("base64")}`,
    },
  };
}

export const relaySent = (payload: unknown, token: string = KEYS.relay.current): Sent => ({
  body: JSON.stringify(payload),
  headers: { authorization: `Bearer ${token}` },
});

// ---- payloads, shaped like the senders' own (with fields the catalog drops) ----

export function issueOpened(number = Math.floor(Math.random() * 1e9), title = "App crashes when the cart is empty") {
  return {
    action: "opened",
    issue: {
      number,
      title,
      body: "Open the cart with no items and press Checkout: a TypeError.",
      html_url: `https://github.com/acme/shop/issues/${number}`,
      user: { login: "octocat", id: 1, node_id: "MDQ6VXNlcjE=" },
      labels: [{ id: 7, name: "triage" }],
      state: "open",
    },
    repository: { id: 1296269, full_name: "acme/shop", private: false },
    sender: { login: "octocat", id: 1 },
    installation: { id: 99 },
  };
}

export function disputeCreated(id = uniqueId("evt"), created = Math.floor(Date.now() / 1000)) {
  return {
    id,
    object: "event",
    api_version: "2026-10-28.acacia",
    created,
    livemode: false,
    type: "charge.dispute.created",
    data: {
      object: {
        id: `dp_${id}`,
        object: "dispute",
        amount: 12_950,
        currency: "usd",
        charge: `ch_${id}`,
        payment_intent: `pi_${id}`,
        reason: "fraudulent",
        status: "needs_response",
        livemode: false,
        evidence: { customer_name: "Ada" },
      },
    },
  };
}

export function orderCreated(id = Math.floor(Math.random() * 1e12)) {
  return {
    id,
    admin_graphql_api_id: `gid://shopify/Order/${id}`,
    name: "#1001",
    created_at: "2026-11-20T10:15:00-05:00",
    updated_at: "2026-11-20T10:16:30-05:00",
    email: "ada@example.com",
    total_price: "129.50",
    currency: "USD",
    financial_status: "paid",
    line_items: [{ id: 1, sku: "SKU-1", quantity: 2, title: "Espresso cups", price: "64.75" }],
    customer: { id: 42, email: "ada@example.com" },
  };
}
