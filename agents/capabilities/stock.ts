// The stock capability (the example domain's): reservations are one D1 batch, so one transaction. A
// CHECK (available >= 0) or a foreign key failure aborts the whole reservation, so concurrent orders
// can never oversell. Its tables are the domain's migration, migrations/0002_domain_create_stock.sql.

export interface StockItem {
  sku: string;
  qty: number;
}

export type ReserveResult =
  | { ok: true; reservationId: string }
  | { ok: false; reason: "insufficient_stock" | "unknown_sku" | "cancelled"; message: string };

export interface Stock {
  /** Atomically reserves every item or none; idempotent per reservation id. */
  reserve(reservationId: string, items: readonly StockItem[]): Promise<ReserveResult>;
  /**
   * Returns a held reservation to stock; false if none was held. Either way the id is closed: a
   * reservation attempted after its release (a late delivery) is refused as cancelled.
   */
  release(reservationId: string): Promise<boolean>;
}

/** Sums repeated SKUs so each is one row of the reservation. */
function bySku(items: readonly StockItem[]): StockItem[] {
  const totals = new Map<string, number>();
  for (const { sku, qty } of items) totals.set(sku, (totals.get(sku) ?? 0) + qty);
  return [...totals].map(([sku, qty]) => ({ sku, qty }));
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Stock kept in the app's D1 database. `now` is injectable for tests. */
export function d1Stock(db: D1Database, now: () => number = Date.now): Stock {
  return {
    async reserve(reservationId, items) {
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
            .bind(reservationId, now()),
          ...bySku(items).map(({ sku, qty }) =>
            db
              .prepare("INSERT INTO reservation_items (reservation_id, sku, qty) VALUES (?, ?, ?)")
              .bind(reservationId, sku, qty),
          ),
        ]);
        return { ok: true, reservationId };
      } catch (error) {
        const message = messageOf(error);
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
    },

    async release(reservationId) {
      const at = now();
      const [before] = await db.batch<{ status: string }>([
        db.prepare("SELECT status FROM reservations WHERE reservation_id = ?").bind(reservationId),
        db
          .prepare(
            `INSERT INTO reservations (reservation_id, status, created_at, released_at) VALUES (?1, 'released', ?2, ?2)
             ON CONFLICT (reservation_id) DO UPDATE SET status = 'released', released_at = ?2 WHERE status = 'held'`,
          )
          .bind(reservationId, at),
      ]);
      return before?.results[0]?.status === "held";
    },
  };
}
