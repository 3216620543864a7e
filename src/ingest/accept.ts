// Accepts the CloudEvents of one verified delivery, whoever sent it (a signed CloudEvents request or
// a source's webhook): refuse what an outside sender may not say, rate-limit the sender, then log the
// new events with their routing in one D1 batch (with the delivery id) and route them. A 202 means
// logged. All or nothing: a rejected delivery writes nothing.
import { mintTraceparent, traceIdOf } from "../bus/envelope";
import { type Catalog, entryOf, validateData } from "../bus/catalog";
import { CloudEventSchema, type Envelope, eventKey, invalidAttributeNames, normalize } from "../bus/envelope";
import { isReservedSource, RESERVED_SOURCE_PREFIX } from "../bus/catalog";
import { countDuplicates, logEntry, type Routing, routeLogged } from "../bus/dispatch";
import { settings } from "../config";
import { runPlans } from "../db/batch";
import { type LogEntry, type Logged, logEvents, logPlan } from "../db/events";
import { type WebhookDelivery, type WebhookMessage, webhookMessagePlan } from "../db/webhooks";
import { errorMessage, log, logError, type LogFields } from "../log";
import { MAX_EVENT_BYTES } from "./cloudevents";
import { reject, type Rejection } from "./rejection";

export interface Accepted {
  id: string;
  source: string;
  duplicate: boolean;
}

export type IngestResult = { ok: true; mode: string; accepted: Accepted[] } | Rejection;

/** One verified delivery: who sent it, its delivery id with the digest of its content, its events. */
export interface VerifiedDelivery {
  /** Whom the signature proved: the rate-limit key (never the `source`, which a sender chooses). */
  sender: string;
  message: WebhookMessage;
  /** Candidate CloudEvents, as parsed or mapped: checked here, not trusted. */
  candidates: readonly unknown[];
  /** How the events arrived, for the answer and the log lines: structured, batch, binary, source. */
  mode: string;
  /** Number the events in refusals ("event 2: …"): a batch, or a source's several events. */
  numbered: boolean;
  /** What each `ingest` line says of the delivery beyond its events (the webhook id, the source's name). */
  logFields: LogFields;
}

export async function accept(
  env: Env,
  routing: Routing & { catalog: Catalog },
  delivery: VerifiedDelivery,
  started: number = Date.now(),
): Promise<IngestResult> {
  const { MAX_HOPS, MAX_EVENTS_PER_CORRELATION } = settings(env, "ingest");
  const events: Envelope[] = [];
  for (const [i, candidate] of delivery.candidates.entries()) {
    const event = checkEvent(candidate, routing.catalog, MAX_HOPS);
    if (!event.ok) return { ...event, message: (delivery.numbered ? `event ${i}: ` : "") + event.message };
    // Every event carries a trace context from here on: the sender's, or a fresh one.
    const { event: e } = event;
    events.push(e.traceparent === undefined ? { ...e, traceparent: mintTraceparent() } : e);
  }

  // Events, not requests, counted per verified sender: the `source` attribute of a CloudEvents
  // request is whatever the sender chooses, so it cannot be the key.
  const allowed = await Promise.all(events.map(() => env.INGEST_RATE_LIMITER.limit({ key: delivery.sender })));
  if (allowed.some((l) => !l.success)) {
    const message = "too many events from this sender; retry later";
    return { ...reject(429, "rate_limited", message), headers: { "retry-after": "60" } };
  }

  // One D1 round trip records the delivery id, then logs the events with their routing. The log
  // statements are guarded by the delivery's row, so a replayed id with other content logs nothing.
  const { message } = delivery;
  const limits = { maxHops: MAX_HOPS, maxEventsPerCorrelation: MAX_EVENTS_PER_CORRELATION };
  // Within the delivery, an event repeated by key is logged once and answered as a duplicate.
  const entries = new Map<string, LogEntry>();
  for (const event of events) entries.set(eventKey(event), logEntry(routing, event, started));
  const list = [...entries.values()];
  let recorded: WebhookDelivery;
  let logged: Logged[];
  try {
    [recorded, logged] = await runPlans(env.DB, [
      webhookMessagePlan(env.DB, message),
      logPlan(env.DB, list, Date.now(), limits, { webhookId: message.webhookId, digest: message.digest }),
    ]);
  } catch (error) {
    logError("ingest.log_failed", { events: events.length }, error);
    return reject(503, "log_unavailable", `could not log the events: ${errorMessage(error)}`);
  }
  if (recorded === "conflict") {
    const text = "this delivery id (webhook-id) was already received with other content: a replay, refused";
    return reject(409, "webhook_id_reused", text);
  }
  // A redelivered message is a duplicate throughout, but what its first delivery logged may not have
  // been routed (it failed, and the sender was told to retry): route that again.
  const again = list.flatMap((entry, i) =>
    recorded === "redelivery" && !logged[i]?.inserted ? [{ ...entry, reroute: true }] : [],
  );
  let rerouted: Logged[] = [];
  try {
    if (again.length > 0) rerouted = await logEvents(env.DB, again, Date.now(), limits);
  } catch (error) {
    logError("ingest.log_failed", { events: again.length }, error);
    return reject(503, "log_unavailable", `could not route the events again: ${errorMessage(error)}`);
  }
  const routedList = [...list.filter((_, i) => logged[i]?.inserted), ...again];
  const routedLogged = [...logged.filter((l) => l.inserted), ...rerouted];
  const [routed] = await Promise.all([
    routeLogged(env, routing, routedList, routedLogged),
    countDuplicates(env, list, logged),
  ]);
  if (!routed) {
    return reject(503, "queue_unavailable", "the events are logged but could not be routed; retry the request");
  }

  const outcome = new Map(list.map((entry, i) => [eventKey(entry.event), logged[i]]));
  const seen = new Set<string>();
  const accepted: Accepted[] = events.map((event) => {
    const key = eventKey(event);
    const first = !seen.has(key) && outcome.get(key)?.inserted === true && recorded === "first";
    seen.add(key);
    return { id: event.id, source: event.source, duplicate: !first };
  });
  const latencyMs = Date.now() - started;
  for (const [i, event] of events.entries()) {
    const l = outcome.get(eventKey(event));
    log("ingest", {
      eventId: event.id,
      source: event.source,
      type: event.type,
      correlationid: event.correlationid,
      traceId: traceIdOf(event),
      status: accepted[i]?.duplicate ? "duplicate" : l?.parked ? "parked" : "accepted",
      ...(l?.parked ? { reason: l.parked } : {}),
      agents: l?.send ?? [],
      held: l?.held ?? [],
      mode: delivery.mode,
      ...delivery.logFields,
      latencyMs,
    });
  }
  return { ok: true, mode: delivery.mode, accepted };
}

