// A counting proxy around the D1 binding. Local D1 (Miniflare) enforces none of D1's production
// limits but the 100 bound parameters, so the tests pass this in the env of one invocation and check
// what it recorded: every statement's SQL length, parameters and largest bound value, statements per
// invocation, and each statement's query plan. It can also fail a batch, as a crash would.

/** D1's production limits (developers.cloudflare.com/d1/platform/limits, Workers Paid). */
export const D1_LIMITS = {
  paramsPerStatement: 100,
  sqlBytesPerStatement: 100_000,
  /** Largest string or BLOB (a bound value, a row). */
  bytesPerValue: 1_000_000,
  queriesPerInvocation: 1_000,
} as const;

export interface Recorded {
  sql: string;
  params: unknown[];
  sqlBytes: number;
  largestValue: number;
}

const encoder = new TextEncoder();
const sizeOf = (value: unknown) =>
  typeof value === "string"
    ? encoder.encode(value).byteLength
    : value instanceof ArrayBuffer || ArrayBuffer.isView(value)
      ? value.byteLength
      : 8;

export class D1Counter {
  /** Every statement sent, singly or in a batch, in order. */
  statements: Recorded[] = [];
  /** Round trips: each batch() or single query is one. */
  calls = 0;
  /** Fault injection: a batch whose statements match throws before it reaches D1 (nothing is written). */
  failBatch: ((sqls: readonly string[]) => boolean) | undefined;
  readonly db: D1Database;

  constructor(readonly real: D1Database) {
    const statements = new WeakMap<object, { real: D1PreparedStatement; record: Recorded }>();
    const record = (sql: string, params: unknown[]): Recorded => ({
      sql,
      params,
      sqlBytes: encoder.encode(sql).byteLength,
      largestValue: Math.max(0, ...params.map(sizeOf)),
    });
    const wrap = (stmt: D1PreparedStatement, sql: string, params: unknown[]): D1PreparedStatement => {
      const rec = record(sql, params);
      const once = <T>(run: () => Promise<T>) => {
        this.statements.push(rec);
        this.calls++;
        return run();
      };
      const wrapper = {
        bind: (...values: unknown[]) => wrap(stmt.bind(...values), sql, values),
        first: (column?: string) => once(() => (column === undefined ? stmt.first() : stmt.first(column))),
        run: () => once(() => stmt.run()),
        all: () => once(() => stmt.all()),
        raw: (options?: { columnNames?: boolean }) => once(() => stmt.raw(options as { columnNames: true })),
      };
      statements.set(wrapper, { real: stmt, record: rec });
      return wrapper as unknown as D1PreparedStatement;
    };
    this.db = {
      prepare: (sql: string) => wrap(real.prepare(sql), sql, []),
      batch: async (list: D1PreparedStatement[]) => {
        const entries = list.map((s) => {
          const entry = statements.get(s);
          if (!entry) throw new Error("D1Counter: a statement from outside the proxy");
          return entry;
        });
        this.statements.push(...entries.map((e) => e.record));
        this.calls++;
        if (this.failBatch?.(entries.map((e) => e.record.sql))) throw new Error("D1Counter: injected batch failure");
        return real.batch(entries.map((e) => e.real));
      },
      exec: (sql: string) => {
        this.statements.push(record(sql, []));
        this.calls++;
        return real.exec(sql);
      },
      withSession: () => {
        throw new Error("D1Counter: sessions are not proxied");
      },
      dump: () => real.dump(),
    } as unknown as D1Database;
  }

  reset(): void {
    this.statements = [];
    this.calls = 0;
  }

  /** The statements over a per-statement limit, and the invocation over its query limit, as readable lines. */
  overLimits(): string[] {
    const problems = this.statements.flatMap((s) => {
      const head = s.sql.replace(/\s+/g, " ").trim().slice(0, 80);
      return [
        ...(s.params.length > D1_LIMITS.paramsPerStatement ? [`${s.params.length} parameters: ${head}`] : []),
        ...(s.sqlBytes > D1_LIMITS.sqlBytesPerStatement ? [`${s.sqlBytes} bytes of SQL: ${head}`] : []),
        ...(s.largestValue > D1_LIMITS.bytesPerValue ? [`a ${s.largestValue}-byte value: ${head}`] : []),
      ];
    });
    if (this.statements.length > D1_LIMITS.queriesPerInvocation)
      problems.push(`${this.statements.length} statements in one invocation`);
    return problems;
  }

  /** The widest any statement went, for reports. */
  peaks() {
    return {
      statements: this.statements.length,
      calls: this.calls,
      params: Math.max(0, ...this.statements.map((s) => s.params.length)),
      sqlBytes: Math.max(0, ...this.statements.map((s) => s.sqlBytes)),
      largestValue: Math.max(0, ...this.statements.map((s) => s.largestValue)),
    };
  }

  /**
   * Full scans of the log's big tables among the statements recorded, from SQLite's own plans
   * (EXPLAIN QUERY PLAN with the same parameters): a query that scans them grows with the log and
   * would pass D1's 30 s per query at some size; one that searches an index does not.
   */
  async scans(tables: readonly string[]): Promise<string[]> {
    const seen = new Set<string>();
    const found: string[] = [];
    for (const s of this.statements) {
      if (seen.has(s.sql) || !/^\s*(WITH|SELECT|INSERT|UPDATE|DELETE)/i.test(s.sql)) continue;
      seen.add(s.sql);
      const { results } = await this.real
        .prepare(`EXPLAIN QUERY PLAN ${s.sql}`)
        .bind(...s.params)
        .all<{ detail: string }>();
      const aliases = aliasesOf(s.sql);
      for (const { detail } of results) {
        const name = /^SCAN (\w+)/.exec(detail)?.[1];
        const table = name && (aliases.get(name) ?? name);
        if (table && tables.includes(table)) found.push(`${detail} in: ${s.sql.replace(/\s+/g, " ").slice(0, 160)}`);
      }
    }
    return found;
  }
}

const KEYWORDS = new Set([
  "where",
  "join",
  "left",
  "inner",
  "cross",
  "on",
  "using",
  "order",
  "group",
  "limit",
  "set",
  "values",
]);

/** Plans name a table by its alias (`FROM events e` → "SCAN e"): alias → table. */
function aliasesOf(sql: string): Map<string, string> {
  const aliases = new Map<string, string>();
  for (const m of sql.matchAll(/\b(?:FROM|JOIN)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?/gi)) {
    const [, table, alias] = m;
    if (table && alias && !KEYWORDS.has(alias.toLowerCase())) aliases.set(alias, table);
  }
  return aliases;
}

/** The env of one invocation with its D1 counted. */
export function countedEnv(env: Env): { env: Env; d1: D1Counter } {
  const d1 = new D1Counter(env.DB);
  return { env: { ...env, DB: d1.db }, d1 };
}
