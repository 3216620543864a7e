// Standard Webhooks receivers should deduplicate `webhook-id`. The signature covers the id, the
// timestamp and the body but not the ce-* headers of binary mode, so a captured request could be
// replayed with another ce-id, ce-source or ce-correlationid. A digest of everything unsigned that
// shapes the events (content type, ce-* headers) and the body tells a sender's honest redelivery
// (same content) from such a replay (other content), for as long as the signature stays valid.
import type { WebhookMessage } from "../db/webhooks";

const encoder = new TextEncoder();

/** SHA-256 over the content type, the ce-* headers (sorted, so their order does not matter) and the body. */
export async function contentDigest(headers: Headers, body: Uint8Array): Promise<string> {
  const ce = [...headers]
    .filter(([name]) => name.startsWith("ce-"))
    .map(([name, value]) => `${name}:${value}`)
    .sort();
  const head = encoder.encode(JSON.stringify([headers.get("content-type") ?? "", ...ce]) + "\n");
  const content = new Uint8Array(head.length + body.length);
  content.set(head, 0);
  content.set(body, head.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", content));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A verified request's webhook-id, to record with its digest. Kept until `timestamp + tolerance`:
 * after that the signature check refuses the request anyway, so the window is exactly as long as it
 * must be.
 */
export async function webhookMessage(
  request: { sender: string; webhookId: string; timestamp: number; headers: Headers; body: Uint8Array },
  toleranceSeconds: number,
  now: number = Date.now(),
): Promise<WebhookMessage> {
  return {
    sender: request.sender,
    webhookId: request.webhookId,
    digest: await contentDigest(request.headers, request.body),
    receivedAt: now,
    // The signature check works in whole seconds: keep the row a second past the last one it accepts.
    expiresAt: (request.timestamp + toleranceSeconds + 1) * 1000,
  };
}
