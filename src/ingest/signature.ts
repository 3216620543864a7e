// Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over
// `${id}.${timestamp}.${body}`, base64, `v1,` prefixed, several space-separated values for rotation.

export interface WebhookHeaders {
  id: string | null;
  timestamp: string | null;
  signature: string | null;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

const encoder = new TextEncoder();

/** Splits a `WEBHOOK_SECRET` value into keys: several `whsec_…` secrets may be listed for rotation. */
export function parseSecrets(value: string): Uint8Array<ArrayBuffer>[] {
  return value
    .split(/[\s,]+/)
    .filter((s) => s.length > 0)
    .map((s) => base64ToBytes(s.startsWith("whsec_") ? s.slice("whsec_".length) : s));
}

function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function signedContent(id: string, timestamp: string, body: Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = encoder.encode(`${id}.${timestamp}.`);
  const content = new Uint8Array(prefix.length + body.length);
  content.set(prefix, 0);
  content.set(body, prefix.length);
  return content;
}

function importKey(secret: Uint8Array<ArrayBuffer>, usage: "sign" | "verify"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

/** Signs a payload as a Standard Webhooks sender would; used by tests, `npm run send` and the benchmarks. */
export async function sign(secret: string, id: string, timestamp: number, body: string | Uint8Array): Promise<string> {
  const [key] = parseSecrets(secret);
  if (!key) throw new Error("empty webhook secret");
  const raw = typeof body === "string" ? encoder.encode(body) : body;
  const mac = await crypto.subtle.sign("HMAC", await importKey(key, "sign"), signedContent(id, String(timestamp), raw));
  return `v1,${bytesToBase64(new Uint8Array(mac))}`;
}

/**
 * Verifies the webhook headers against the raw body. `crypto.subtle.verify` compares in constant time.
 * `nowSeconds` is injectable so the spec's fixed test vector can be checked.
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

  const candidates: Uint8Array<ArrayBuffer>[] = [];
  for (const part of signature.split(" ")) {
    const [version, value] = part.split(",", 2);
    if (version !== "v1" || !value) continue;
    try {
      candidates.push(base64ToBytes(value));
    } catch {
      // not base64: cannot match, try the others
    }
  }
  if (candidates.length === 0) return { ok: false, reason: "no v1 signature in webhook-signature" };

  const content = signedContent(id, timestamp, body);
  for (const secret of secrets) {
    const key = await importKey(secret, "verify");
    for (const candidate of candidates) {
      if (await crypto.subtle.verify("HMAC", key, candidate, content)) return { ok: true };
    }
  }
  return { ok: false, reason: "no signature matches" };
}
