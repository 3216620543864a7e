// A small agentwire client for the scripts: signed webhook posts and admin reads.
import { randomUUID } from "node:crypto";
import { sign } from "../../src/ingest/signature";

export interface Target {
  url: string;
  secret: string;
  adminToken: string;
}

export async function postSigned(
  target: Target,
  body: string,
  contentType = "application/cloudevents+json",
): Promise<Response> {
  const id = `msg_${randomUUID()}`;
  const timestamp = Math.floor(Date.now() / 1000);
  return fetch(`${target.url}/v1/events`, {
    method: "POST",
    headers: {
      "content-type": contentType,
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": await sign(target.secret, id, timestamp, body),
    },
    body,
  });
}

export async function adminGet<T = unknown>(target: Target, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${target.url}${path}`, { headers: { authorization: `Bearer ${target.adminToken}` } });
  return { status: res.status, body: (await res.json()) as T };
}

export interface OrderOptions {
  orderId?: string;
  amount?: number;
  sku?: string;
  qty?: number;
  country?: string;
  customerId?: string;
}

export function orderPlaced(opts: OrderOptions = {}) {
  const orderId = opts.orderId ?? `ord_${randomUUID().slice(0, 12)}`;
  return {
    specversion: "1.0",
    id: `evt_${orderId}`,
    source: "/shop/checkout",
    type: "order.placed",
    time: new Date().toISOString(),
    datacontenttype: "application/json",
    correlationid: orderId,
    data: {
      orderId,
      customerId: opts.customerId ?? "cust_42",
      amount: opts.amount ?? 129.5,
      currency: "USD",
      items: [{ sku: opts.sku ?? "SKU-1", qty: opts.qty ?? 1 }],
      shippingAddress: { country: opts.country ?? "US" },
    },
  };
}

export interface EventDetail {
  event: { id: string; type: string };
  deliveries: { agent: string }[];
  runs: {
    agent: string;
    status: string;
    latencyMs: number | null;
    finishedAt: number | null;
    output: { events: { type: string; data: unknown }[] } | null;
    error?: { message: string } | null;
  }[];
}

/** Polls GET /v1/events/:id until every delivery has a finished run. */
export async function waitForRuns(target: Target, eventId: string, timeoutMs = 15_000): Promise<EventDetail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await adminGet<EventDetail>(target, `/v1/events/${encodeURIComponent(eventId)}`);
    const done = (r: { status: string }) => r.status === "succeeded" || r.status === "dead_lettered";
    if (
      status === 200 &&
      body.deliveries.length > 0 &&
      body.runs.length === body.deliveries.length &&
      body.runs.every(done)
    ) {
      return body;
    }
    if (Date.now() > deadline) throw new Error(`event ${eventId} was not processed within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
