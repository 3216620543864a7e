// inventory: reserves every item of an order, all or nothing, against the stock table, and gives
// the stock back when the order workflow ends rejected or timed out (compensation).
import { defineAgent } from "./define";

export default defineAgent({
  name: "inventory",
  description: "Reserves the order's items (all or nothing); releases them if the order is rejected or times out.",
  subscribes: ["order.placed", "order.rejected", "order.timed_out"],
  emits: ["inventory.reserved", "inventory.unavailable", "inventory.released"],
  async handle({ event, ctx }) {
    if (event.type !== "order.placed") {
      const orderId = event.type === "order.rejected" ? event.data.orderId : event.data.workflowId;
      const released = await ctx.stock.release(orderId);
      return [{ type: "inventory.released", data: { orderId, released } }];
    }
    const { orderId, items } = event.data;
    const result = await ctx.stock.reserve(orderId, items);
    if (result.ok) {
      return [{ type: "inventory.reserved", data: { orderId, reservationId: result.reservationId, items } }];
    }
    return [{ type: "inventory.unavailable", data: { orderId, reason: result.reason, message: result.message } }];
  },
});
