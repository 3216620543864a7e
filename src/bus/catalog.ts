// The event catalog: each event type, who may publish it, and the zod schema of its `data`. Ingest,
// agent emits and workflow outcomes are all checked against it, so nothing enters the log that the
// catalog does not describe, and no outside sender can say what only an agent or a workflow may say.
import type { z } from "zod";
import type { PublisherViolation } from "../db/violations";
import { agentSource } from "./subscriptions";

/**
 * `external`: may arrive from outside (a webhook). `internal`: published only by the agents or
 * workflows that declare it in their `emits`; ingest refuses it.
 */
export type Publishers = "external" | "internal";

export interface CatalogEntry<S extends z.ZodType = z.ZodType> {
  publishers: Publishers;
  /** What agents, the log and the models see is this schema's output: `z.object` drops undeclared keys, `z.strictObject` refuses them. */
  schema: S;
  /** A valid `data`, shown by the console's "send a test event" and the API reference. */
  example?: z.input<S>;
}

export type Catalog = Readonly<Record<string, CatalogEntry>>;

/** A type outside senders may publish. */
export const external = <S extends z.ZodType>(schema: S, options: { example?: z.input<S> } = {}): CatalogEntry<S> => ({
  publishers: "external",
  schema,
  ...options,
});
/** A type only its declaring agents or workflows may publish. */
export const internal = <S extends z.ZodType>(schema: S, options: { example?: z.input<S> } = {}): CatalogEntry<S> => ({
  publishers: "internal",
  schema,
  ...options,
});

/**
 * The app's event catalog: every type agentwire accepts or publishes, who may publish it, and the zod
 * schema of its data (what agents, the log and models see is the data as this schema parses it).
 *
 * @example
 * export const catalog = defineCatalog({
 *   "order.placed": external(z.object({ orderId: z.string(), amount: z.number() })), // may arrive by webhook
 *   "fraud.assessed": internal(z.object({ orderId: z.string(), risk: z.enum(["low", "high"]) })), // agents only
 * });
 */
export function defineCatalog<const C extends Catalog>(catalog: C): C {
  return catalog;
}

/** The parsed `data` of event type T, or unknown for a type outside the catalog (a wildcard). */
export type DataOf<C extends Catalog, T> = T extends keyof C ? z.output<C[T]["schema"]> : unknown;

/** The catalog entry of a type; own keys only, so "constructor" or "__proto__" are unknown types. */
export const entryOf = (catalog: Catalog, type: string): CatalogEntry | undefined =>
  Object.hasOwn(catalog, type) ? catalog[type] : undefined;

export type ValidateResult =
  | { ok: true; data: unknown }
  | { ok: false; code: "unknown_type" | "invalid_data"; message: string; issues?: z.core.$ZodIssue[] };

/** Validates `data` against its type's schema; on success `data` is the schema's output, never the input. */
export function validateData(catalog: Catalog, type: string, data: unknown): ValidateResult {
  const entry = entryOf(catalog, type);
  if (!entry) return { ok: false, code: "unknown_type", message: `unknown event type "${type}"` };
  const parsed = entry.schema.safeParse(data);
  if (!parsed.success) {
    return {
      ok: false,
      code: "invalid_data",
      message: `data does not match the schema of "${type}"`,
      issues: parsed.error.issues,
    };
  }
  return { ok: true, data: parsed.data };
}

// ---- who may publish each type ----

export const RESERVED_SOURCE_PREFIX = "/agentwire/";

/** The source of every event a workflow's coordinator publishes. */
export const workflowSource = (workflow: string) => `/agentwire/workflows/${workflow}`;

/**
 * Whether a source falls in the reserved namespace, however it is spelled: case, percent-encoding,
 * repeated slashes and dot segments are normalized first, so "/AgentWire//agents/x" is reserved too.
 */
export function isReservedSource(source: string): boolean {
  let text = source;
  try {
    text = decodeURIComponent(source);
  } catch {
    // not percent-decodable: judge the raw text
  }
  const path = text
    .toLowerCase()
    .replace(/\\/g, "/")
    .replace(/\/+/g, "/")
    .split("/")
    .filter((segment) => segment !== ".")
    .join("/");
  return path === "/agentwire" || path.startsWith(RESERVED_SOURCE_PREFIX) || path === "agentwire";
}

/** What each of agentwire's own sources declares it publishes. */
export type Declarations = ReadonlyMap<string, ReadonlySet<string>>;

export function declarations(
  agents: readonly { name: string; emits: readonly string[] }[],
  workflows: readonly { name: string; publishes: readonly string[] }[],
): Declarations {
  return new Map([
    ...agents.map((a) => [agentSource(a.name), new Set(a.emits)] as const),
    ...workflows.map((w) => [workflowSource(w.name), new Set(w.publishes)] as const),
  ]);
}

export type PublishCheck =
  { ok: true } | { ok: false; kind: "undeclared_publisher" | "unknown_publisher" | "internal_type"; detail: string };

/**
 * Whether `source` may publish `type`: agentwire's own sources only what they declare, outside
 * sources only external types. Exact source strings: an outside spelling of a reserved source never
 * passes as agentwire's own, and ingest refuses it before it gets here.
 */
export function checkPublisher(
  catalog: Catalog,
  declared: Declarations,
  event: { source: string; type: string },
): PublishCheck {
  const { source, type } = event;
  const own = declared.get(source);
  if (own) {
    if (own.has(type)) return { ok: true };
    return { ok: false, kind: "undeclared_publisher", detail: `${source} does not declare "${type}"` };
  }
  if (isReservedSource(source)) {
    return {
      ok: false,
      kind: "unknown_publisher",
      detail: `${source} is reserved and belongs to no agent or workflow`,
    };
  }
  if (entryOf(catalog, type)?.publishers === "external") return { ok: true };
  const by = [...declared].filter(([, types]) => types.has(type)).map(([s]) => s);
  const who = by.length > 0 ? by.join(", ") : "no registered publisher";
  return { ok: false, kind: "internal_type", detail: `"${type}" is internal (published by ${who}), not by ${source}` };
}

export type { PublisherViolation };

/** Splits events into those their publishers may publish and the violations of the rest. */
export function screenPublishers<E extends { source: string; id: string; type: string; correlationid: string }>(
  mayPublish: (event: E) => PublishCheck,
  events: readonly E[],
  detectedBy: PublisherViolation["detectedBy"],
): { allowed: E[]; refused: PublisherViolation[] } {
  const allowed: E[] = [];
  const refused: PublisherViolation[] = [];
  for (const event of events) {
    const check = mayPublish(event);
    if (check.ok) allowed.push(event);
    else {
      const { source, id, type, correlationid } = event;
      refused.push({
        source,
        id,
        type,
        correlationId: correlationid,
        kind: check.kind,
        detail: check.detail,
        detectedBy,
      });
    }
  }
  return { allowed, refused };
}
