// POST /v1/events: verify the Standard Webhooks signature over the raw body, parse the CloudEvents
// (structured, batch or binary mode), then accept them as any verified delivery is (./accept.ts).
import type { Catalog } from "../bus/catalog";
import type { Routing } from "../bus/dispatch";
import { settings } from "../config";
import { accept, type IngestResult } from "./accept";
import { readBody } from "./body";
import { parseCloudEvents } from "./cloudevents";
import { reject } from "./rejection";
import { parseSecrets, verify } from "./signature";
import { ceHeaders, expiryOf, webhookMessage } from "./webhook-id";

export type { Accepted, IngestResult } from "./accept";

const MAX_WEBHOOK_ID = 256;

export async function ingest(
  request: Request,
  env: Env,
  routing: Routing & { catalog: Catalog },
): Promise<IngestResult> {
  const started = Date.now();
  const { WEBHOOK_SECRET, WEBHOOK_TOLERANCE_SECONDS } = settings(env, "ingest");
  const webhook = {
    id: request.headers.get("webhook-id"),
    timestamp: request.headers.get("webhook-timestamp"),
    signature: request.headers.get("webhook-signature"),
  };
  if (!webhook.id || !webhook.timestamp || !webhook.signature) {
    return reject(401, "invalid_signature", "missing webhook-id, webhook-timestamp or webhook-signature header");
  }
  if (webhook.id.length > MAX_WEBHOOK_ID) {
    return reject(400, "invalid_webhook_id", `webhook-id may be at most ${MAX_WEBHOOK_ID} characters`);
  }
  const body = await readBody(request);
  if (!(body instanceof Uint8Array)) return body;
  const verified = await verify(parseSecrets(WEBHOOK_SECRET), webhook, body, WEBHOOK_TOLERANCE_SECONDS);
  if (!verified.ok) return reject(401, "invalid_signature", verified.reason);

  const parsed = parseCloudEvents(request.headers, body);
  if (!parsed.ok) return parsed;
  // The signature covers id, timestamp and body, not binary mode's ce-* headers: those go in the digest.
  const message = await webhookMessage({
    sender: verified.sender,
    webhookId: webhook.id,
    headers: request.headers,
    body,
    shapes: ceHeaders,
    expiresAt: expiryOf(Number(webhook.timestamp), WEBHOOK_TOLERANCE_SECONDS),
  });
  return accept(
    env,
    routing,
    {
      sender: verified.sender,
      message,
      candidates: parsed.events,
      mode: parsed.mode,
      numbered: parsed.mode === "batch",
      logFields: { webhookId: webhook.id },
    },
    started,
  );
}
