// `defineDestination`: a system agentwire tells about what happened, declared as data next to the
// agents: the event types it receives (exact, prefix wildcard, or "*", narrowed by a filter), the env
// var holding its URL, and its format — CloudEvents signed with Standard Webhooks headers under the
// destination's own secret (the default), or a Slack-compatible message built by a template.
import { z } from "zod";
import type { Envelope } from "../bus/envelope";
import type { Pattern } from "../bus/subscriptions";

const envName = z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, "must be an env var name in SCREAMING_CASE");

/** A Slack incoming-webhook message (Slack, Mattermost, Discord's /slack endpoint, …). */
export interface SlackMessage {
  text: string;
  blocks?: unknown[];
  [field: string]: unknown;
}

export type DestinationFormat =
  | {
      kind: "cloudevents";
      /** The env var (a secret) holding the outbound `whsec_…` key; comma-separated values sign with each. */
      secret: string;
    }
  | { kind: "slack"; template: (event: Envelope) => SlackMessage };

export interface DestinationSpec {
  /** kebab-case, unique among agents and destinations; its deliveries, dead letters and pause use it. */
  name: string;
  description: string;
  /** Exact types, prefix wildcards ("order.*") or "*". */
  types: readonly Pattern[];
  /** Optional: receive only the events it returns true for. */
  filter?: (event: Envelope) => boolean;
  /** The env var holding the URL: https (http only to a loopback address, for local receivers). */
  url: string;
  format: DestinationFormat;
  /** How long one attempt may take, response included. Default: DESTINATION_TIMEOUT_SECONDS (10 s). */
  timeoutMs?: number;
  /** Consecutive failed attempts that open the circuit. Default: DESTINATION_CIRCUIT_FAILURES (5). */
  circuitFailures?: number;
  /** How long an open circuit waits before one delivery probes. Default: DESTINATION_CIRCUIT_COOLDOWN_SECONDS (30 s). */
  circuitCooldownMs?: number;
}

export interface Destination extends DestinationSpec {
  kind: "destination";
}

/** A destination's limits: its own, else the deployment's settings. */
export interface Limits {
  timeoutMs: number;
  circuitFailures: number;
  circuitCooldownMs: number;
}

const Spec = z.object({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, "must be kebab-case"),
  description: z.string().min(1),
  types: z.array(z.string().min(1)).min(1, "lists no event type"),
  url: envName,
  format: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("cloudevents"), secret: envName }),
    z.object({
      kind: z.literal("slack"),
      template: z.custom<(e: Envelope) => SlackMessage>((v) => typeof v === "function"),
    }),
  ]),
  timeoutMs: z.number().int().min(100).max(30_000).optional(),
  circuitFailures: z.number().int().min(1).max(1000).optional(),
  circuitCooldownMs: z.number().int().min(100).max(3_600_000).optional(),
});

/**
 * A destination, checked when the module loads.
 *
 * @example
 * export const fulfilment = defineDestination({
 *   name: "fulfilment",
 *   description: "The warehouse system: ships confirmed orders, releases rejected ones.",
 *   types: ["order.confirmed", "order.rejected"],
 *   url: "FULFILMENT_WEBHOOK_URL",
 *   format: { kind: "cloudevents", secret: "FULFILMENT_WEBHOOK_SECRET" },
 * });
 */
export function defineDestination(spec: DestinationSpec): Destination {
  const parsed = Spec.safeParse(spec);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "spec"} ${i.message}`).join("; ");
    throw new Error(`destination "${spec.name}": ${problems}`);
  }
  return { kind: "destination", ...parsed.data, format: spec.format, ...(spec.filter ? { filter: spec.filter } : {}) };
}
