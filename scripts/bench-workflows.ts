// `npm run bench:workflows`: workflow completion with simulated agents (bench/registry.ts) under
// `wrangler dev`. (1) Each agent takes L ms: N = 3 and N = 8 agents in parallel against the same
// agents chained (ideal: L and N × L). (2) At L = 0, webhook → outcome p50/p99 at a steady rate, next
// to a bare queue hop measured in the same run. Options: --latency (200), --repeat (10), --n (300),
// --rate (20).
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { adminGet, postSigned, type Target } from "./lib/client";
import { bareHop } from "./lib/bare";
import { applyMigrations, freePort, startDev } from "./lib/dev";
import { load, summarize, until } from "./lib/stats";

const { values } = parseArgs({
  options: {
    latency: { type: "string", default: "200" },
    repeat: { type: "string", default: "10" },
    n: { type: "string", default: "300" },
    rate: { type: "string", default: "20" },
  },
});
const L = Number(values.latency);
const REPEAT = Number(values.repeat);
const N0 = Number(values.n);
const RATE = Number(values.rate);

function startEvent(type: string, n: number, latencyMs: number) {
  const id = `wf-${randomUUID()}`;
  return { specversion: "1.0", id, source: "/bench", type, correlationid: id, data: { n, latencyMs } };
}

interface WorkflowView {
  status: string;
  completedAt: number | null;
}

async function completedAt(target: Target, id: string): Promise<number> {
  return until(
    async () => {
      const { status, body } = await adminGet<WorkflowView>(target, `/v1/workflows/${id}`);
      return status === 200 && body.completedAt !== null ? body.completedAt : undefined;
    },
    120_000,
    `workflow ${id}`,
  );
}

async function send(target: Target, event: ReturnType<typeof startEvent>): Promise<number> {
  const sentAt = Date.now();
  const res = await postSigned(target, JSON.stringify(event));
  if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
  return sentAt;
}

const dir = mkdtempSync(path.join(tmpdir(), "agentwire-bench-wf-"));
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const adminToken = "bench-admin-token";
console.log(`workflow benchmark: L = ${L} ms, ${REPEAT} runs per shape; L = 0: ${N0} workflows at ${RATE}/s`);
const bare = await bareHop(N0, 32, RATE);
applyMigrations(dir);
const server = await startDev({
  port: await freePort(),
  persistTo: dir,
  script: "bench/worker.ts",
  vars: { WEBHOOK_SECRET: secret, ADMIN_TOKEN: adminToken },
});
const target: Target = { url: server.url, secret, adminToken };
const fmt = (ms: number) => `${Math.round(ms)} ms`;
try {
  console.log(`\n| shape | N | ideal | p50 | p90 | max |`);
  console.log(`|---|---|---|---|---|---|`);
  for (const [shape, type, n] of [
    ["parallel", "bench.fanout3", 3],
    ["parallel", "bench.fanout8", 8],
    ["chained", "bench.chain3", 3],
    ["chained", "bench.chain8", 8],
  ] as const) {
    const times: number[] = [];
    for (let r = 0; r < REPEAT; r++) {
      const event = startEvent(type, n, L);
      const sentAt = await send(target, event);
      times.push((await completedAt(target, event.id)) - sentAt);
    }
    const s = summarize(times);
    const ideal = shape === "parallel" ? L : n * L;
    console.log(`| ${shape} | ${n} | ${fmt(ideal)} | ${fmt(s.p50)} | ${fmt(s.p90)} | ${fmt(s.max)} |`);
  }

  const events = Array.from({ length: N0 }, () => startEvent("bench.fanout3", 3, 0));
  const sent = new Map<string, number>();
  await load(
    N0,
    32,
    async (i) => {
      const event = events[i]!;
      sent.set(event.id, await send(target, event));
    },
    RATE,
  );
  const latencies: number[] = [];
  for (const event of events) latencies.push((await completedAt(target, event.id)) - sent.get(event.id)!);
  const w = summarize(latencies);
  const b = bare.latency;
  console.log(`\n| at L = 0, ${RATE}/s | n | p50 | p90 | p99 | max |`);
  console.log(`|---|---|---|---|---|---|`);
  console.log(
    `| bare hop: HTTP → queue → D1 | ${b.n} | ${fmt(b.p50)} | ${fmt(b.p90)} | ${fmt(b.p99)} | ${fmt(b.max)} |`,
  );
  console.log(
    `| webhook → workflow outcome (3 agents) | ${w.n} | ${fmt(w.p50)} | ${fmt(w.p90)} | ${fmt(w.p99)} | ${fmt(w.max)} |`,
  );
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
