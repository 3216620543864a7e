// Ids of the events agentwire derives (agent emits, workflow outcomes): HMAC-SHA256 of their inputs
// under a server key. The same inputs give the same id, so a retry cannot publish twice; without the
// key nobody can predict an id, so an outside sender cannot take one first.
const encoder = new TextEncoder();

/** Domain label for the fallback key, so it is never the same MAC as anything else made from ADMIN_TOKEN. */
const FALLBACK_LABEL = "agentwire/event-id-key/v1";

const keys = new Map<string, Promise<CryptoKey>>();

const hmacKey = (raw: BufferSource) =>
  crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);

/**
 * The key for derived ids: `EVENT_ID_SECRET` when set, otherwise HMAC-SHA256(ADMIN_TOKEN, label).
 * Never WEBHOOK_SECRET: every sender knows that one. Cached per isolate.
 */
export function eventIdKey(env: { EVENT_ID_SECRET?: string | undefined; ADMIN_TOKEN: string }): Promise<CryptoKey> {
  const secret = env.EVENT_ID_SECRET?.trim();
  const cacheKey = secret ? `secret:${secret}` : `admin:${env.ADMIN_TOKEN}`;
  let key = keys.get(cacheKey);
  if (!key) {
    key = secret
      ? hmacKey(encoder.encode(secret))
      : hmacKey(encoder.encode(env.ADMIN_TOKEN)).then(async (admin) =>
          hmacKey(await crypto.subtle.sign("HMAC", admin, encoder.encode(FALLBACK_LABEL))),
        );
    keys.set(cacheKey, key);
  }
  return key;
}

/** `<prefix>_` and 128 bits of HMAC-SHA256 over the parts (JSON-encoded, so no two lists collide). */
export async function derivedId(key: CryptoKey, prefix: string, parts: readonly (string | number)[]): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(JSON.stringify(parts)));
  const hex = [...new Uint8Array(mac).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${prefix}_${hex}`;
}
