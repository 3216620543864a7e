// Reads a stopped `wrangler dev`'s local D1 database (its --persist-to directory) for the scripts
// that reconcile from the log afterwards.
import { spawnSync } from "node:child_process";
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
