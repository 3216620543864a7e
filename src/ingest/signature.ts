// Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over
// `${id}.${timestamp}.${body}`, base64, `v1,` prefixed, several space-separated values for rotation.
// Bounded work per request: one HMAC per secret (at most 4), at most 8 candidates compared to it.
import { base64ToBytes, bytesToBase64, concat, equalInConstantTime, hmacSha256, MAC_BYTES, senderOf } from "./mac";

export interface WebhookHeaders {
  id: string | null;
  timestamp: string | null;
  signature: string | null;
}

export type VerifyResult = { ok: true; sender: string } | { ok: false; reason: string };

const encoder = new TextEncoder();

/** At most this many signatures per request: rotation needs two or three, a flood needs thousands. */
export const MAX_SIGNATURES = 8;
/** At most this many configured secrets: each costs one HMAC over the body per request. */
export const MAX_SECRETS = 4;

/** Splits a `WEBHOOK_SECRET` value into keys: up to MAX_SECRETS `whsec_…` secrets, for rotation. */
export function parseSecrets(value: string): Uint8Array<ArrayBuffer>[] {
  const listed = value.split(/[\s,]+/).filter((s) => s.length > 0);
  if (listed.length > MAX_SECRETS) {
    throw new Error(`WEBHOOK_SECRET lists ${listed.length} secrets; at most ${MAX_SECRETS} are allowed`);
  }
  return listed.map((s) => base64ToBytes(s.startsWith("whsec_") ? s.slice("whsec_".length) : s));
}

function signedContent(id: string, timestamp: string, body: Uint8Array): Uint8Array<ArrayBuffer> {
  return concat(`${id}.${timestamp}.`, body);
}

/** Signs a payload as a Standard Webhooks sender would; used by tests, `npm run send` and the benchmarks. */
export async function sign(secret: string, id: string, timestamp: number, body: string | Uint8Array): Promise<string> {
  const [key] = parseSecrets(secret);
  if (!key) throw new Error("empty webhook secret");
  const raw = typeof body === "string" ? encoder.encode(body) : body;
  return `v1,${bytesToBase64(await hmacSha256(key, signedContent(id, String(timestamp), raw)))}`;
}

/**
 * Verifies the webhook headers against the raw body. The MAC is computed once per secret and each
 * candidate compared to it in constant time, so thousands of bogus candidates cost nothing: they are
 * refused above MAX_SIGNATURES anyway. `nowSeconds` is injectable for the spec's fixed test vector.
 * On success, `sender` identifies the secret that verified the request.
 */
export async function verify(
  secrets: readonly Uint8Array<ArrayBuffer>[],
  headers: WebhookHeaders,
  body: Uint8Array,
  toleranceSeconds: number,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): Promise<VerifyResult> {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) {
    return { ok: false, reason: "missing webhook-id, webhook-timestamp or webhook-signature header" };
  }
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "webhook-timestamp is not an integer" };
  const skew = nowSeconds - Number(timestamp);
  if (skew > toleranceSeconds) return { ok: false, reason: "webhook-timestamp is too old" };
  if (skew < -toleranceSeconds) return { ok: false, reason: "webhook-timestamp is in the future" };

  const parts = signature.split(" ").filter((p) => p.length > 0);
  if (parts.length > MAX_SIGNATURES) {
    return { ok: false, reason: `webhook-signature holds more than ${MAX_SIGNATURES} signatures` };
  }
  const candidates: Uint8Array[] = [];
  for (const part of parts) {
    const [version, value] = part.split(",", 2);
    if (version !== "v1" || !value) continue;
    try {
      const bytes = base64ToBytes(value);
      if (bytes.length === MAC_BYTES) candidates.push(bytes);
    } catch {
      // not base64: cannot match, try the others
    }
  }
  if (candidates.length === 0) return { ok: false, reason: "no v1 signature in webhook-signature" };

  const content = signedContent(id, timestamp, body);
  for (const secret of secrets.slice(0, MAX_SECRETS)) {
    const mac = await hmacSha256(secret, content);
    if (candidates.some((candidate) => equalInConstantTime(mac, candidate))) {
      return { ok: true, sender: await senderOf(secret) };
    }
  }
  return { ok: false, reason: "no signature matches" };
}
