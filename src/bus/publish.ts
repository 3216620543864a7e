// Publishing: sendAll(), the one way onto a queue (sendBatch calls within the Queues
// limits: 100 messages, 256 KB per batch, 128 KB per message; JSON so sizes are predictable), and the
// events agentwire publishes itself: ids keyed with the server's secret, built by one factory.
import type { Envelope, EventMessage, TaskMessage } from "./envelope";

const MAX_BATCH_MESSAGES = 100;
const MAX_BATCH_BYTES = 250_000; // under 256 KB, leaving room for per-message overhead
const encoder = new TextEncoder();

export async function sendAll<T extends EventMessage | TaskMessage>(
  queue: Queue,
  messages: readonly T[],
): Promise<void> {
  let batch: MessageSendRequest<T>[] = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length > 0) await queue.sendBatch(batch);
    batch = [];
    bytes = 0;
  };
  for (const body of messages) {
    const size = encoder.encode(JSON.stringify(body)).length + 100;
    if (batch.length === MAX_BATCH_MESSAGES || bytes + size > MAX_BATCH_BYTES) await flush();
    batch.push({ body, contentType: "json" });
    bytes += size;
  }
  await flush();
}

/** What sending tasks needs of the registry: which subscribers are destinations. */
export interface Lanes {
  isDestination(name: string): boolean;
}

/**
 * Tasks onto their queues: agents' runs to the tasks queue, destinations' deliveries to the deliveries
 * queue (more retries for a receiver that is down a while, and no agent batch waits on a slow one).
 */
export async function sendTasks(env: Env, lanes: Lanes, tasks: readonly TaskMessage[]): Promise<void> {
  const outbound = tasks.filter((t) => lanes.isDestination(t.agent));
  if (outbound.length === 0) return sendAll(env.TASKS_QUEUE, tasks);
  const inbound = tasks.filter((t) => !lanes.isDestination(t.agent));
  await Promise.all([sendAll(env.TASKS_QUEUE, inbound), sendAll(env.DELIVERIES_QUEUE, outbound)]);
}

// ---- the events agentwire publishes itself: keyed ids and the one factory ----

/** Domain label for the fallback key, so it is never the same MAC as anything else made from ADMIN_TOKEN. */
const FALLBACK_LABEL = "agentwire/event-id-key/v1";

const keys = new Map<string, Promise<CryptoKey>>();

const hmacKey = (raw: BufferSource) =>
  crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);

/**
 * The key for derived ids: `EVENT_ID_SECRET` when set, otherwise HMAC-SHA256(ADMIN_TOKEN, label).
 * Never WEBHOOK_SECRET: every sender knows that one. Cached per isolate.
 */
export function eventIdKey(env: { EVENT_ID_SECRET?: string | undefined; ADMIN_TOKEN: string }): Promise<CryptoKey> {
  const secret = env.EVENT_ID_SECRET?.trim();
  const cacheKey = secret ? `secret:${secret}` : `admin:${env.ADMIN_TOKEN}`;
  let key = keys.get(cacheKey);
  if (!key) {
    key = secret
      ? hmacKey(encoder.encode(secret))
      : hmacKey(encoder.encode(env.ADMIN_TOKEN)).then(async (admin) =>
          hmacKey(await crypto.subtle.sign("HMAC", admin, encoder.encode(FALLBACK_LABEL))),
        );
    keys.set(cacheKey, key);
  }
  return key;
}

/** `<prefix>_` and 128 bits of HMAC-SHA256 over the parts (JSON-encoded, so no two lists collide). */
export async function derivedId(key: CryptoKey, prefix: string, parts: readonly (string | number)[]): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(JSON.stringify(parts)));
  const hex = [...new Uint8Array(mac).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${prefix}_${hex}`;
}

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
