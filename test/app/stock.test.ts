// The example domain's stock capability (agents/capabilities/stock.ts) and its inventory agent: the
// application side's tests, next to nothing in src/.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { d1Stock } from "../../agents/capabilities/stock";
import { orderPlaced, postEvents, uniqueId, waitFor } from "../support/helpers";

const stock = d1Stock(env.DB);

async function stockOf(sku: string) {
  const row = await env.DB.prepare("SELECT available FROM stock WHERE sku = ?")
    .bind(sku)
    .first<{ available: number }>();
  return row?.available;
}

describe("the stock capability", () => {
  it("never oversells: concurrent orders for the last unit reserve it once", async () => {
    const sku = uniqueId("SKU");
    await env.DB.prepare("INSERT INTO stock (sku, available) VALUES (?, 1)").bind(sku).run();
    const orders = [
      orderPlaced(undefined, { items: [{ sku, qty: 1 }] }),
      orderPlaced(undefined, { items: [{ sku, qty: 1 }] }),
    ];
    const responses = await Promise.all(orders.map((o) => postEvents(o)));
    expect(responses.map((r) => r.status)).toEqual([202, 202]);
    const outcomes = await waitFor(async () => {
      const { results } = await env.DB.prepare(
        `SELECT type FROM events WHERE causation_id IN (?, ?) AND type LIKE 'inventory.%' ORDER BY type`,
      )
        .bind(orders[0]?.id, orders[1]?.id)
        .all<{ type: string }>();
      return results.length === 2 && results.map((r) => r.type);
    });
    expect(outcomes).toEqual(["inventory.reserved", "inventory.unavailable"]);
    expect(await stockOf(sku)).toBe(0);
  });

  it("reserves all or nothing under many concurrent callers, idempotently", async () => {
    const sku = uniqueId("SKU");
    await env.DB.prepare("INSERT INTO stock (sku, available) VALUES (?, 3)").bind(sku).run();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        stock.reserve(`r-${sku}-${i}`, [
          { sku, qty: 1 },
          { sku: "SKU-2", qty: 1 },
        ]),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(results.filter((r) => !r.ok)).toEqual(
      Array.from({ length: 7 }, () => expect.objectContaining({ reason: "insufficient_stock" })),
    );
    expect(await stockOf(sku)).toBe(0);
    // Reserving again under the same id changes nothing.
    expect(await stock.reserve(`r-${sku}-0`, [{ sku, qty: 1 }])).toEqual({
      ok: true,
      reservationId: `r-${sku}-0`,
    });
    expect(await stock.reserve("r-unknown", [{ sku: "NO-SUCH-SKU", qty: 1 }])).toMatchObject({
      ok: false,
      reason: "unknown_sku",
    });
  });

  it("releases a held reservation once, and refuses a reservation after its release", async () => {
    const sku = uniqueId("SKU");
    await env.DB.prepare("INSERT INTO stock (sku, available) VALUES (?, 2)").bind(sku).run();
    const id = uniqueId("r");
    expect(await stock.reserve(id, [{ sku, qty: 2 }])).toEqual({ ok: true, reservationId: id });
    expect(await stockOf(sku)).toBe(0);
    expect(await stock.release(id)).toBe(true);
    expect(await stock.release(id)).toBe(false);
    expect(await stockOf(sku)).toBe(2);
    const late = uniqueId("r");
    expect(await stock.release(late)).toBe(false); // a tombstone: the order closed first
    expect(await stock.reserve(late, [{ sku, qty: 1 }])).toMatchObject({ ok: false, reason: "cancelled" });
  });
});
