// Reads `wrangler dev`'s local D1 database (its --persist-to directory): through wrangler once the
// server has stopped (the scripts that reconcile from the log), or its SQLite file while it runs.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import path from "node:path";
import { ROOT } from "./dev";

export type Row = Record<string, number | string | null>;

export function localD1(persistTo: string) {
  const query = (sql: string): Row[] => {
    const args = ["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--json", "--command", sql];
    const out = spawnSync(path.join(ROOT, "node_modules/.bin/wrangler"), args, {
      cwd: ROOT,
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
    if (out.status !== 0) throw new Error(`d1 execute failed: ${out.stderr}`);
    return (JSON.parse(out.stdout) as { results: Row[] }[])[0]?.results ?? [];
  };
  /** The first column of the first row, as a number (for COUNT queries). */
  const one = (sql: string): number => Number(Object.values(query(sql)[0] ?? { n: 0 })[0] ?? 0);
  return { query, one };
}

/**
 * Reads a running `wrangler dev`'s local D1 database straight from its SQLite file (read-only, from
 * this process), so that polling for progress costs the Worker under test nothing: the first row a
 * query answers, or undefined (also before the table exists: the first write creates it).
 */
export function localRow(persistTo: string): (sql: string, ...params: (string | number)[]) => Row | undefined {
  let db: DatabaseSync | undefined;
  return (sql, ...params) => {
    if (!db) {
      const folder = path.join(persistTo, "v3", "d1", "miniflare-D1DatabaseObject");
      const file = existsSync(folder)
        ? readdirSync(folder).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")
        : undefined;
      if (!file) return undefined;
      db = new DatabaseSync(path.join(folder, file), { readOnly: true });
    }
    try {
      return db.prepare(sql).get(...params) as Row | undefined;
    } catch (error) {
      if (/no such table/.test(String(error))) return undefined;
      throw error;
    }
  };
}

/** Counts rows as localRow reads them (0 before the table exists). */
export function localCount(persistTo: string, sql: string): () => number {
  const row = localRow(persistTo);
  return () => Number(Object.values(row(sql) ?? { n: 0 })[0] ?? 0);
}
