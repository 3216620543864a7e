// Stock reservations. The whole reservation is one batch (one transaction): a CHECK (available >= 0)
// or a foreign key failure aborts all of it, so concurrent orders can never oversell.
import { errorMessage } from "../log";
import type { ReserveResult, StockItem } from "../runtime/define";

/** Sums repeated SKUs so each is one row of the reservation. */
function bySku(items: readonly StockItem[]): StockItem[] {
  const totals = new Map<string, number>();
  for (const { sku, qty } of items) totals.set(sku, (totals.get(sku) ?? 0) + qty);
  return [...totals].map(([sku, qty]) => ({ sku, qty }));
}

export async function reserve(
  db: D1Database,
  reservationId: string,
  items: readonly StockItem[],
  now: number,
): Promise<ReserveResult> {
  const existing = await db
    .prepare("SELECT status FROM reservations WHERE reservation_id = ?")
    .bind(reservationId)
    .first<{ status: string }>();
  if (existing?.status === "released") {
    return { ok: false, reason: "cancelled", message: "the order was closed before its stock was reserved" };
  }
  if (existing) return { ok: true, reservationId };
  try {
    await db.batch([
      db
        .prepare("INSERT INTO reservations (reservation_id, status, created_at) VALUES (?, 'held', ?)")
        .bind(reservationId, now),
      ...bySku(items).map(({ sku, qty }) =>
        db
          .prepare("INSERT INTO reservation_items (reservation_id, sku, qty) VALUES (?, ?, ?)")
          .bind(reservationId, sku, qty),
      ),
    ]);
    return { ok: true, reservationId };
  } catch (error) {
    const message = errorMessage(error);
    if (message.includes("CHECK constraint failed")) {
      return { ok: false, reason: "insufficient_stock", message: "not enough stock for every item" };
    }
    if (message.includes("FOREIGN KEY constraint failed")) {
      return { ok: false, reason: "unknown_sku", message: "an item's SKU is not in the catalog" };
    }
    // A concurrent delivery of the same order got there first: that reservation stands.
    if (message.includes("UNIQUE constraint failed") || message.includes("PRIMARY KEY")) {
      return { ok: true, reservationId };
    }
    throw error;
  }
}

/** Releases a held reservation (a trigger returns its stock), or leaves a released tombstone. */
export async function release(db: D1Database, reservationId: string, now: number): Promise<boolean> {
  const [before] = await db.batch<{ status: string }>([
    db.prepare("SELECT status FROM reservations WHERE reservation_id = ?").bind(reservationId),
    db
      .prepare(
        `INSERT INTO reservations (reservation_id, status, created_at, released_at) VALUES (?1, 'released', ?2, ?2)
         ON CONFLICT (reservation_id) DO UPDATE SET status = 'released', released_at = ?2 WHERE status = 'held'`,
      )
      .bind(reservationId, now),
  ]);
  return before?.results[0]?.status === "held";
}
