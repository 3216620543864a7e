// Senders' delivery ids are deduplicated (Standard Webhooks' `webhook-id`, GitHub's X-GitHub-Delivery,
// a Stripe event id, …). A signature covers the body but not every header that shapes the events (the
// ce-* headers of binary mode, GitHub's X-GitHub-Event), so a captured request could be replayed with
// other headers. A digest of everything that shapes the events (content type, those headers, the
// body) tells a sender's honest redelivery (same content) from such a replay (other content), for as
// long as the delivery id is kept.
import type { WebhookMessage } from "../db/webhooks";
import { bytesToHex, concat } from "./mac";

/** The headers of binary mode that become CloudEvents attributes. */
export const ceHeaders = (name: string) => name.startsWith("ce-");

/** SHA-256 over the content type, the shaping headers (sorted, so their order does not matter) and the body. */
export async function contentDigest(
  headers: Headers,
  body: Uint8Array,
  shapes: (name: string) => boolean = ceHeaders,
): Promise<string> {
  const shaping = [...headers]
    .filter(([name]) => shapes(name))
    .map(([name, value]) => `${name}:${value}`)
    .sort();
  const head = JSON.stringify([headers.get("content-type") ?? "", ...shaping]) + "\n";
  return bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", concat(head, body))));
}

/**
 * A verified request's delivery id, to record with its digest until `expiresAt`. With a signed
 * timestamp that is when the signature check starts refusing the request anyway (see `expiryOf`).
 */
export async function webhookMessage(
  request: {
    sender: string;
    webhookId: string;
    headers: Headers;
    body: Uint8Array;
    shapes?: (name: string) => boolean;
    expiresAt: number;
  },
  now: number = Date.now(),
): Promise<WebhookMessage> {
  return {
    sender: request.sender,
    webhookId: request.webhookId,
    digest: await contentDigest(request.headers, request.body, request.shapes),
    receivedAt: now,
    expiresAt: request.expiresAt,
  };
}

/**
 * When a delivery id may be forgotten: a second after the last second the signature check accepts
 * its signed timestamp (it works in whole seconds). Schemes that sign no timestamp keep it for a
 * fixed window instead; past either, the log's (source, id) still answers a resend as a duplicate.
 */
export const expiryOf = (timestamp: number, toleranceSeconds: number) => (timestamp + toleranceSeconds + 1) * 1000;
