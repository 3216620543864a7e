// The order workflow: joins fraud, inventory and shipping within 30 s, then confirms, rejects, or
// asks a human when fraud risk is medium. Any rejecting result vetoes (a reservation is then released
// by the inventory agent, which hears order.rejected and order.timed_out).
import { all, approve, defineWorkflow, reject, review } from "./define";

export default defineWorkflow({
  name: "order",
  description: "Confirms or rejects a placed order from its fraud, inventory and shipping results.",
  startsOn: "order.placed",
  join: all("fraud.assessed", "inventory.reserved | inventory.unavailable", "shipping.quoted"),
  deadlineMs: 30_000,
  onTimeout: "timed_out",
  votes: {
    "fraud.assessed": ({ data }) =>
      data.risk === "high"
        ? reject(`fraud risk high (score ${data.score})`)
        : data.risk === "medium"
          ? review(`fraud risk medium (score ${data.score}): ${data.reasons.join("; ")}`)
          : approve(),
    "inventory.reserved": () => approve(),
    "inventory.unavailable": ({ data }) => reject(`stock unavailable: ${data.message}`),
  },
  conflicts: "veto",
  // A fraud assessment that needed Sonnet but was refused it by the budget goes to a human.
  onBudgetLimited: "review",
  emits: ["order.confirmed", "order.rejected", "order.review_requested"],
  decide: ({ start, results, verdict }) => {
    const reserved = results["inventory.reserved"];
    const quote = results["shipping.quoted"];
    if (verdict.decision === "approve" && reserved && quote) {
      return {
        type: "order.confirmed",
        data: {
          orderId: start.data.orderId,
          reservationId: reserved.data.reservationId,
          carrier: quote.data.carrier,
          costCents: quote.data.costCents,
          etaDays: quote.data.etaDays,
          ...(verdict.approver ? { approvedBy: verdict.approver.by } : {}),
        },
      };
    }
    return { type: "order.rejected", data: { orderId: start.data.orderId, reasons: verdict.reasons } };
  },
  approval: {
    deadlineMs: 15 * 60_000,
    onTimeout: "deny",
    request: ({ start, results, verdict }) => ({
      type: "order.review_requested",
      data: {
        orderId: start.data.orderId,
        reasons: verdict.reasons,
        ...(results["fraud.assessed"] ? { risk: results["fraud.assessed"].data.risk } : {}),
      },
    }),
  },
});
