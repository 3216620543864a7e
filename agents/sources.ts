// Webhook sources: systems that sign and shape their webhooks their own way, each at
// POST /v1/sources/<name>, verified by its documented scheme and mapped to catalog events.
// Only the types agents/catalog.ts declares external are accepted; the rest are refused (422).
import { z } from "zod";
import { defineSource } from "../src/define";

const str = (value: unknown) => (typeof value === "string" && value.length > 0 ? value : undefined);
const isoTime = z.iso.datetime({ offset: true });

/**
 * GitHub (repository, organization or app webhooks, content type application/json): type
 * `github.<X-GitHub-Event>[.<action>]`, id X-GitHub-Delivery; an issue's or pull request's events
 * share the correlation `<owner>/<repo>#<number>`. The ping GitHub sends when a hook is created is
 * acknowledged and logs nothing.
 */
export const github = defineSource({
  name: "github",
  description: "GitHub webhooks, signed with X-Hub-Signature-256",
  verify: { scheme: "github", secret: "GITHUB_WEBHOOK_SECRET" },
  body: z.looseObject({
    action: z.string().max(64).optional(),
    repository: z.looseObject({ full_name: z.string().max(200) }).optional(),
    issue: z.looseObject({ number: z.number().int() }).optional(),
    pull_request: z.looseObject({ number: z.number().int() }).optional(),
  }),
  deliveryId: ({ headers }) => headers.get("x-github-delivery"),
  toEvents: ({ headers, body }) => {
    const event = headers.get("x-github-event");
    if (!event) throw new Error("no X-GitHub-Event header");
    if (event === "ping") return [];
    const repo = body.repository?.full_name;
    const number = (body.issue ?? body.pull_request)?.number;
    const thread = repo && number !== undefined ? `${repo}#${number}` : undefined;
    return {
      type: `github.${event}${body.action ? `.${body.action}` : ""}`,
      id: headers.get("x-github-delivery") ?? "",
      subject: thread ?? repo,
      correlationid: thread,
      data: body,
    };
  },
});

/**
 * Stripe (an endpoint's signing secret, `whsec_…`): type `stripe.<event.type>`, id the event id,
 * time when Stripe created it, data the event's object; a payment's events share the correlation of
 * its payment intent (or charge).
 */
export const stripe = defineSource({
  name: "stripe",
  description: "Stripe webhooks, signed with Stripe-Signature",
  verify: { scheme: "stripe", secret: "STRIPE_WEBHOOK_SECRET", toleranceSeconds: 300 },
  body: z.looseObject({
    id: z.string().min(1).max(255),
    type: z.string().min(1).max(200),
    created: z.number().int().nonnegative(),
    data: z.looseObject({ object: z.looseObject({ id: z.string().max(255).optional() }) }),
  }),
  deliveryId: ({ body }) => body.id,
  toEvents: ({ body }) => {
    const object = body.data.object;
    return {
      type: `stripe.${body.type}`,
      id: body.id,
      time: new Date(body.created * 1000).toISOString(),
      subject: object.id,
      correlationid: str(object.payment_intent) ?? str(object.charge) ?? object.id,
      data: object,
    };
  },
});

/**
 * Shopify (the app's client secret): type `shopify.<X-Shopify-Topic>` with `/` as `.` (event types
 * are dotted names: `orders/create` is `shopify.orders.create`), id X-Shopify-Webhook-Id, time the
 * resource's updated_at; a resource's events share the correlation `<resource>/<id>` (e.g.
 * `orders/450789469`).
 */
export const shopify = defineSource({
  name: "shopify",
  description: "Shopify webhooks, signed with X-Shopify-Hmac-Sha256",
  verify: { scheme: "shopify", secret: "SHOPIFY_WEBHOOK_SECRET" },
  body: z.looseObject({ id: z.union([z.number(), z.string().max(128)]).optional() }),
  deliveryId: ({ headers }) => headers.get("x-shopify-webhook-id"),
  toEvents: ({ headers, body }) => {
    const topic = headers.get("x-shopify-topic");
    if (!topic) throw new Error("no X-Shopify-Topic header");
    const resource = body.id === undefined ? undefined : `${topic.split("/")[0]}/${body.id}`;
    // From the signed body, not X-Shopify-Triggered-At: every header the mapping reads must be the
    // same on Shopify's retries, or a retry would read as a replay.
    const time = isoTime.safeParse(body.updated_at ?? body.created_at);
    return {
      type: `shopify.${topic.replace(/\//g, ".")}`,
      id: headers.get("x-shopify-webhook-id") ?? "",
      ...(time.success ? { time: time.data } : {}),
      subject: resource,
      correlationid: resource,
      data: body,
    };
  },
});

export const sources = [github, stripe, shopify];
