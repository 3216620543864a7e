// webhook_messages: each verified webhook-id (and the sender that signed it) with a digest of its content, kept until its
// timestamp leaves the tolerance window (a trigger prunes older rows on every insert).
import { z } from "zod";
import type { Plan } from "./batch";

export type WebhookDelivery = "first" | "redelivery" | "conflict";

const Returned = z.array(z.object({ deliveries: z.number() }));

/**
 * Records a webhook message in one statement. The same id with the same digest is a redelivery (its
 * count goes up); with another digest the update's WHERE fails, nothing is written and nothing returned.
 * A plan: ingest runs it in one batch with its look-up of the log.
 */
export interface WebhookMessage {
  sender: string;
  webhookId: string;
  digest: string;
  receivedAt: number;
  expiresAt: number;
}

export function webhookMessagePlan(db: D1Database, m: WebhookMessage): Plan<WebhookDelivery> {
  const statement = db
    .prepare(
      `INSERT INTO webhook_messages (sender, webhook_id, digest, received_at, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (webhook_id) DO UPDATE SET deliveries = deliveries + 1
        WHERE webhook_messages.digest = excluded.digest
       RETURNING deliveries`,
    )
    .bind(m.sender, m.webhookId, m.digest, m.receivedAt, m.expiresAt);
  return {
    statements: [statement],
    read: ([result]) => {
      const [row] = Returned.parse(result?.results);
      if (!row) return "conflict";
      return row.deliveries === 1 ? "first" : "redelivery";
    },
  };
}
