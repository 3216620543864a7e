// `npm run bench:deliveries`: the destination consumer's throughput. N signed events of a type one
// destination receives are posted to `wrangler dev` (the benchmark worker, bench/worker.ts), which
// delivers each as a signed CloudEvent to a receiver on loopback that verifies every signature and
// counts each webhook-id once. Reports deliveries/s (first post to last delivery) and post → delivered
// latency, next to the bare hop (HTTP → queue → D1) measured in the same run. --n (1000), --concurrency (16).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { randomUUID } from "node:crypto";
import { parseSecrets, verify } from "../src/ingest/signature";
import { postSigned, type Target } from "./lib/client";
import { bareHop } from "./lib/bare";
import { applyMigrations, freePort, ROOT, startDev } from "./lib/dev";
import { load, summarize, until } from "./lib/stats";

const { values } = parseArgs({
  options: { n: { type: "string", default: "1000" }, concurrency: { type: "string", default: "16" } },
});
const N = Number(values.n);
const C = Number(values.concurrency);
const SINK_SECRET = "whsec_YmVuY2gtc2luay1zZWNyZXQtMDEyMzQ1Njc4OQ==";

// The receiver: every signature checked, each webhook-id counted once, its arrival time kept.
const arrived = new Map<string, number>();
let forged = 0;
let duplicates = 0;
async function receive(req: IncomingMessage, res: ServerResponse) {
  let body = "";
  req.setEncoding("utf8");
  for await (const chunk of req) body += chunk as string;
  const header = (name: string) => (typeof req.headers[name] === "string" ? req.headers[name] : null);
  const ok = await verify(
    parseSecrets(SINK_SECRET),
    { id: header("webhook-id"), timestamp: header("webhook-timestamp"), signature: header("webhook-signature") },
    new TextEncoder().encode(body),
    300,
  );
  if (!ok.ok) forged++;
  else {
    const { id } = JSON.parse(body) as { id: string };
    if (arrived.has(id)) duplicates++;
    else arrived.set(id, Date.now());
  }
  res.writeHead(ok.ok ? 204 : 401).end();
}
const receiver = createServer((req, res) => void receive(req, res));
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const sinkUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/sink`;

async function deliveries() {
  const dir = mkdtempSync(path.join(tmpdir(), "agentwire-bench-deliveries-"));
  applyMigrations(dir);
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const server = await startDev({
    port: await freePort(),
    persistTo: dir,
    script: path.join(ROOT, "bench/worker.ts"),
    vars: {
      WEBHOOK_SECRET: secret,
      ADMIN_TOKEN: "bench-admin-token",
      BENCH_SINK_URL: sinkUrl,
      BENCH_SINK_SECRET: SINK_SECRET,
      LOG_LEVEL: "warn",
    },
  });
  const target: Target = { url: server.url, secret, adminToken: "bench-admin-token" };
  try {
    const ids = Array.from({ length: N }, () => `evt_${randomUUID()}`);
    const sentAt = new Map<string, number>();
    const started = Date.now();
    await load(N, C, async (i) => {
      const id = ids[i]!;
      const event = { specversion: "1.0", id, source: "/bench/deliveries", type: "bench.outbound", data: { n: i } };
      sentAt.set(id, Date.now());
      const res = await postSigned(target, JSON.stringify(event));
      if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
    });
    await until(
      () => Promise.resolve(ids.every((id) => arrived.has(id)) ? true : undefined),
      300_000,
      "every delivery",
    );
    const last = Math.max(...ids.map((id) => arrived.get(id)!));
    return {
      perSecond: (N / (last - started)) * 1000,
      latency: summarize(ids.map((id) => arrived.get(id)! - sentAt.get(id)!)),
    };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `deliveries benchmark: N = ${N} events, concurrency ${C}, wrangler dev on ${process.platform}/${process.arch}`,
);
const bare = await bareHop(N, C);
const out = await deliveries();
receiver.close();
const ms = (v: number) => `${v.toFixed(0)} ms`;
console.log("\n| pipeline | per second | p50 | p90 | p99 | max |\n|---|---:|---:|---:|---:|---:|");
console.log(
  `| bare hop: HTTP → queue → D1 (accepted/s) | ${bare.acceptedPerSecond.toFixed(0)} | ${ms(bare.latency.p50)} | ${ms(bare.latency.p90)} | ${ms(bare.latency.p99)} | ${ms(bare.latency.max)} |`,
);
console.log(
  `| agentwire: webhook → signed delivery received (deliveries/s) | ${out.perSecond.toFixed(0)} | ${ms(out.latency.p50)} | ${ms(out.latency.p90)} | ${ms(out.latency.p99)} | ${ms(out.latency.max)} |`,
);
console.log(`\nreceiver: ${arrived.size} delivered, ${duplicates} duplicate deliveries, ${forged} bad signatures`);
