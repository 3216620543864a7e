// D1 batches built from parts. A Plan is some statements and how to read their results; several
// plans run in one db.batch(), so in one round trip and one transaction (the run consumer records a
// run and logs the events it emitted together). batchEach reads back entries of several statements
// each as tuples, without index arithmetic.

type ResultsOf<T extends readonly D1PreparedStatement[]> = { [K in keyof T]: D1Result };

export async function batchEach<const T extends readonly D1PreparedStatement[]>(
  db: D1Database,
  entries: readonly T[],
  before: readonly D1PreparedStatement[] = [],
): Promise<{ before: D1Result[]; each: ResultsOf<T>[] }> {
  const results = await db.batch([...before, ...entries.flat()]);
  return { before: results.slice(0, before.length), each: splitEach(entries, results.slice(before.length)) };
}

function splitEach<const T extends readonly D1PreparedStatement[]>(
  entries: readonly T[],
  results: readonly D1Result[],
): ResultsOf<T>[] {
  let at = 0;
  return entries.map((entry) => {
    const slice = results.slice(at, at + entry.length);
    at += entry.length;
    return slice as ResultsOf<T>;
  });
}

export interface Plan<T> {
  statements: readonly D1PreparedStatement[];
  read: (results: readonly D1Result[]) => T;
}

/** A plan of entries of several statements each, read back as one tuple of results per entry. */
export function planEach<const S extends readonly D1PreparedStatement[], T>(
  entries: readonly S[],
  read: (each: ResultsOf<S>[]) => T,
): Plan<T> {
  return { statements: entries.flat(), read: (results) => read(splitEach(entries, results)) };
}

type Outputs<P extends readonly Plan<unknown>[]> = { -readonly [K in keyof P]: P[K] extends Plan<infer T> ? T : never };

/** Runs the plans in one db.batch() (one transaction); a plan without statements reads no results. */
export async function runPlans<const P extends readonly Plan<unknown>[]>(
  db: D1Database,
  plans: P,
): Promise<Outputs<P>> {
  const all = plans.flatMap((p) => p.statements);
  const results = all.length === 0 ? [] : await db.batch([...all]);
  let at = 0;
  return plans.map((p) => {
    const slice = results.slice(at, at + p.statements.length);
    at += p.statements.length;
    return p.read(slice);
  }) as Outputs<P>;
}
