// The event catalog: every event type agentwire accepts or publishes, who may publish it, and the
// schema of its data. `external`: business systems may send it by webhook. `internal`: only the agents
// or workflows that declare it in `emits` may publish it, so a signed webhook cannot forge a result.
import { z } from "zod";
import { AlertSchema, defineCatalog, external, internal } from "../src/define";

const orderId = z.string().min(1).max(128);
const userId = z.string().min(1).max(128);
const item = z.object({ sku: z.string().min(1).max(64), qty: z.number().int().min(1).max(10_000) });
const reasons = z.array(z.string().max(500)).max(20);
const ticketId = z.string().min(1).max(128);
const workflowTimedOut = z.object({
  workflowId: z.string(),
  workflow: z.string(),
  missing: z.array(z.string()),
  received: z.array(z.string()),
});
const githubUser = z.object({ login: z.string().max(100) });
const githubRepository = z.object({ full_name: z.string().max(200) });
const stripeId = z.string().min(1).max(255);
const shopifyOrder = z.object({
  id: z.number().int().positive(),
  name: z.string().max(64),
  email: z.string().max(320).nullable().optional(),
  total_price: z.string().regex(/^\d+(\.\d+)?$/, "a decimal amount, e.g. 129.50"),
  currency: z.string().regex(/^[A-Z]{3}$/, "ISO 4217 code, e.g. USD"),
  financial_status: z.string().max(64).nullable().optional(),
  line_items: z
    .array(z.object({ sku: z.string().max(64).nullable(), quantity: z.number().int(), title: z.string().max(500) }))
    .max(250),
});
const shopifyOrderExample: z.input<typeof shopifyOrder> = {
  id: 450_789_469,
  name: "#1001",
  email: "ada@example.com",
  total_price: "129.50",
  currency: "USD",
  financial_status: "paid",
  line_items: [{ sku: "SKU-1", quantity: 2, title: "Espresso cups" }],
};
const approvalAnswer = z.object({ workflowId: z.string(), workflow: z.string(), by: z.string(), reason: z.string() });

