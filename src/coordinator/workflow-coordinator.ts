// WorkflowCoordinator: one Durable Object per correlation id, the single owner of that workflow's
// state. For now it records the events it is handed; joins, deadlines and approvals build on this.
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { type Envelope, EnvelopeSchema } from "../bus/envelope";
import type { Registry } from "../registry";

const ObserveInput = z.array(EnvelopeSchema).max(1000);

export function coordinatorClass(_registry: Registry) {
  return class WorkflowCoordinator extends DurableObject<Env> {
    constructor(ctx: DurableObjectState, env: Env) {
      super(ctx, env);
      ctx.storage.sql.exec(
        `CREATE TABLE IF NOT EXISTS observed (
           event_id TEXT PRIMARY KEY, source TEXT NOT NULL, type TEXT NOT NULL, observed_at INTEGER NOT NULL)`,
      );
    }

    /** Records each event once (by id); returns how many were new. */
    observe(events: Envelope[]): number {
      const input = ObserveInput.parse(events);
      let added = 0;
      for (const event of input) {
        added += this.ctx.storage.sql.exec(
          "INSERT INTO observed (event_id, source, type, observed_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
          event.id,
          event.source,
          event.type,
          Date.now(),
        ).rowsWritten;
      }
      return added;
    }

    observedTypes(): string[] {
      return this.ctx.storage.sql
        .exec<{ type: string }>("SELECT type FROM observed ORDER BY observed_at, event_id")
        .toArray()
        .map((r) => r.type);
    }
  };
}
