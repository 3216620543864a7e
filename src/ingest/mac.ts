// The primitives every webhook signature scheme shares: HMAC-SHA256, a comparison that takes the
// same time wherever two MACs differ, the encodings senders use (base64, hex), and a sender's name.
const encoder = new TextEncoder();

/** HMAC-SHA256 output length: a candidate of any other length cannot match. */
export const MAC_BYTES = 32;

export function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Lower- or upper-case hex to bytes; undefined when it is not hex of whole bytes. */
export function hexToBytes(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

export const bytesToHex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

/** `prefix` (text) followed by `body` (bytes): what most schemes sign. */
export function concat(prefix: string, body: Uint8Array): Uint8Array<ArrayBuffer> {
  const head = encoder.encode(prefix);
  const content = new Uint8Array(head.length + body.length);
  content.set(head, 0);
  content.set(body, head.length);
  return content;
}

export async function hmacSha256(secret: Uint8Array<ArrayBuffer>, content: Uint8Array<ArrayBuffer>) {
  const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, content));
}

/** Compares two MACs without an early exit, so the time taken says nothing about where they differ. */
export function equalInConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false; // lengths are public: every MAC is 32 bytes
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Names the sender by the secret that verified it: a hash, so the secret itself is never stored or logged. */
export async function senderOf(secret: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", concat("agentwire/webhook-sender/v1\u0000", secret)),
  );
  return bytesToHex(digest.slice(0, 8));
}
