// The history capability (the example domain's): a customer's earlier tickets and orders, read from
// the event log (the hot window in D1; archived events are not searched). Read-only, and only these
// two types, through the partial index of migrations/0016_domain_customer_history.sql.
import { z } from "zod";

export interface CustomerHistory {
  tickets: { ticketId: string; subject: string; openedAt: string }[];
  orders: { orderId: string; amount: number; currency: string; placedAt: string }[];
}

export interface History {
  /** Up to `limit` of the customer's tickets and orders, newest first, leaving out event `except`. */
  ofCustomer(customerId: string, options?: { except?: string; limit?: number }): Promise<CustomerHistory>;
}

const Row = z.object({ type: z.string(), id: z.string(), envelope: z.string(), received_at: z.number() });
const Ticket = z.object({ ticketId: z.string(), subject: z.string() });
const Order = z.object({ orderId: z.string(), amount: z.number(), currency: z.string() });

export function d1History(db: D1Database): History {
  return {
    async ofCustomer(customerId, { except, limit = 20 } = {}) {
      const { results } = await db
        .prepare(
          `SELECT type, id, envelope, received_at FROM events
            WHERE type IN ('support.ticket.opened', 'order.placed')
              AND json_extract(envelope, '$.data.customerId') = ?1
            ORDER BY seq DESC LIMIT ?2`,
        )
        .bind(customerId, Math.min(Math.max(limit, 1), 50) + 1)
        .all();
      const history: CustomerHistory = { tickets: [], orders: [] };
      for (const row of z.array(Row).parse(results)) {
        if (row.id === except) continue;
        const data = (JSON.parse(row.envelope) as { data?: unknown }).data;
        const at = new Date(row.received_at).toISOString();
        if (row.type === "order.placed") {
          const o = Order.safeParse(data);
          if (o.success) history.orders.push({ ...o.data, placedAt: at });
        } else {
          const t = Ticket.safeParse(data);
          if (t.success) history.tickets.push({ ...t.data, openedAt: at });
        }
      }
      history.tickets = history.tickets.slice(0, limit);
      history.orders = history.orders.slice(0, limit);
      return history;
    },
  };
}
