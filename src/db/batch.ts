// D1 batches of several statements per entry, read back without index arithmetic: each entry's
// statements come back as a tuple of their results, in the same order. Still one batch(), so still
// one transaction.

type ResultsOf<T extends readonly D1PreparedStatement[]> = { [K in keyof T]: D1Result };

export async function batchEach<const T extends readonly D1PreparedStatement[]>(
  db: D1Database,
  entries: readonly T[],
  before: readonly D1PreparedStatement[] = [],
): Promise<{ before: D1Result[]; each: ResultsOf<T>[] }> {
  const results = await db.batch([...before, ...entries.flat()]);
  let at = before.length;
  const each = entries.map((entry) => {
    const slice = results.slice(at, at + entry.length);
    at += entry.length;
    return slice as ResultsOf<T>;
  });
  return { before: results.slice(0, before.length), each };
}
