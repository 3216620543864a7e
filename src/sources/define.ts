// `defineSource`: a system that sends its own webhooks, not CloudEvents (GitHub, Stripe, Shopify, …),
// declared as data next to the agents: how its requests are verified and with which secrets, which
// delivery id makes a resend a duplicate, and how one request becomes one or more events.
import { z } from "zod";

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const envName = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{0,63}$/, "must be an env var name in SCREAMING_CASE")
  .meta({ description: "The env var (a secret) holding the key; several values, comma or space separated, rotate it" });
const tolerance = z.number().int().min(1).max(3600).default(300);

/**
 * How a source's requests are verified, each scheme as its sender documents it:
 * - `standard-webhooks`: `webhook-id`, `webhook-timestamp`, `webhook-signature` (secret `whsec_…`).
 * - `github`: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
 * - `stripe`: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` (several v1 allowed).
 * - `shopify`: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>`.
 * - `bearer`: `Authorization: Bearer <token>`, for systems that can do nothing better.
 * Timestamped schemes refuse a request more than `toleranceSeconds` (default 300) old or ahead.
 */
export const VerifySchema = z.discriminatedUnion("scheme", [
  z.object({ scheme: z.literal("standard-webhooks"), secret: envName, toleranceSeconds: tolerance }),
  z.object({ scheme: z.literal("github"), secret: envName }),
  z.object({ scheme: z.literal("stripe"), secret: envName, toleranceSeconds: tolerance }),
  z.object({ scheme: z.literal("shopify"), secret: envName }),
  z.object({ scheme: z.literal("bearer"), secret: envName }),
]);
export type Verify = z.output<typeof VerifySchema>;
export type Scheme = Verify["scheme"];

/** One event a request becomes; agentwire adds specversion, source (`/sources/<name>`) and datacontenttype. */
export const MappedEventSchema = z.strictObject({
  type: z.string(),
  id: z.string(),
  time: z.string().optional(),
  subject: z.string().optional(),
  correlationid: z.string().optional(),
  /** Parsed by the type's catalog schema: only what it declares goes on. */
  data: z.unknown(),
});
export type MappedEvent = z.input<typeof MappedEventSchema>;

/** The request's headers, read only through `get`: what a mapping reads is what makes a resend the same. */
export interface SourceHeaders {
  get(name: string): string | null;
}

export interface SourceRequest<B> {
  headers: SourceHeaders;
  /** The JSON body as the source's `body` schema parsed it. */
  body: B;
}

export interface SourceSpec<S extends z.ZodType> {
  /** kebab-case; the URL is POST /v1/sources/<name> and the events' source `/sources/<name>`. */
  name: string;
  description?: string;
  verify: z.input<typeof VerifySchema>;
  /** The JSON body's schema; a body that fails it is a 400. Default: any JSON. */
  body?: S;
  /** The sender's id for this delivery, the same on its retries: a resend is answered as a duplicate. */
  deliveryId: (request: SourceRequest<z.output<S>>) => string | null | undefined;
  /** The events this request becomes; none acknowledges it (e.g. GitHub's ping) and logs nothing. */
  toEvents: (request: SourceRequest<z.output<S>>) => MappedEvent | readonly MappedEvent[];
}

/** The erased form the receiver works with. */
export interface Source {
  kind: "source";
  name: string;
  description: string;
  verify: Verify;
  body: z.ZodType;
  deliveryId: (request: SourceRequest<unknown>) => string | null | undefined;
  toEvents: (request: SourceRequest<unknown>) => MappedEvent | readonly MappedEvent[];
}

/**
 * A webhook source, checked when the worker loads (a bad name or scheme fails the deploy).
 *
 * @example
 * export const github = defineSource({
 *   name: "github",
 *   verify: { scheme: "github", secret: "GITHUB_WEBHOOK_SECRET" },
 *   body: z.looseObject({ action: z.string().optional() }),
 *   deliveryId: ({ headers }) => headers.get("x-github-delivery"),
 *   toEvents: ({ headers, body }) => ({ type: `github.${headers.get("x-github-event")}`, id: ..., data: body }),
 * });
 */
export function defineSource<S extends z.ZodType = z.ZodUnknown>(spec: SourceSpec<S>): Source {
  if (!NAME.test(spec.name)) throw new Error(`source name "${spec.name}" is not kebab-case`);
  const verify = VerifySchema.safeParse(spec.verify);
  if (!verify.success) {
    throw new Error(`source "${spec.name}": invalid verify: ${z.prettifyError(verify.error)}`);
  }
  return {
    kind: "source",
    name: spec.name,
    description: spec.description ?? "",
    verify: verify.data,
    body: spec.body ?? z.unknown(),
    deliveryId: spec.deliveryId as Source["deliveryId"],
    toEvents: spec.toEvents as Source["toEvents"],
  };
}
