// POST /v1/sources/:name: a source's webhook, verified over the raw body by its own scheme before
// anything is parsed, mapped to CloudEvents, then accepted exactly as /v1/events accepts its events
// (../ingest/accept.ts): the same catalog and trust checks, rate limit, log batch and routing.
import { ConfigError } from "../config";
import { accept, type IngestResult } from "../ingest/accept";
import { readBody } from "../ingest/body";
import { isJsonType, mediaType, parseJson } from "../ingest/cloudevents";
import { reject } from "../ingest/rejection";
import { expiryOf, webhookMessage } from "../ingest/webhook-id";
import { log } from "../log";
import type { Registry } from "../registry";
import type { Source } from "./define";
import { mapRequest } from "./map";
import { verifyScheme } from "./schemes";
import { sourceKeys } from "./secrets";

/**
 * How long the delivery id of a scheme that signs no timestamp (GitHub, Shopify, bearer) is kept:
 * past GitHub's 3-day redelivery window and Shopify's 48 hours of retries. After that a resend is
 * still a duplicate by the log's (source, id), only no longer compared with what came first.
 */
export const UNSIGNED_WINDOW_SECONDS = 3 * 86_400 + 3600;

/** The rate-limit key and the webhook_messages sender of a source: its name, apart from CloudEvents senders' hashes. */
export const senderOf = (source: Source) => `source:${source.name}`;

export async function receive(request: Request, env: Env, registry: Registry, name: string): Promise<IngestResult> {
  const started = Date.now();
  const source = registry.source(name);
  if (!source) return reject(404, "unknown_source", `no source named "${name.slice(0, 64)}"`);
  const keys = sourceKeys(env, source);
  if (!keys.ok) {
    const { name: setting, problem, fix } = keys;
    throw new ConfigError("sources", [{ name: setting, problem, fix, parts: ["sources"] }]);
  }
  const body = await readBody(request);
  if (!(body instanceof Uint8Array)) return body;
  const verified = await verifyScheme(source.verify, keys.keys, request.headers, body);
  if (!verified.ok) return reject(401, "invalid_signature", verified.reason);

  const { type, charset } = mediaType(request.headers.get("content-type"));
  if (charset !== undefined && charset !== "utf-8") return reject(415, "unsupported_charset", "only UTF-8 is accepted");
  if (!isJsonType(type)) {
    const message = "a source's webhook body must be JSON (application/json); set the sender's content type to JSON";
    return reject(415, "unsupported_content_type", message);
  }
  const json = parseJson(body);
  if (!json.ok) return json;
  const mapped = mapRequest(source, request.headers, json.value);
  if (!mapped.ok) return mapped;
  const webhookId = `${source.name}:${mapped.deliveryId}`;
  if (mapped.candidates.length === 0) {
    // Verified, and nothing agents hear (GitHub's ping when a hook is created): acknowledged, not logged.
    log("source.acknowledged", { status: "accepted", sourceName: source.name, webhookId, events: 0 });
    return { ok: true, mode: "source", accepted: [] };
  }
  const message = await webhookMessage({
    sender: senderOf(source),
    webhookId,
    headers: request.headers,
    body,
    shapes: mapped.shapes,
    expiresAt:
      verified.timestamp !== undefined && "toleranceSeconds" in source.verify
        ? expiryOf(verified.timestamp, source.verify.toleranceSeconds)
        : started + UNSIGNED_WINDOW_SECONDS * 1000,
  });
  return accept(
    env,
    registry,
    {
      sender: senderOf(source),
      message,
      candidates: mapped.candidates,
      mode: "source",
      numbered: mapped.candidates.length > 1,
      logFields: {
        webhookId,
        sourceName: source.name,
        ...(verified.keyIndex > 0 ? { secretIndex: verified.keyIndex } : {}),
      },
    },
    started,
  );
}
