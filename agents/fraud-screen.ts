// fraud-screen: scores each order's risk from its amount, size, destination and customer.
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

export default defineAgent({
  name: "fraud-screen",
  description: "Scores an order's fraud risk (low, medium, high) with the reasons.",
  subscribes: ["order.placed"],
  emits: ["fraud.assessed"],
  handle(event) {
    const order = event.data;
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
    return [{ type: "fraud.assessed", data: { orderId: order.orderId, risk, score, reasons } }];
  },
});
