// The shape check that structured outputs guarantee: types, required and extra properties, enums,
// items, $ref and anyOf. Numeric and length bounds are not enforced by the API (the SDK moves them
// into descriptions), so they are not checked here either: a confidence of 2 can come back.
export type JsonSchema = { [k: string]: unknown };

export function schemaMismatch(
  value: unknown,
  schema: JsonSchema,
  root: JsonSchema = schema,
  path = "$",
): string | undefined {
  const ref = schema.$ref;
  if (typeof ref === "string") {
    const name = ref.replace(/^#\/\$defs\//, "");
    const target = (root.$defs as Record<string, JsonSchema> | undefined)?.[name];
    return target ? schemaMismatch(value, target, root, path) : `${path}: unresolved ${ref}`;
  }
  if (Array.isArray(schema.anyOf)) {
    const fits = (schema.anyOf as JsonSchema[]).some((s) => !schemaMismatch(value, s, root, path));
    return fits ? undefined : `${path}: fits none of anyOf`;
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value))
    return `${path}: not one of ${JSON.stringify(schema.enum)}`;
  if ("const" in schema && schema.const !== value) return `${path}: not ${JSON.stringify(schema.const)}`;
  const type = schema.type;
  const types = Array.isArray(type) ? (type as string[]) : typeof type === "string" ? [type] : [];
  if (types.length > 0 && !types.some((t) => isType(value, t))) return `${path}: not ${types.join(" | ")}`;
  if (isType(value, "object") && schema.properties) {
    const obj = value as Record<string, unknown>;
    const props = schema.properties as Record<string, JsonSchema>;
    for (const key of (schema.required as string[] | undefined) ?? []) {
      if (!(key in obj)) return `${path}.${key}: required`;
    }
    for (const [key, v] of Object.entries(obj)) {
      const prop = props[key];
      if (!prop) {
        if (schema.additionalProperties === false) return `${path}.${key}: not allowed`;
        continue;
      }
      const inner = schemaMismatch(v, prop, root, `${path}.${key}`);
      if (inner) return inner;
    }
  }
  if (Array.isArray(value) && schema.items) {
    for (const [i, v] of value.entries()) {
      const inner = schemaMismatch(v, schema.items as JsonSchema, root, `${path}[${i}]`);
      if (inner) return inner;
    }
  }
  return undefined;
}

function isType(value: unknown, type: string): boolean {
  switch (type) {
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "array":
      return Array.isArray(value);
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "null":
      return value === null;
    default:
      return typeof value === type;
  }
}
