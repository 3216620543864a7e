// Optional filters as a WHERE clause: only the filters given go in, so SQLite can use their indexes.
export type Filter = readonly [clause: string, value: string | number | undefined];

export function where(filters: readonly Filter[]): { sql: string; params: (string | number)[] } {
  const given = filters.filter((f): f is readonly [string, string | number] => f[1] !== undefined);
  return {
    sql: given.length ? `WHERE ${given.map(([clause]) => clause).join(" AND ")}` : "",
    params: given.map(([, value]) => value),
  };
}
