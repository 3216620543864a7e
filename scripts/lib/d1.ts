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
 * Counts rows in a running `wrangler dev`'s local D1 database straight from its SQLite file
 * (read-only, from this process), so that polling for progress costs the Worker under test nothing.
 * Before the table exists (the first write creates it) the count is 0.
 */
export function localCount(persistTo: string, sql: string): () => number {
  let db: DatabaseSync | undefined;
  return () => {
    if (!db) {
      const folder = path.join(persistTo, "v3", "d1", "miniflare-D1DatabaseObject");
      const file = existsSync(folder)
        ? readdirSync(folder).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")
        : undefined;
      if (!file) return 0;
      db = new DatabaseSync(path.join(folder, file), { readOnly: true });
    }
    try {
      return Number(Object.values(db.prepare(sql).get() ?? { n: 0 })[0] ?? 0);
    } catch (error) {
      if (/no such table/.test(String(error))) return 0;
      throw error;
    }
  };
}
