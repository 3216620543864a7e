// Optional filters as a WHERE clause: only the filters given go in, so SQLite can use their indexes.
// A filter is left out only when its value is undefined: 0 and "" are values. A clause with several
// placeholders (a row-value cursor) takes a list of values.
type Value = string | number;
export type Filter = readonly [clause: string, value: Value | readonly Value[] | undefined];

export function where(filters: readonly Filter[]): { sql: string; params: Value[] } {
  const given = filters.filter((f): f is readonly [string, Value | readonly Value[]] => f[1] !== undefined);
  return {
    sql: given.length ? `WHERE ${given.map(([clause]) => clause).join(" AND ")}` : "",
    params: given.flatMap(([, value]) => (Array.isArray(value) ? [...(value as readonly Value[])] : [value as Value])),
  };
}
