// The signature schemes of the systems that send webhooks their own way, each verified over the raw
// body as its sender documents it, with one HMAC per configured key and every candidate compared in
// constant time. A timestamp is returned only when the scheme signs one.
import { base64ToBytes, concat, equalInConstantTime, hexToBytes, hmacSha256, MAC_BYTES } from "../ingest/mac";
import { MAX_SIGNATURES, verify as verifyStandard } from "../ingest/signature";
import type { Verify } from "./define";

export type SchemeResult = { ok: true; keyIndex: number; timestamp?: number } | { ok: false; reason: string };

type Keys = readonly Uint8Array<ArrayBuffer>[];

/** Verifies a request against a source's scheme and keys; `nowSeconds` is injectable for test vectors. */
export async function verifyScheme(
  verify: Verify,
  keys: Keys,
  headers: Headers,
  body: Uint8Array,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): Promise<SchemeResult> {
  switch (verify.scheme) {
    case "standard-webhooks":
      return standardWebhooks(keys, headers, body, verify.toleranceSeconds, nowSeconds);
    case "github":
      return github(keys, headers.get("x-hub-signature-256"), body);
    case "stripe":
      return stripe(keys, headers.get("stripe-signature"), body, verify.toleranceSeconds, nowSeconds);
    case "shopify":
      return shopify(keys, headers.get("x-shopify-hmac-sha256"), body);
    case "bearer":
      return bearer(keys, headers.get("authorization"));
  }
}

/** The index of the first key whose MAC of `content` equals a candidate, or -1. */
async function matchingKey(keys: Keys, content: Uint8Array<ArrayBuffer>, candidates: readonly Uint8Array[]) {
  for (const [i, key] of keys.entries()) {
    const mac = await hmacSha256(key, content);
    if (candidates.some((candidate) => equalInConstantTime(mac, candidate))) return i;
  }
  return -1;
}

const matched = (keyIndex: number, timestamp?: number): SchemeResult =>
  keyIndex < 0
    ? { ok: false, reason: "no signature matches" }
    : { ok: true, keyIndex, ...(timestamp === undefined ? {} : { timestamp }) };

async function standardWebhooks(keys: Keys, headers: Headers, body: Uint8Array, tolerance: number, now: number) {
  const webhook = {
    id: headers.get("webhook-id"),
    timestamp: headers.get("webhook-timestamp"),
    signature: headers.get("webhook-signature"),
  };
  // One key at a time, so the answer says which one verified (the sender of a rotation in progress).
  for (const [i, key] of keys.entries()) {
    const result = await verifyStandard([key], webhook, body, tolerance, now);
    if (result.ok) return matched(i, Number(webhook.timestamp));
    if (result.reason !== "no signature matches") return { ok: false, reason: result.reason } as const;
  }
  return matched(-1);
}

/** GitHub: `X-Hub-Signature-256: sha256=` and the hex HMAC-SHA256 of the body. */
async function github(keys: Keys, header: string | null, body: Uint8Array): Promise<SchemeResult> {
  if (!header) return { ok: false, reason: "missing X-Hub-Signature-256 header" };
  const mac = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim())?.[1];
  if (!mac) return { ok: false, reason: "X-Hub-Signature-256 is not sha256=<64 hex digits>" };
  return matched(await matchingKey(keys, concat("", body), [hexToBytes(mac) ?? new Uint8Array()]));
}

/**
 * Stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…][,v0=…]`, each v1 the HMAC-SHA256
 * of `${t}.${body}`; several v1 while Stripe rolls a secret, other schemes (v0) ignored.
 */
async function stripe(keys: Keys, header: string | null, body: Uint8Array, tolerance: number, now: number) {
  if (!header) return { ok: false, reason: "missing Stripe-Signature header" } as const;
  const pairs = header.split(",").map((part) => {
    const at = part.indexOf("=");
    return at < 0 ? ["", ""] : [part.slice(0, at).trim(), part.slice(at + 1).trim()];
  });
  const stamps = pairs.filter(([k]) => k === "t").map(([, v]) => v ?? "");
  const [t] = stamps;
  if (stamps.length !== 1 || t === undefined || !/^\d{1,12}$/.test(t)) {
    return { ok: false, reason: "Stripe-Signature needs exactly one t=<unix seconds>" } as const;
  }
  const v1 = pairs.filter(([k]) => k === "v1").map(([, v]) => v ?? "");
  if (v1.length > MAX_SIGNATURES) {
    return { ok: false, reason: `Stripe-Signature holds more than ${MAX_SIGNATURES} v1 signatures` } as const;
  }
  const candidates = v1.flatMap((hex) => {
    const bytes = hexToBytes(hex);
    return bytes?.length === MAC_BYTES ? [bytes] : [];
  });
  if (candidates.length === 0) return { ok: false, reason: "no v1 signature in Stripe-Signature" } as const;
  const skew = now - Number(t);
  if (skew > tolerance) return { ok: false, reason: "Stripe-Signature timestamp is too old" } as const;
  if (skew < -tolerance) return { ok: false, reason: "Stripe-Signature timestamp is in the future" } as const;
  return matched(await matchingKey(keys, concat(`${t}.`, body), candidates), Number(t));
}

/** Shopify: `X-Shopify-Hmac-Sha256` and the base64 HMAC-SHA256 of the body. */
async function shopify(keys: Keys, header: string | null, body: Uint8Array): Promise<SchemeResult> {
  if (!header) return { ok: false, reason: "missing X-Shopify-Hmac-Sha256 header" };
  let mac: Uint8Array;
  try {
    mac = base64ToBytes(header.trim());
  } catch {
    return { ok: false, reason: "X-Shopify-Hmac-Sha256 is not base64" };
  }
  if (mac.length !== MAC_BYTES) return { ok: false, reason: "X-Shopify-Hmac-Sha256 is not a SHA-256 HMAC" };
  return matched(await matchingKey(keys, concat("", body), [mac]));
}

/**
 * A shared token in `Authorization: Bearer …`, compared as SHA-256 digests in constant time, so
 * neither its content nor its length leaks through timing. It proves the sender, not the body.
 */
async function bearer(keys: Keys, header: string | null): Promise<SchemeResult> {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1];
  if (!token) return { ok: false, reason: "missing Authorization: Bearer <token>" };
  const digest = async (bytes: Uint8Array<ArrayBuffer>) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const given = await digest(new Uint8Array(new TextEncoder().encode(token)));
  for (const [i, key] of keys.entries()) {
    if (equalInConstantTime(given, await digest(key))) return matched(i);
  }
  return { ok: false, reason: "the token does not match" };
}
