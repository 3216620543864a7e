// Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over
// `${id}.${timestamp}.${body}`, base64, `v1,` prefixed, several space-separated values for rotation.
// Bounded work per request: one HMAC per secret (at most 4), at most 8 candidates compared to it.

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
/** HMAC-SHA256 output length: a candidate of any other length cannot match. */
const MAC_BYTES = 32;

/** Splits a `WEBHOOK_SECRET` value into keys: up to MAX_SECRETS `whsec_…` secrets, for rotation. */
export function parseSecrets(value: string): Uint8Array<ArrayBuffer>[] {
  const listed = value.split(/[\s,]+/).filter((s) => s.length > 0);
  if (listed.length > MAX_SECRETS) {
    throw new Error(`WEBHOOK_SECRET lists ${listed.length} secrets; at most ${MAX_SECRETS} are allowed`);
  }
  return listed.map((s) => base64ToBytes(s.startsWith("whsec_") ? s.slice("whsec_".length) : s));
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

function importKey(secret: Uint8Array<ArrayBuffer>, usage: "sign"): Promise<CryptoKey> {
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

/** Compares two MACs without an early exit, so the time taken says nothing about where they differ. */
function equalInConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false; // lengths are public: every MAC is 32 bytes
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Names the sender by the secret that verified it: a hash, so the secret itself is never stored or logged. */
async function senderOf(secret: Uint8Array<ArrayBuffer>): Promise<string> {
  const label = encoder.encode("agentwire/webhook-sender/v1\u0000");
  const input = new Uint8Array(label.length + secret.length);
  input.set(label, 0);
  input.set(secret, label.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", input));
  return [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
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
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await importKey(secret, "sign"), content));
    if (candidates.some((candidate) => equalInConstantTime(mac, candidate))) {
      return { ok: true, sender: await senderOf(secret) };
    }
  }
  return { ok: false, reason: "no signature matches" };
}
