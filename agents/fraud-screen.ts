// fraud-screen: scores each order's fraud risk. Model-backed: Claude Haiku triages, Claude Sonnet
// decides when triage is unsure or the order is large; offline, the rules below are the local model.
import { z } from "zod";
import { defineAgent } from "./define";

const USUAL_MARKETS = new Set([
  "US",
  "CA",
  "GB",
  "IE",
  "DE",
  "FR",
  "NL",
  "BE",
  "ES",
  "IT",
  "SE",
  "DK",
  "AU",
  "NZ",
  "JP",
]);

const Assessment = z.object({
  risk: z.enum(["low", "medium", "high"]),
  score: z.number().int().min(0).max(100),
  reasons: z.array(z.string().max(300)).max(10),
});

interface Order {
  amount: number;
  currency: string;
  items: { qty: number }[];
  shippingAddress: { country: string };
  customerId: string;
}

/** The rules: also the deterministic local model. Near a threshold they are less sure. */
export function fraudRules(order: Order) {
  const reasons: string[] = [];
  let score = 0;
  if (order.amount >= 10_000) {
    score += 60;
    reasons.push(`amount ${order.amount} ${order.currency} is at least 10000`);
  } else if (order.amount >= 2_000) {
    score += 30;
    reasons.push(`amount ${order.amount} ${order.currency} is at least 2000`);
  }
  const units = order.items.reduce((n, i) => n + i.qty, 0);
  if (units >= 20) {
    score += 20;
    reasons.push(`${units} units in one order`);
  }
  if (!USUAL_MARKETS.has(order.shippingAddress.country)) {
    score += 25;
    reasons.push(`ships to ${order.shippingAddress.country}, outside the usual markets`);
  }
  if (order.customerId.startsWith("guest")) {
    score += 10;
    reasons.push("guest checkout");
  }
  score = Math.min(score, 100);
  const risk = score >= 60 ? "high" : score >= 30 ? "medium" : "low";
  const nearThreshold = Math.abs(score - 30) < 10 || Math.abs(score - 60) < 10;
  return { decision: { risk, score, reasons }, confidence: nearThreshold ? 0.6 : 0.95 } as const;
}

const RANK = { low: 0, medium: 1, high: 2 } as const;
type Risk = keyof typeof RANK;

/**
 * The floor under the model: when the rules score an order high, no model may call it low — it is at
 * least medium (a person reviews it). When the event reads like instructions to the model, nothing
 * more permissive than the rules' own risk stands.
 */
export function fraudFloor(
  order: Order,
  decision: z.output<typeof Assessment>,
  { injectionSuspected }: { injectionSuspected: boolean },
) {
  const rules = fraudRules(order).decision;
  const floor: Risk = injectionSuspected ? rules.risk : rules.risk === "high" ? "medium" : "low";
  if (RANK[decision.risk] >= RANK[floor]) return undefined;
  const reason = injectionSuspected
    ? `instruction-like event: the model's "${decision.risk}" is below the rules' "${rules.risk}"`
    : `the rules score this order high (${rules.score}); the model's "${decision.risk}" is below the floor "${floor}"`;
  const reasons = [...decision.reasons, `rules: ${rules.reasons.join("; ")}`.slice(0, 300)].slice(-10);
  return { decision: { risk: floor, score: Math.max(decision.score, floor === "high" ? 60 : 30), reasons }, reason };
}

export default defineAgent({
  name: "fraud-screen",
  description: "Scores an order's fraud risk (low, medium, high) with the reasons.",
  subscribes: ["order.placed"],
  emits: ["fraud.assessed"],
  model: {
    instructions: `Assess the fraud risk of one e-commerce order.

Score from 0 (certainly legitimate) to 100 (certainly fraudulent), then map the score to a risk:
low below 30, medium from 30 to 59, high from 60. List the concrete reasons behind the score,
each a short sentence about this order; do not list generic advice.

Signals that raise risk: a large amount (2,000 or more in the order's currency is notable, 10,000 or
more is strong); many units of one or few SKUs (resale or card testing); shipping to a country
outside the merchant's usual markets (US, CA, GB, IE, DE, FR, NL, BE, ES, IT, SE, DK, AU, NZ, JP);
guest checkout; a mismatch between the customer's history and the order. Signals that lower risk:
small amounts, a returning customer id, ordinary quantities, domestic shipping.

Your confidence should fall when signals conflict or the order sits near a threshold. Ask for
escalation when the order is unusual in a way these instructions do not cover.`,
    output: Assessment,
    confidenceThreshold: 0.75,
    escalateWhen: ({ data }) =>
      data.amount >= 5_000 ? `order amount ${data.amount} ${data.currency} is 5000 or more` : undefined,
    local: ({ data }) => fraudRules(data),
    guard: ({ data }, decision, ctx) => fraudFloor(data, decision, ctx),
  },
  handle: ({ event, decision }) => [{ type: "fraud.assessed", data: { orderId: event.data.orderId, ...decision } }],
});
