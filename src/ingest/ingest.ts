// Ingest: verify the signature over the raw body, parse and validate every event, refuse what an
// outside sender may not say, then log the new events with their routing in one D1 batch (with the
// webhook-id) and route them: tasks for their agents, the start of their workflows. A 202 means
// logged. All or nothing: a rejected request writes nothing.
import { mintTraceparent, traceIdOf } from "../bus/envelope";
import { type Catalog, entryOf, validateData } from "../bus/catalog";
import { CloudEventSchema, type Envelope, eventKey, invalidAttributeNames, normalize } from "../bus/envelope";
import { isReservedSource, RESERVED_SOURCE_PREFIX } from "../bus/catalog";
import { countDuplicates, logEntry, type Routing, routeLogged } from "../bus/dispatch";
import { settings } from "../config";
import { runPlans } from "../db/batch";
import { type LogEntry, type Logged, logEvents, logPlan } from "../db/events";
import { webhookMessagePlan, type WebhookDelivery } from "../db/webhooks";
import { errorMessage, log, logError } from "../log";
import { readBody } from "./body";
import { parseCloudEvents } from "./cloudevents";
import type { Rejection } from "./rejection";
import { parseSecrets, verify } from "./signature";
import { webhookMessage } from "./webhook-id";

export interface Accepted {
  id: string;
  source: string;
  duplicate: boolean;
}

export type IngestResult = { ok: true; mode: string; accepted: Accepted[] } | Rejection;

const MAX_WEBHOOK_ID = 256;

export async function ingest(
  request: Request,
  env: Env,
  routing: Routing & { catalog: Catalog },
): Promise<IngestResult> {
  const started = Date.now();
  const { WEBHOOK_SECRET, WEBHOOK_TOLERANCE_SECONDS, MAX_HOPS, MAX_EVENTS_PER_CORRELATION } = settings(env, "ingest");
  const webhook = {
    id: request.headers.get("webhook-id"),
    timestamp: request.headers.get("webhook-timestamp"),
    signature: request.headers.get("webhook-signature"),
  };
  if (!webhook.id || !webhook.timestamp || !webhook.signature) {
    return unauthorized("missing webhook-id, webhook-timestamp or webhook-signature header");
  }
  if (webhook.id.length > MAX_WEBHOOK_ID) {
    return reject(400, "invalid_webhook_id", `webhook-id may be at most ${MAX_WEBHOOK_ID} characters`);
  }
  const body = await readBody(request);
  if (!(body instanceof Uint8Array)) return body;
  const verified = await verify(parseSecrets(WEBHOOK_SECRET), webhook, body, WEBHOOK_TOLERANCE_SECONDS);
  if (!verified.ok) return unauthorized(verified.reason);

  const parsed = parseCloudEvents(request.headers, body);
  if (!parsed.ok) return parsed;
  const events: Envelope[] = [];
  for (const [i, candidate] of parsed.events.entries()) {
    const event = checkEvent(candidate, routing.catalog, MAX_HOPS);
    if (!event.ok) return { ...event, message: (parsed.mode === "batch" ? `event ${i}: ` : "") + event.message };
    // Every event carries a trace context from here on: the sender's, or a fresh one.
    const { event: e } = event;
    events.push(e.traceparent === undefined ? { ...e, traceparent: mintTraceparent() } : e);
  }

  // Events, not requests, counted per verified sender (the secret that verified the request): the
  // `source` attribute is whatever the sender chooses, so it cannot be the key.
  const allowed = await Promise.all(events.map(() => env.INGEST_RATE_LIMITER.limit({ key: verified.sender })));
  if (allowed.some((l) => !l.success)) {
    const message = "too many events from this sender; retry later";
    return { ...reject(429, "rate_limited", message), headers: { "retry-after": "60" } };
  }

  // One D1 round trip records the webhook-id, then logs the events with their routing. The log
  // statements are guarded by the webhook-id row, so a replayed id with other content logs nothing.
  const message = await webhookMessage(
    {
      sender: verified.sender,
      webhookId: webhook.id,
      timestamp: Number(webhook.timestamp),
      headers: request.headers,
      body,
    },
    WEBHOOK_TOLERANCE_SECONDS,
  );
  const limits = { maxHops: MAX_HOPS, maxEventsPerCorrelation: MAX_EVENTS_PER_CORRELATION };
  // Within the request, an event repeated by key is logged once and answered as a duplicate.
  const entries = new Map<string, LogEntry>();
  for (const event of events) entries.set(eventKey(event), logEntry(routing, event, started));
  const list = [...entries.values()];
  let delivery: WebhookDelivery;
  let logged: Logged[];
  try {
    [delivery, logged] = await runPlans(env.DB, [
      webhookMessagePlan(env.DB, message),
      logPlan(env.DB, list, Date.now(), limits, { webhookId: message.webhookId, digest: message.digest }),
    ]);
  } catch (error) {
    logError("ingest.log_failed", { events: events.length }, error);
    return reject(503, "log_unavailable", `could not log the events: ${errorMessage(error)}`);
  }
  if (delivery === "conflict") {
    const message = "this webhook-id was already received with other content: a replay, refused";
    return reject(409, "webhook_id_reused", message);
  }
  // A redelivered message is a duplicate throughout, but what its first delivery logged may not have
  // been routed (it failed, and the sender was told to retry): route that again.
  const again = list.flatMap((entry, i) =>
    delivery === "redelivery" && !logged[i]?.inserted ? [{ ...entry, reroute: true }] : [],
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
    const first = !seen.has(key) && outcome.get(key)?.inserted === true && delivery === "first";
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
      mode: parsed.mode,
      webhookId: webhook.id,
      latencyMs,
    });
  }
  return { ok: true, mode: parsed.mode, accepted };
}

type Checked = { ok: true; event: Envelope } | Rejection;

/**
 * One candidate event: a CloudEvent, from a source outside agentwire's namespace, of an external
 * type, with data that fits its schema. What goes on is the schema's output, never the raw data.
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
  const normalized = normalize({ ...event.data, data: valid.data });
  if (normalized.hopcount > maxHops) {
    return reject(422, "hop_limit", `hopcount ${normalized.hopcount} is over the limit of ${maxHops}`);
  }
  return { ok: true, event: normalized };
}

const reject = (status: Rejection["status"], code: string, message: string): Rejection => ({
  ok: false,
  status,
  code,
  message,
});
const unauthorized = (message: string) => reject(401, "invalid_signature", message);