export const catalog = defineCatalog({
  "order.placed": external(
    z.object({
      orderId,
      customerId: z.string().min(1).max(128),
      amount: z.number().nonnegative().max(1e9),
      currency: z.string().regex(/^[A-Z]{3}$/, "ISO 4217 code, e.g. USD"),
      items: z.array(item).min(1).max(100),
      shippingAddress: z.object({ country: z.string().regex(/^[A-Z]{2}$/, "ISO 3166-1 alpha-2 code, e.g. US") }),
    }),
    {
      example: {
        orderId: "ord_1001",
        customerId: "cus_42",
        amount: 129.5,
        currency: "USD",
        items: [{ sku: "SKU-1", qty: 2 }],
        shippingAddress: { country: "US" },
      },
    },
  ),
  "fraud.assessed": internal(
    z.object({
      orderId,
      risk: z.enum(["low", "medium", "high"]),
      score: z.number().min(0).max(100),
      reasons,
    }),
  ),
  "inventory.reserved": internal(z.object({ orderId, reservationId: z.string().min(1), items: z.array(item).min(1) })),
  "inventory.unavailable": internal(
    z.object({
      orderId,
      reason: z.enum(["insufficient_stock", "unknown_sku", "cancelled"]),
      message: z.string().max(500),
    }),
  ),
  "shipping.quoted": internal(
    z.object({
      orderId,
      carrier: z.string().min(1).max(64),
      costCents: z.number().int().nonnegative(),
      etaDays: z.number().int().min(0).max(365),
    }),
  ),
  "inventory.released": internal(z.object({ orderId, released: z.boolean() })),

  // The order workflow's outcomes.
  "order.confirmed": internal(
    z.object({
      orderId,
      reservationId: z.string(),
      carrier: z.string(),
      costCents: z.number().int(),
      etaDays: z.number().int(),
      approvedBy: z.string().optional(),
    }),
  ),
  "order.rejected": internal(z.object({ orderId, reasons })),
  "order.review_requested": internal(
    z.object({ orderId, reasons, risk: z.enum(["low", "medium", "high"]).optional() }),
  ),
  "order.timed_out": internal(workflowTimedOut),

  // agentwire's own alerts (src/alerts): raised when something needs a person.
  "alert.raised": internal(AlertSchema),

  // Human approvals, for any workflow.
  "approval.granted": internal(approvalAnswer),
  "approval.denied": internal(approvalAnswer),

  // The user-screening scenario.
  "user.created": external(
    z.object({
      userId,
      email: z.email(),
      country: z.string().regex(/^[A-Z]{2}$/, "ISO 3166-1 alpha-2 code"),
      signupIp: z.union([z.ipv4(), z.ipv6()]).optional(),
    }),
    { example: { userId: "usr_7", email: "ada@example.com", country: "GB", signupIp: "203.0.113.7" } },
  ),
  "security.audited": internal(z.object({ userId, risk: z.enum(["low", "high"]), findings: reasons })),
  "profile.enriched": internal(
    z.object({
      userId,
      emailDomain: z.string(),
      disposableEmail: z.boolean(),
      company: z.string().optional(),
    }),
  ),
  "user.cleared": internal(z.object({ userId, reasons })),

  // Support tickets (the support-triage agent).
  "support.ticket.opened": external(
    z.object({
      ticketId: z.string().min(1).max(128),
      customerId: z.string().min(1).max(128),
      subject: z.string().min(1).max(500),
      body: z.string().max(20_000),
      orderId: orderId.optional(),
    }),
    {
      example: {
        ticketId: "tkt_311",
        customerId: "cus_42",
        subject: "Where is my parcel?",
        body: "Order ord_1001 was due on Monday and has not arrived.",
        orderId: "ord_1001",
      },
    },
  ),
  "support.ticket.triaged": internal(
    z.object({
      ticketId: z.string(),
      customerId: z.string(),
      subject: z.string(),
      body: z.string(),
      category: z.enum(["billing", "shipping", "product", "account", "fraud", "other"]),
      priority: z.enum(["low", "normal", "urgent"]),
      summary: z.string(),
      suggestedReply: z.string(),
    }),
  ),
  "user.flagged": internal(z.object({ userId, reasons })),
  // The support-reply refine loop (agents/support-reply-workflow.ts): a drafter and a policy evaluator.
  "support.reply.requested": internal(
    z.object({
      ticketId,
      customerId: z.string(),
      subject: z.string(),
      body: z.string(),
      category: z.string(),
      round: z.number().int().min(1),
      /** After round 1: the evaluator's feedback on the previous draft, and that draft. */
      feedback: z.array(z.string().max(500)).max(20),
      previousReply: z.string().max(4000).optional(),
    }),
  ),
  "support.reply.drafted": internal(
    z.object({ ticketId, customerId: z.string(), round: z.number().int().min(1), reply: z.string().min(1).max(4000) }),
  ),
  "support.reply.evaluated": internal(
    z.object({
      ticketId,
      round: z.number().int().min(1),
      pass: z.boolean(),
      score: z.number().min(0).max(1),
      feedback: z.array(z.string().max(500)).max(20),
      /** What the policy check in code found, whatever the model said. */
      violations: z.array(z.string().max(500)).max(20),
    }),
  ),
  "support.reply.approved": internal(z.object({ ticketId, reply: z.string(), rounds: z.number().int(), reasons })),
  "support.reply.review_requested": internal(
    z.object({ ticketId, reply: z.string().optional(), rounds: z.number().int(), reasons }),
  ),
  "support.reply.rejected": internal(z.object({ ticketId, rounds: z.number().int(), reasons })),

  // From webhook sources (agents/sources.ts): the fields agents use; the rest of a payload is dropped.
  "github.issues.opened": external(
    z.object({
      action: z.literal("opened"),
      issue: z.object({
        number: z.number().int().positive(),
        title: z.string().max(1024),
        body: z.string().max(65_536).nullable(),
        html_url: z.url(),
        user: githubUser,
        labels: z.array(z.object({ name: z.string().max(100) })).max(100),
      }),
      repository: githubRepository,
      sender: githubUser,
    }),
    {
      example: {
        action: "opened",
        issue: {
          number: 42,
          title: "App crashes when the cart is empty",
          body: "Steps: open the cart with no items, press Checkout. The app throws a TypeError.",
          html_url: "https://github.com/acme/shop/issues/42",
          user: { login: "octocat" },
          labels: [],
        },
        repository: { full_name: "acme/shop" },
        sender: { login: "octocat" },
      },
    },
  ),
  "issue.triaged": internal(
    z.object({
      repository: z.string(),
      number: z.number().int(),
      labels: z.array(z.string()).max(10),
      priority: z.enum(["low", "normal", "urgent"]),
      reasons,
    }),
  ),
  "stripe.charge.dispute.created": external(
    z.object({
      id: z.string().min(1).max(255),
      amount: z.number().int().nonnegative(),
      currency: z.string().min(3).max(3),
      charge: stripeId,
      payment_intent: stripeId.nullable().optional(),
      reason: z.string().max(64),
      status: z.string().max(64),
      livemode: z.boolean(),
    }),
    {
      example: {
        id: "dp_1Q2w3E4r5T6y7U8i",
        amount: 12_950,
        currency: "usd",
        charge: "ch_1Q2w3E4r5T6y7U8i",
        payment_intent: "pi_1Q2w3E4r5T6y7U8i",
        reason: "fraudulent",
        status: "needs_response",
        livemode: false,
      },
    },
  ),
  "stripe.payment_intent.succeeded": external(
    z.object({
      id: stripeId,
      amount: z.number().int().nonnegative(),
      currency: z.string().min(3).max(3),
      customer: stripeId.nullable().optional(),
      livemode: z.boolean(),
    }),
    {
      example: {
        id: "pi_1Q2w3E4r5T6y7U8i",
        amount: 12_950,
        currency: "usd",
        customer: "cus_Q2w3E4r5",
        livemode: false,
      },
    },
  ),
  "shopify.orders.create": external(shopifyOrder, { example: shopifyOrderExample }),
  "shopify.orders.paid": external(shopifyOrder, { example: shopifyOrderExample }),
});
