// The event catalog: each event type and the zod schema of its `data`. Ingest and agent emits are
// both checked against it, so nothing enters the log that the catalog does not describe.
import type { z } from "zod";

export type Catalog = Readonly<Record<string, z.ZodType>>;

export function defineCatalog<const C extends Catalog>(catalog: C): C {
  return catalog;
}

/** The parsed `data` of event type T, or unknown for a type outside the catalog (a wildcard). */
export type DataOf<C extends Catalog, T> = T extends keyof C ? z.output<C[T]> : unknown;

export type ValidateResult =
  | { ok: true; data: unknown }
  | { ok: false; code: "unknown_type" | "invalid_data"; message: string; issues?: z.core.$ZodIssue[] };

export function validateData(catalog: Catalog, type: string, data: unknown): ValidateResult {
  const schema = Object.hasOwn(catalog, type) ? catalog[type] : undefined;
  if (!schema) return { ok: false, code: "unknown_type", message: `unknown event type "${type}"` };
  const parsed = schema.safeParse(data);
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
