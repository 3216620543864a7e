// shipping-quote: quotes a carrier, cost and delivery time for the order's destination and size.
import { defineAgent } from "./define";

const ZONES = {
  domestic: { carrier: "UPS", baseCents: 599, perUnitCents: 50, etaDays: 3 },
  europe: { carrier: "DHL", baseCents: 1499, perUnitCents: 120, etaDays: 5 },
  world: { carrier: "FedEx", baseCents: 2999, perUnitCents: 250, etaDays: 9 },
} as const;
const EUROPE = new Set(["GB", "IE", "DE", "FR", "NL", "BE", "ES", "IT", "SE", "DK", "PL", "PT", "AT", "FI"]);

export default defineAgent({
  name: "shipping-quote",
  description: "Quotes carrier, cost and ETA for the order's destination.",
  subscribes: ["order.placed"],
  emits: ["shipping.quoted"],
  handle({ event }) {
    const { orderId, items, shippingAddress } = event.data;
    const country = shippingAddress.country;
    const zone = country === "US" ? ZONES.domestic : EUROPE.has(country) ? ZONES.europe : ZONES.world;
    const units = items.reduce((n, i) => n + i.qty, 0);
    return [
      {
        type: "shipping.quoted",
        data: {
          orderId,
          carrier: zone.carrier,
          costCents: zone.baseCents + zone.perUnitCents * units,
          etaDays: zone.etaDays,
        },
      },
    ];
  },
});
