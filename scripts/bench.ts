// `npm run bench`: N signed order events against `wrangler dev`, concurrency C. Reports accepted/s and
// webhook → all three agent runs recorded (p50/p99), next to a bare HTTP → queue → D1 hop measured in
// the same run. Options: --n (500), --concurrency (8), --rate (events/s; unset: as fast as accepted).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { orderPlaced, postSigned, type Target, waitForRuns } from "./lib/client";
import { bareHop } from "./lib/bare";
import { applyMigrations, freePort, startDev } from "./lib/dev";
import { load, summarize } from "./lib/stats";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "500" },
    concurrency: { type: "string", default: "8" },
    rate: { type: "string" },
  },
});
const N = Number(values.n);
const C = Number(values.concurrency);
const RATE = values.rate ? Number(values.rate) : undefined;
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

async function agentwire() {
  const dir = mkdtempSync(path.join(tmpdir(), "agentwire-bench-"));
  applyMigrations(dir);
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const adminToken = "bench-admin-token";
  const server = await startDev({
    port: await freePort(),
    persistTo: dir,
    vars: { WEBHOOK_SECRET: secret, ADMIN_TOKEN: adminToken },
  });
  const target: Target = { url: server.url, secret, adminToken };
  try {
    const events = Array.from({ length: N }, (_, i) =>
      orderPlaced({
        sku: `SKU-${(i % 5) + 1}`,
        amount: [40, 250, 2400, 12000][i % 4],
        country: i % 7 === 0 ? "BR" : "US",
      }),
    );
    const sentAt = new Map<string, number>();
    const wall = await load(
      N,
      C,
      async (i) => {
        const event = events[i]!;
        sentAt.set(event.id, Date.now());
        const res = await postSigned(target, JSON.stringify(event));
        if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
      },
      RATE,
    );
    const latencies: number[] = [];
    for (const event of events) {
      const detail = await waitForRuns(target, event.id, 120_000);
      const done = Math.max(...detail.runs.map((r) => r.finishedAt ?? Number.NaN));
      latencies.push(done - sentAt.get(event.id)!);
    }
    return { acceptedPerSecond: (N / wall) * 1000, latency: summarize(latencies) };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const pace = RATE ? `a steady ${RATE}/s` : "as fast as accepted";
console.log(
  `benchmark: N = ${N} events, concurrency ${C}, ${pace}, wrangler dev on ${process.platform}/${process.arch}`,
);
const bare = await bareHop(N, C, RATE);
const full = await agentwire();
console.log("\n| pipeline | accepted/s | p50 | p90 | p99 | max |");
console.log("|---|---|---|---|---|---|");
for (const [name, r] of [
  ["bare hop: HTTP → queue → D1", bare],
  ["agentwire: webhook → 3 agent runs recorded", full],
] as const) {
  const l = r.latency;
  console.log(
    `| ${name} | ${r.acceptedPerSecond.toFixed(0)} | ${fmt(l.p50)} | ${fmt(l.p90)} | ${fmt(l.p99)} | ${fmt(l.max)} |`,
  );
}
