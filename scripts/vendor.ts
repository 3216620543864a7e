// The console's heavy client libraries are served as static files, not bundled into the Worker
// (issue 13): each is copied from its npm package into public/console/assets/vendor and committed, so
// `wrangler deploy` needs no build step. `npm run vendor` refreshes the copies after an upgrade;
// `npm run lint` runs this with --check and fails when a copy differs from the installed package.
import { readFileSync, writeFileSync } from "node:fs";

// npm scripts run from the package root.
const root = `${process.cwd()}/`;
const VENDOR = `${root}public/console/assets/vendor/`;

/** The source map comment is dropped: the map is not served, and a browser would ask for it. */
const withoutSourceMap = (text: string) => text.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n");

const FILES = [
  // @dagrejs/dagre: the topology page's graph layout (a self-contained ES module, no DOM access).
  { from: "node_modules/@dagrejs/dagre/dist/dagre.esm.js", to: "dagre.esm.js", transform: withoutSourceMap },
  { from: "node_modules/@dagrejs/dagre/dist/dagre.esm.js.LEGAL.txt", to: "dagre.esm.js.LEGAL.txt" },
] as const;

const check = process.argv.includes("--check");
let stale = 0;
for (const file of FILES) {
  const source = readFileSync(`${root}${file.from}`, "utf8");
  const wanted = "transform" in file ? file.transform(source) : source;
  const target = `${VENDOR}${file.to}`;
  let current: string | undefined;
  try {
    current = readFileSync(target, "utf8");
  } catch {
    current = undefined;
  }
  if (current === wanted) continue;
  if (check) {
    console.error(`public/console/assets/vendor/${file.to} differs from ${file.from}: run npm run vendor`);
    stale++;
  } else {
    writeFileSync(target, wanted);
    console.log(`vendored ${file.from} → public/console/assets/vendor/${file.to}`);
  }
}
if (stale > 0) process.exit(1);
