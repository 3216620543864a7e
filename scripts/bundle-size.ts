// `npm run size` (part of `npm test`): builds what `wrangler deploy` would upload (a dry run) and
// fails when its gzip size passes the budget. Cloudflare's own limit is far higher (3 MiB gzip on the
// Free plan); the budget is ours, so growth is noticed when it happens, not when it hurts cold starts.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { ROOT } from "./lib/dev";

/** The budget, in KiB of gzip: the one place it is written. */
export const BUDGET_KIB = 350;

const WRANGLER = process.env.WRANGLER ?? path.join(ROOT, "node_modules", ".bin", "wrangler");
const outdir = mkdtempSync(path.join(tmpdir(), "agentwire-size-"));
try {
  const args = ["deploy", "--dry-run", "--outdir", outdir];
  const r = spawnSync(WRANGLER, args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  if (r.status !== 0) {
    console.error(`bundle size: wrangler ${args.join(" ")} failed (${r.status})\n${r.stdout}${r.stderr}`);
    process.exit(1);
  }
  // Every module wrangler would upload; source maps and its README are not part of the Worker.
  const modules = readdirSync(outdir, { recursive: true, encoding: "utf8" }).filter((f) =>
    /\.(js|mjs|cjs|wasm|bin|txt|html)$/.test(f),
  );
  if (modules.length === 0) {
    console.error(`bundle size: the dry run wrote no modules to ${outdir}`);
    process.exit(1);
  }
  let raw = 0;
  let gzip = 0;
  for (const file of modules) {
    const bytes = readFileSync(path.join(outdir, file));
    raw += bytes.length;
    gzip += gzipSync(bytes).length;
  }
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const share = Math.round((gzip / 1024 / BUDGET_KIB) * 100);
  const line = `bundle: ${kib(raw)}, gzip ${kib(gzip)} (${share}% of the ${BUDGET_KIB} KiB budget in scripts/bundle-size.ts)`;
  if (gzip > BUDGET_KIB * 1024) {
    console.error(
      `${line}: over budget. Find what grew in the dry run's metafile (wrangler deploy --dry-run --metafile).`,
    );
    process.exit(1);
  }
  console.log(line);
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