type Checked = { ok: true; event: Envelope } | Rejection;

const encoder = new TextEncoder();

/**
 * One candidate event: a CloudEvent, from a source outside agentwire's namespace, of an external
 * type, with data that fits its schema. What goes on is the schema's output, never the raw data, and
 * that output is what must fit the event size limit (a source's mapped events are not measured raw).
 */
function checkEvent(candidate: unknown, catalog: Catalog, maxHops: number): Checked {
  const badNames = typeof candidate === "object" && candidate ? invalidAttributeNames(candidate) : [];
  if (badNames.length > 0) {
    const message = `attribute names must be 1-20 lower-case letters or digits: ${badNames.join(", ")}`;
    return reject(400, "not_a_cloudevent", message);
  }
  const event = CloudEventSchema.safeParse(candidate);
  if (!event.success)
    return { ...reject(400, "not_a_cloudevent", "not a valid CloudEvent"), issues: event.error.issues };
  const { source, type } = event.data;
  // Extensions only agentwire sets: an outside sender may not claim a budget-limited decision.
  if ("budgetlimited" in event.data) {
    return reject(422, "reserved_extension", "the budgetlimited extension is set by agentwire's agents only");
  }
  if (isReservedSource(source)) {
    const message = `source "${source}" is in the namespace ${RESERVED_SOURCE_PREFIX}, reserved for agentwire's own agents and workflows`;
    return reject(422, "reserved_source", message);
  }
  if (entryOf(catalog, type)?.publishers === "internal") {
    const message = `"${type}" is an internal event type: only the agents or workflows that declare it may publish it`;
    return reject(422, "internal_type", message);
  }
  const valid = validateData(catalog, type, event.data.data);
  if (!valid.ok)
    return { ...reject(422, valid.code, valid.message), ...(valid.issues ? { issues: valid.issues } : {}) };
  const kept = { ...event.data, data: valid.data };
  // Measured as the schema keeps it, which is never more than a CloudEvents request's own measure.
  if (encoder.encode(JSON.stringify(kept)).length > MAX_EVENT_BYTES) {
    const message = `an event may be at most ${MAX_EVENT_BYTES} bytes (its JSON, data as the catalog schema keeps it)`;
    return reject(413, "event_too_large", message);
  }
  const normalized = normalize(kept);
  if (normalized.hopcount > maxHops) {
    return reject(422, "hop_limit", `hopcount ${normalized.hopcount} is over the limit of ${maxHops}`);
  }
  return { ok: true, event: normalized };
}
