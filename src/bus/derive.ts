// The one factory for the events agentwire publishes itself, by agents and by coordinators: the
// CloudEvents attributes and all four extensions (correlation, causation, hop count, trace context)
// in one place. Every field is required, so no publisher can forget one; the id comes from
// derivedId (src/bus/ids.ts), computed before (a coordinator's transaction cannot await).
import type { Envelope } from "./envelope";

export interface Derivation {
  /** From derivedId: deterministic for the same inputs, unpredictable without the server key. */
  id: string;
  /** `/agentwire/agents/<name>` or `/agentwire/workflows/<name>`. */
  source: string;
  type: string;
  /** Already validated against the catalog. */
  data: unknown;
  subject: string | undefined;
  correlationid: string;
  causationid: string;
  hopcount: number;
  /** The cause's W3C trace context (every logged event has one: ingest mints it when absent). */
  traceparent: string | undefined;
  /** A decision that wanted the expensive model but was refused it by the budget says so. */
  budgetlimited: boolean;
}

export function deriveEvent(d: Derivation): Envelope {
  return {
    specversion: "1.0",
    id: d.id,
    source: d.source,
    type: d.type,
    time: new Date().toISOString(),
    datacontenttype: "application/json",
    ...(d.subject === undefined ? {} : { subject: d.subject }),
    data: d.data,
    correlationid: d.correlationid,
    causationid: d.causationid,
    hopcount: d.hopcount,
    ...(d.traceparent === undefined ? {} : { traceparent: d.traceparent }),
    ...(d.budgetlimited ? { budgetlimited: true } : {}),
  };
}
