// Helpers shared by the tests: signed webhook requests, order events, polling the log.
import { env, exports } from "cloudflare:workers";
import { sign } from "../../src/ingest/signature";

export const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
export const ADMIN = { authorization: "Bearer test-admin-token" };

let counter = 0;
export const uniqueId = (prefix = "id") =>
  `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}-${crypto.randomUUID().slice(0, 8)}`;

export interface SignOptions {
  contentType?: string;
  headers?: Record<string, string>;
  timestamp?: number;
  webhookId?: string;
  secret?: string;
  /** Replaces the computed signature header. */
  signature?: string;
}

export async function signedRequest(body: string | Uint8Array, opts: SignOptions = {}): Promise<Request> {
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const webhookId = opts.webhookId ?? uniqueId("msg");
  const signature = opts.signature ?? (await sign(opts.secret ?? SECRET, webhookId, timestamp, body));
  return new Request("https://agentwire.test/v1/events", {
    method: "POST",
    headers: {
      "content-type": opts.contentType ?? "application/cloudevents+json",
      "webhook-id": webhookId,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signature,
      ...opts.headers,
    },
    body,
  });
}

export function call(request: Request): Promise<Response> {
  return exports.default.fetch(request);
}

export async function postEvents(events: unknown, opts: SignOptions = {}): Promise<Response> {
  const batch = Array.isArray(events);
  return call(
    await signedRequest(JSON.stringify(events), {
      contentType: batch ? "application/cloudevents-batch+json" : "application/cloudevents+json",
      ...opts,
    }),
  );
}

export function orderData(orderId: string, overrides: Record<string, unknown> = {}) {
  return {
    orderId,
    customerId: "cust-1",
    amount: 120,
    currency: "USD",
    items: [{ sku: "SKU-1", qty: 1 }],
    shippingAddress: { country: "US" },
    ...overrides,
  };
}

export function orderPlaced(orderId = uniqueId("ord"), overrides: Record<string, unknown> = {}) {
  return {
    specversion: "1.0" as const,
    id: `evt-${orderId}`,
    source: "/shop/checkout",
    type: "order.placed",
    time: new Date().toISOString(),
    datacontenttype: "application/json",
    correlationid: orderId,
    data: orderData(orderId, overrides),
  };
}

export async function adminGet(path: string): Promise<Response> {
  return call(new Request(`https://agentwire.test${path}`, { headers: ADMIN }));
}

/** Polls until `probe` returns a value (not undefined/null/false), or fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting${last instanceof Error ? `: ${last.message}` : ""}`);
}

export async function runsOf(eventId: string) {
  const { results } = await env.DB.prepare(
    "SELECT agent, status, attempt, output, error FROM agent_runs WHERE event_id = ? ORDER BY agent",
  )
    .bind(eventId)
    .all<{ agent: string; status: string; attempt: number; output: string | null; error: string | null }>();
  return results;
}

export async function count(sql: string, ...params: unknown[]): Promise<number> {
  const row = await env.DB.prepare(sql)
    .bind(...params)
    .first<{ n: number }>();
  return row?.n ?? 0;
}
