// The event catalog: every event type agentwire accepts or publishes, with the schema of its data.
import { z } from "zod";
import { defineCatalog } from "../src/bus/catalog";

const orderId = z.string().min(1).max(128);
const item = z.object({ sku: z.string().min(1).max(64), qty: z.number().int().min(1).max(10_000) });

export const catalog = defineCatalog({
  "order.placed": z.object({
    orderId,
    customerId: z.string().min(1).max(128),
    amount: z.number().nonnegative().max(1e9),
    currency: z.string().regex(/^[A-Z]{3}$/, "ISO 4217 code, e.g. USD"),
    items: z.array(item).min(1).max(100),
    shippingAddress: z.object({ country: z.string().regex(/^[A-Z]{2}$/, "ISO 3166-1 alpha-2 code, e.g. US") }),
  }),
  "fraud.assessed": z.object({
    orderId,
    risk: z.enum(["low", "medium", "high"]),
    score: z.number().min(0).max(100),
    reasons: z.array(z.string().max(500)).max(20),
  }),
  "inventory.reserved": z.object({ orderId, reservationId: z.string().min(1), items: z.array(item).min(1) }),
  "inventory.unavailable": z.object({
    orderId,
    reason: z.enum(["insufficient_stock", "unknown_sku"]),
    message: z.string().max(500),
  }),
  "shipping.quoted": z.object({
    orderId,
    carrier: z.string().min(1).max(64),
    costCents: z.number().int().nonnegative(),
    etaDays: z.number().int().min(0).max(365),
  }),
});
