// Ingest: verify the signature over the raw body, parse and validate every event, then put the new
// ones on the events queue. All or nothing: a rejected request enqueues nothing and writes nothing.
import { type Catalog, validateData } from "../bus/catalog";
import { CloudEventSchema, type Envelope, eventKey, invalidAttributeNames, normalize } from "../bus/envelope";
import { publish } from "../bus/publish";
import { settings } from "../config";
import { findLogged } from "../db/events";
import { errorMessage, log, logError } from "../log";
import { readBody } from "./body";
import { parseCloudEvents } from "./cloudevents";
import type { Rejection } from "./rejection";
import { parseSecrets, verify } from "./signature";

export interface Accepted {
  id: string;
  source: string;
  duplicate: boolean;
}

export type IngestResult = { ok: true; mode: string; accepted: Accepted[] } | Rejection;

export async function ingest(request: Request, env: Env, catalog: Catalog): Promise<IngestResult> {
  const started = Date.now();
  const { WEBHOOK_SECRET, WEBHOOK_TOLERANCE_SECONDS, MAX_HOPS } = settings(env);
  const webhook = {
    id: request.headers.get("webhook-id"),
    timestamp: request.headers.get("webhook-timestamp"),
    signature: request.headers.get("webhook-signature"),
  };
  if (!webhook.id || !webhook.timestamp || !webhook.signature) {
    return unauthorized("missing webhook-id, webhook-timestamp or webhook-signature header");
  }
  const body = await readBody(request);
  if (!(body instanceof Uint8Array)) return body;
  const verified = await verify(parseSecrets(WEBHOOK_SECRET), webhook, body, WEBHOOK_TOLERANCE_SECONDS);
  if (!verified.ok) return unauthorized(verified.reason);

  const parsed = parseCloudEvents(request.headers, body);
  if (!parsed.ok) return parsed;
  const events: Envelope[] = [];
  for (const [i, candidate] of parsed.events.entries()) {
    const at = parsed.mode === "batch" ? `event ${i}: ` : "";
    const badNames = typeof candidate === "object" && candidate ? invalidAttributeNames(candidate) : [];
    if (badNames.length > 0) {
      const message = `${at}attribute names must be 1-20 lower-case letters or digits: ${badNames.join(", ")}`;
      return { ok: false, status: 400, code: "not_a_cloudevent", message };
    }
    const event = CloudEventSchema.safeParse(candidate);
    if (!event.success) {
      return {
        ok: false,
        status: 400,
        code: "not_a_cloudevent",
        message: `${at}not a valid CloudEvent`,
        issues: event.error.issues,
      };
    }
    const valid = validateData(catalog, event.data.type, event.data.data);
    if (!valid.ok)
      return { ok: false, status: 422, code: valid.code, message: at + valid.message, issues: valid.issues };
    const normalized = normalize(event.data);
    if (normalized.hopcount > MAX_HOPS) {
      const message = `${at}hopcount ${normalized.hopcount} is over the limit of ${MAX_HOPS}`;
      return { ok: false, status: 422, code: "hop_limit", message };
    }
    events.push(normalized);
  }

  // Per source, so that one noisy sender cannot starve the others.
  for (const source of new Set(events.map((e) => e.source))) {
    const { success } = await env.INGEST_RATE_LIMITER.limit({ key: source });
    if (!success) {
      const message = `too many events from source "${source}"; retry later`;
      return { ok: false, status: 429, code: "rate_limited", message, headers: { "retry-after": "60" } };
    }
  }

  // Duplicates are answered, not re-sent: within the request by key, across requests from the log.
  const logged = await findLogged(env.DB, events);
  const seen = new Set<string>();
  const accepted: Accepted[] = [];
  const fresh: Envelope[] = [];
  for (const event of events) {
    const key = eventKey(event);
    const duplicate = logged.has(key) || seen.has(key);
    seen.add(key);
    if (!duplicate) fresh.push(event);
    accepted.push({ id: event.id, source: event.source, duplicate });
  }
  try {
    await publish(env.EVENTS_QUEUE, fresh);
  } catch (error) {
    logError("ingest.enqueue_failed", { events: fresh.length }, error);
    return { ok: false, status: 503, code: "queue_unavailable", message: `could not enqueue: ${errorMessage(error)}` };
  }
  for (const [i, event] of events.entries()) {
    log("ingest", {
      eventId: event.id,
      source: event.source,
      type: event.type,
      correlationid: event.correlationid,
      status: accepted[i]?.duplicate ? "duplicate" : "accepted",
      mode: parsed.mode,
      latencyMs: Date.now() - started,
    });
  }
  return { ok: true, mode: parsed.mode, accepted };
}

const unauthorized = (message: string): Rejection => ({ ok: false, status: 401, code: "invalid_signature", message });
