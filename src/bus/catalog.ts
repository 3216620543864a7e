// The event catalog: each event type, who may publish it, and the zod schema of its `data`. Ingest,
// agent emits and workflow outcomes are all checked against it, so nothing enters the log that the
// catalog does not describe, and no outside sender can say what only an agent or a workflow may say.
import type { z } from "zod";

/**
 * `external`: may arrive from outside (a webhook). `internal`: published only by the agents or
 * workflows that declare it in their `emits`; ingest refuses it.
 */
export type Publishers = "external" | "internal";

export interface CatalogEntry<S extends z.ZodType = z.ZodType> {
  publishers: Publishers;
  /** What agents, the log and the models see is this schema's output: `z.object` drops undeclared keys, `z.strictObject` refuses them. */
  schema: S;
}

export type Catalog = Readonly<Record<string, CatalogEntry>>;

/** A type outside senders may publish. */
export const external = <S extends z.ZodType>(schema: S): CatalogEntry<S> => ({ publishers: "external", schema });
/** A type only its declaring agents or workflows may publish. */
export const internal = <S extends z.ZodType>(schema: S): CatalogEntry<S> => ({ publishers: "internal", schema });

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
