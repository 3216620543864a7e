// A source's keys, from the env var its definition names: one to four secrets, comma or space
// separated so a sender's secret can be rotated (both accepted until the old one is removed).
import { z } from "zod";
import { MAX_SECRETS, parseSecrets } from "../ingest/signature";
import type { Scheme, Source } from "./define";

const split = (value: string) => value.split(/[\s,]+/).filter((s) => s.length > 0);
const encoder = new TextEncoder();

/** Secrets agentwire shares with one sender (GitHub's, Stripe's `whsec_…`, Shopify's, a bearer token). */
export const SourceSecret = z
  .string({ error: "is not set" })
  .trim()
  .min(1, "is not set")
  .refine((v) => split(v).length <= MAX_SECRETS, `lists more than ${MAX_SECRETS} secrets`)
  .refine((v) => split(v).every((s) => s.length >= 16), "holds a secret shorter than 16 characters");

/** Standard Webhooks secrets are `whsec_` and base64; the other schemes key their HMAC with the text itself. */
const StandardSecret = SourceSecret.refine(
  (v) =>
    split(v).every((s) => {
      try {
        return atob(s.replace(/^whsec_/, "")).length >= 16;
      } catch {
        return false;
      }
    }),
  "is not whsec_ followed by base64 of 16 or more bytes",
);

export type SourceKeys =
  { ok: true; keys: Uint8Array<ArrayBuffer>[] } | { ok: false; name: string; problem: string; fix: string };

/** The keys of a source, read from the env at each request (a secret put takes effect at once). */
export function sourceKeys(env: Env, source: Source): SourceKeys {
  const name = source.verify.secret;
  const raw = (env as unknown as Record<string, unknown>)[name];
  const parsed = (source.verify.scheme === "standard-webhooks" ? StandardSecret : SourceSecret).safeParse(raw);
  if (!parsed.success) {
    const problem = parsed.error.issues[0]?.message ?? "is invalid";
    const fix = `\`wrangler secret put ${name}\` (locally: add it to .dev.vars): the secret of source "${source.name}"`;
    return { ok: false, name, problem, fix };
  }
  return { ok: true, keys: keysOf(source.verify.scheme, parsed.data) };
}

export function keysOf(scheme: Scheme, value: string): Uint8Array<ArrayBuffer>[] {
  if (scheme === "standard-webhooks") return parseSecrets(value);
  return split(value).map((s) => new Uint8Array(encoder.encode(s)));
}
