// One attempt to deliver one event to one destination over HTTP, and what it means for the retry:
// 2xx delivered; 408, 429, 5xx, a timeout or a network error retried (honouring Retry-After); any
// other 4xx, a redirect to another origin or a bad configuration dead-lettered at once. Safe by
// construction: https only (http to a loopback address for local receivers), redirects followed only
// within the same origin, response bodies read up to a cap, and no URL, header or secret in any log.
import type { Envelope } from "../bus/envelope";
import { bytesToBase64, hmacSha256 } from "../ingest/mac";
import { parseSecrets } from "../ingest/signature";
import type { Destination } from "./define";

/** What the receiver answered, kept with the attempt: enough to debug, never a whole page. */
export const EXCERPT_BYTES = 1024;
const MAX_REDIRECTS = 3;
/** A Retry-After past this is capped: the queue retries sooner and asks again. */
const MAX_RETRY_AFTER_SECONDS = 3600;

export interface Delivered {
  ok: true;
  /** Unset URL: the destination is off here; nothing was sent. */
  skipped?: string;
  status?: number;
  latencyMs: number;
  excerpt?: string;
  webhookId: string;
}
export interface Undelivered {
  ok: false;
  message: string;
  retryable: boolean;
  delaySeconds?: number;
  /** Whether the receiver looked down (counts toward opening the circuit): not a 4xx it chose. */
  receiverDown: boolean;
  status?: number;
  latencyMs: number;
  excerpt?: string;
  webhookId: string;
}
export type DeliveryResult = Delivered | Undelivered;

type Fetch = (input: Request) => Promise<Response>;
const encoder = new TextEncoder();

const read = (env: Env, name: string): string | undefined => {
  const value = (env as unknown as Record<string, unknown>)[name];
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
};

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** The destination's URL from its env var: a problem to name, or nothing when unset (off here). */
export function targetOf(env: Env, d: Destination): { url?: URL; problem?: string } {
  const raw = read(env, d.url);
  if (raw === undefined) return {};
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: `${d.url} is not a URL` };
  }
  if (url.username || url.password)
    return { problem: `${d.url} carries credentials; put them in a header or the path` };
  if (url.protocol === "https:") return { url };
  if (url.protocol === "http:" && LOOPBACK.test(url.hostname)) return { url };
  return { problem: `${d.url} must be https (http only to a loopback address)` };
}

/** Stable across retries and replays of the same (destination, event): the receiver's idempotency key. */
export async function webhookIdOf(d: Destination, event: Envelope): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(`${d.name}\n${event.source}\n${event.id}`));
  const hex = [...new Uint8Array(digest).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `msg_${hex}`;
}

/** The request body and headers in the destination's format, or the configuration problem. */
async function requestOf(
  env: Env,
  d: Destination,
  event: Envelope,
  webhookId: string,
  nowSeconds: number,
): Promise<{ body: string; headers: Record<string, string> } | { problem: string }> {
  if (d.format.kind === "slack") {
    let message: unknown;
    try {
      message = d.format.template(event);
    } catch (error) {
      return { problem: `the template failed: ${error instanceof Error ? error.message : String(error)}` };
    }
    return { body: JSON.stringify(message), headers: { "content-type": "application/json" } };
  }
  const secret = read(env, d.format.secret);
  if (secret === undefined) return { problem: `${d.format.secret} is not set` };
  let keys: Uint8Array<ArrayBuffer>[];
  try {
    keys = parseSecrets(secret);
  } catch (error) {
    return { problem: `${d.format.secret}: ${error instanceof Error ? error.message : String(error)}` };
  }
  const body = JSON.stringify(event);
  const signed = new Uint8Array(encoder.encode(`${webhookId}.${nowSeconds}.${body}`));
  // Every configured key signs, so a receiver rotating its secret accepts either until it is done.
  const signatures = await Promise.all(keys.map(async (k) => `v1,${bytesToBase64(await hmacSha256(k, signed))}`));
  return {
    body,
    headers: {
      "content-type": "application/cloudevents+json",
      "webhook-id": webhookId,
      "webhook-timestamp": String(nowSeconds),
      "webhook-signature": signatures.join(" "),
    },
  };
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), capped; undefined if absent or bad. */
export function retryAfterSeconds(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  const seconds = /^\d+$/.test(trimmed) ? Number(trimmed) : (Date.parse(trimmed) - now) / 1000;
  if (!Number.isFinite(seconds)) return undefined;
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(0, Math.ceil(seconds)));
}

/** The start of a response body, as text, reading no more than the cap (the rest is cancelled). */
async function excerptOf(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all.slice(0, EXCERPT_BYTES));
}

function resolve(location: string | null, base: URL): URL | undefined {
  if (location === null) return undefined;
  try {
    return new URL(location, base);
  } catch {
    return undefined;
  }
}

/**
 * One attempt. `fetcher` is the Worker's fetch (tests pass their own receiver); `timeoutMs` covers
 * the whole attempt, redirects and the response's excerpt included.
 */
export async function deliver(
  env: Env,
  d: Destination,
  event: Envelope,
  fetcher: Fetch = (r) => fetch(r),
  timeoutMs = d.timeoutMs ?? 10_000,
): Promise<DeliveryResult> {
  const started = Date.now();
  const webhookId = await webhookIdOf(d, event);
  const latency = () => Date.now() - started;
  const refuse = (message: string, extra: Partial<Undelivered> = {}): Undelivered => ({
    ok: false,
    message,
    retryable: false,
    receiverDown: false,
    latencyMs: latency(),
    webhookId,
    ...extra,
  });

  const target = targetOf(env, d);
  if (target.problem) return refuse(target.problem);
  if (!target.url) return { ok: true, skipped: `${d.url} is not set`, latencyMs: 0, webhookId };
  const request = await requestOf(env, d, event, webhookId, Math.floor(started / 1000));
  if ("problem" in request) return refuse(request.problem);

  let url = target.url;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    for (let hop = 0; ; hop++) {
      const res = await fetcher(
        new Request(url, { method: "POST", headers: request.headers, body: request.body, redirect: "manual", signal }),
      );
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel();
        const next = resolve(res.headers.get("location"), url);
        if (!next || next.origin !== target.url.origin) {
          return refuse(`HTTP ${res.status}: a redirect to another origin is not followed`, { status: res.status });
        }
        if (hop === MAX_REDIRECTS) return refuse(`HTTP ${res.status}: more than ${MAX_REDIRECTS} redirects`);
        url = next;
        continue;
      }
      const excerpt = await excerptOf(res);
      if (res.ok) return { ok: true, status: res.status, latencyMs: latency(), excerpt, webhookId };
      const transient = res.status === 408 || res.status === 429 || res.status >= 500;
      const delaySeconds = retryAfterSeconds(res.headers.get("retry-after"));
      return {
        ok: false,
        message: `HTTP ${res.status}${excerpt ? `: ${excerpt.slice(0, 200)}` : ""}`,
        retryable: transient,
        ...(transient && delaySeconds !== undefined ? { delaySeconds } : {}),
        receiverDown: transient,
        status: res.status,
        latencyMs: latency(),
        excerpt,
        webhookId,
      };
    }
  } catch (error) {
    const timedOut = signal.aborted;
    // A network error may quote the URL, whose path can be the secret (Slack's is): never kept.
    const said = (error instanceof Error ? error.message : String(error)).replaceAll(target.url.href, "<url>");
    const message = timedOut ? `no answer within ${timeoutMs} ms` : `could not connect: ${said}`;
    return { ok: false, message, retryable: true, receiverDown: true, latencyMs: latency(), webhookId };
  }
}
