// What an agent may publish: only the types it declares, with data that fits the catalog. Emitted
// events inherit the cause's correlation and trace, point back at it, and carry an id derived from
// the cause under the server's key (src/bus/publish.ts): stable across retries, unpredictable outside.
import { type Catalog, validateData } from "../bus/catalog";
import type { Envelope } from "../bus/envelope";
import { deriveEvent } from "../bus/publish";
import { derivedId } from "../bus/publish";
import { agentSource } from "../bus/subscriptions";
import type { Violation } from "../db/runs";
import type { Agent, Publish } from "./define";

/** The events to publish, or why the run fails for good; the violations found on the way either way. */
export type Emitted = { violations: Violation[] } & ({ ok: true; events: Envelope[] } | { ok: false; message: string });

export async function emittedEvents(
  catalog: Catalog,
  idKey: CryptoKey,
  agent: Agent,
  cause: Envelope,
  emits: readonly Publish[],
  flags: { budgetLimited?: boolean; generation?: string } = {},
): Promise<Emitted> {
  const events: Envelope[] = [];
  const violations: Violation[] = [];
  const ordinal = new Map<string, number>();
  for (const emit of emits) {
    if (!agent.emits.includes(emit.type)) {
      violations.push({
        kind: "undeclared_emit",
        detail: `tried to publish "${emit.type}", which it does not declare`,
      });
      continue;
    }
    const valid = validateData(catalog, emit.type, emit.data);
    if (!valid.ok) {
      const where = valid.issues?.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") ?? valid.message;
      return { ok: false, message: `emitted "${emit.type}" with invalid data (${where})`, violations };
    }
    const n = ordinal.get(emit.type) ?? 0;
    ordinal.set(emit.type, n + 1);
    events.push(
      deriveEvent({
        // A re-run's events are new events: their ids also derive from its generation.
        id: await derivedId(idKey, "evt", [
          cause.source,
          cause.id,
          agent.name,
          emit.type,
          n,
          ...(flags.generation ? [flags.generation] : []),
        ]),
        source: agentSource(agent.name),
        type: emit.type,
        data: valid.data,
        subject: emit.subject,
        correlationid: cause.correlationid,
        causationid: cause.id,
        hopcount: cause.hopcount + 1,
        traceparent: cause.traceparent,
        budgetlimited: flags.budgetLimited === true,
      }),
    );
  }
  return { ok: true, events, violations };
}
