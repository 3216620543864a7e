// inventory: reserves every item of an order, all or nothing, against the stock table.
import { defineAgent } from "./define";

export default defineAgent({
  name: "inventory",
  description: "Reserves the order's items (all or nothing) and reports reserved or unavailable.",
  subscribes: ["order.placed"],
  emits: ["inventory.reserved", "inventory.unavailable"],
  async handle(event, ctx) {
    const { orderId, items } = event.data;
    const result = await ctx.stock.reserve(orderId, items);
    if (result.ok) {
      return [{ type: "inventory.reserved", data: { orderId, reservationId: result.reservationId, items } }];
    }
    return [{ type: "inventory.unavailable", data: { orderId, reason: result.reason, message: result.message } }];
  },
});
