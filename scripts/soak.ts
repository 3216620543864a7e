// `npm run soak`: N signed events at a steady rate against `wrangler dev bench/soak-worker.ts`, with 10%
// sent twice, 5% of agent runs failing once, 1% poison events, and the model API (a fake Messages API
// on loopback, reached through ANTHROPIC_BASE_URL) answering 429 or 529 to 5% of calls. Medium-risk
// orders are approved as they wait. Then it reconciles from the log and prints the counts.
// Options: --n (10000), --rate (8 events/s: what this 2-core machine sustains with the faults), --seed (1).
import { serveModel } from "./lib/model-server";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { fakeMessagesApi } from "../test/support/fake-anthropic";
import { adminGet, orderPlaced, postSigned, type Target } from "./lib/client";
import { localD1 } from "./lib/d1";
import { applyMigrations, freePort, startDev } from "./lib/dev";
import { prng } from "./lib/labelled-orders";
import { load, summarize } from "./lib/stats";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "10000" },
    rate: { type: "string", default: "8" },
    seed: { type: "string", default: "1" },
  },
});
const N = Number(values.n);
const RATE = Number(values.rate);
const random = prng(Number(values.seed));

// ---- the fake model API, over real HTTP on loopback --------------------------------------------------
let modelCalls = 0;
const modelFaults = { 429: 0, 529: 0 };
const fake = fakeMessagesApi((req) => {
  modelCalls++;
  const r = random();
  if (r < 0.03) {
    modelFaults[429]++;
    return {
      status: 429,
      headers: { "retry-after": "1" },
      error: { type: "rate_limit_error", message: "soak: slow down" },
    };
  }
  if (r < 0.05) {
    modelFaults[529]++;
    return { status: 529, error: { type: "overloaded_error", message: "soak: overloaded" } };
  }
  const amount = Number(/"amount": ([\d.]+)/.exec(req.user)?.[1] ?? 0);
  const risk = amount >= 10_000 ? "high" : amount >= 2_000 ? "medium" : "low";
  const unsure = req.model.includes("haiku") && random() < 0.1;
  return {
    answer: {
      decision: { risk, score: risk === "high" ? 80 : risk === "medium" ? 40 : 10, reasons: [`soak: ${risk}`] },
      confidence: unsure ? 0.5 : 0.92,
      escalate: false,
      rationale: "soak",
    },
  };
});
const modelServer = await serveModel(fake.fetch, await freePort());

// ---- agentwire under wrangler dev ---------------------------------------------------------------------
const dir = mkdtempSync(path.join(tmpdir(), "agentwire-soak-"));
const d1 = localD1(dir).query;
applyMigrations(dir);
const STOCK = 1_000_000;
d1(`UPDATE stock SET available = ${STOCK}`);
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const adminToken = "soak-admin-token";
const server = await startDev({
  port: await freePort(),
  persistTo: dir,
  script: "bench/soak-worker.ts",
  vars: {
    WEBHOOK_SECRET: secret,
    ADMIN_TOKEN: adminToken,
    ANTHROPIC_API_KEY: "sk-ant-soak",
    ANTHROPIC_BASE_URL: modelServer.baseUrl,
    RETRY_BASE_DELAY_SECONDS: "1",
  },
});
const target: Target = { url: server.url, secret, adminToken };

// ---- load ---------------------------------------------------------------------------------------------
type Sent = { id: string; type: string; correlationid: string; sentAt: number; duplicate: boolean };
const plan = Array.from({ length: N }, (_, i) => {
  if (random() < 0.01) {
    const id = `poison_${i}`;
    return {
      id,
      correlationid: id,
      body: { specversion: "1.0", id, source: "/soak/shop", type: "soak.poison", correlationid: id, data: { n: i } },
    };
  }
  const r = random();
  const amount = r < 0.05 ? 12_000 : r < 0.15 ? 3_000 : 50 + Math.round(random() * 900);
  const order = orderPlaced({ amount, sku: `SKU-${(i % 5) + 1}` });
  return { id: order.id, correlationid: order.correlationid, body: { ...order, source: "/soak/shop" } };
});
const sends = plan.flatMap((p) => (random() < 0.1 ? [p, p] : [p]));
const accepted = new Map<string, Sent>();
const statuses: Record<number, number> = {};
let stopApprovals = false;
let approved = 0;
const approvals = (async () => {
  while (!stopApprovals) {
    const { body } = await adminGet<{ workflows: { id: string }[] }>(
      target,
      "/v1/workflows?status=awaiting_approval&limit=500",
    );
    for (const w of body.workflows) {
      const res = await fetch(`${target.url}/v1/workflows/${w.id}/approve`, {
        method: "POST",
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({ by: "soak", reason: "approved by the soak test" }),
      });
      if (res.ok) approved++;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
})();

console.log(`soak: ${N} events (${sends.length - N} sent twice) at ${RATE}/s against ${server.url}`);
const wall = await load(
  sends.length,
  64,
  async (i) => {
    const p = sends[i]!;
    const sentAt = Date.now();
    const res = await postSigned(target, JSON.stringify(p.body));
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    if (res.status !== 202) return;
    const {
      accepted: [a],
    } = await res.json<{ accepted: { id: string; duplicate: boolean }[] }>();
    if (!accepted.has(p.id))
      accepted.set(p.id, {
        id: p.id,
        type: p.body.type,
        correlationid: p.correlationid,
        sentAt,
        duplicate: a?.duplicate ?? false,
      });
  },
  RATE * (sends.length / N),
);
console.log(
  `sent ${sends.length} requests in ${(wall / 1000).toFixed(1)} s (${((sends.length / wall) * 1000).toFixed(1)}/s): ${JSON.stringify(statuses)}`,
);

// ---- drain: until every delivery has a terminal run and every workflow is terminal -----------------------
interface Stats {
  deliveries: { total: number; held: number };
  runs: { total: number; byStatus: Record<string, number> };
  workflows: Record<string, number>;
}
let stable = 0;
const drainStarted = Date.now();
while (stable < 3 && Date.now() - drainStarted < 15 * 60_000) {
  await new Promise((r) => setTimeout(r, 2000));
  const { body: s } = await adminGet<Stats>(target, "/v1/stats");
  const pending = (s.runs.byStatus.running ?? 0) + (s.runs.byStatus.failed ?? 0);
  const open = (s.workflows.running ?? 0) + (s.workflows.awaiting_approval ?? 0);
  const settled = s.runs.total === s.deliveries.total && pending === 0 && open === 0;
  stable = settled ? stable + 1 : 0;
  process.stdout.write(
    `\rdraining: deliveries ${s.deliveries.total}, runs ${s.runs.total}, pending ${pending}, open workflows ${open}   `,
  );
}
stopApprovals = true;
await approvals;
await server.stop();
await modelServer.close();
console.log("\n");

// ---- reconcile from the log ------------------------------------------------------------------------------
const one = (sql: string) => Number(Object.values(d1(sql)[0] ?? { n: 0 })[0] ?? 0);
const acceptedIds = [...accepted.keys()];
const poisonAccepted = acceptedIds.filter((id) => id.startsWith("poison_")).length;
const loggedSoak = one("SELECT COUNT(*) AS n FROM events WHERE source = '/soak/shop'");
const distinctSoak = one("SELECT COUNT(DISTINCT id) AS n FROM events WHERE source = '/soak/shop'");
const deliveries = one("SELECT COUNT(*) AS n FROM deliveries");
const unresolved = one(
  `SELECT COUNT(*) AS n FROM deliveries d LEFT JOIN agent_runs r
     ON r.event_source = d.event_source AND r.event_id = d.event_id AND r.agent = d.agent
   WHERE r.status IS NULL OR r.status NOT IN ('succeeded', 'dead_lettered')`,
);
const runsByStatus = d1("SELECT status, COUNT(*) AS n FROM agent_runs GROUP BY status");
const deadLettered = one("SELECT COUNT(*) AS n FROM dead_letters");
const poisonDead = one("SELECT COUNT(*) AS n FROM dead_letters WHERE agent = 'poisoned'");
const workflowsByStatus = d1("SELECT status, COUNT(*) AS n FROM workflows GROUP BY status");
const ordersLogged = one("SELECT COUNT(*) AS n FROM events WHERE source = '/soak/shop' AND type = 'order.placed'");
const workflowsTotal = one("SELECT COUNT(*) AS n FROM workflows");
const nonTerminal = one(
  "SELECT COUNT(*) AS n FROM workflows WHERE status NOT IN ('completed', 'rejected', 'timed_out')",
);
const doubleOutcomes = one(
  `SELECT COUNT(*) AS n FROM (SELECT correlation_id FROM events
     WHERE type IN ('order.confirmed', 'order.rejected', 'order.timed_out') GROUP BY correlation_id HAVING COUNT(*) > 1)`,
);
const doubleReservations = one(
  "SELECT COUNT(*) AS n FROM (SELECT reservation_id FROM reservation_items GROUP BY reservation_id, sku HAVING COUNT(*) > 1)",
);
const stockDrift = one(
  `SELECT COUNT(*) AS n FROM stock s WHERE s.available != ${STOCK} - COALESCE((SELECT SUM(i.qty) FROM reservation_items i
     JOIN reservations r ON r.reservation_id = i.reservation_id WHERE r.status = 'held' AND i.sku = s.sku), 0)`,
);
const parked = one("SELECT COUNT(*) AS n FROM parked_events");

// Latency under load, from the client's send to the log's timestamps.
const runsDone = new Map(
  d1(
    `SELECT e.id AS id, MAX(r.finished_at) AS done FROM events e JOIN agent_runs r ON r.event_source = e.source AND r.event_id = e.id
      WHERE e.source = '/soak/shop' AND e.type = 'order.placed' AND r.status = 'succeeded' GROUP BY e.id HAVING COUNT(*) = 3`,
  ).map((r) => [String(r.id), Number(r.done)]),
);
const outcomes = new Map(
  d1("SELECT id, completed_at AS done FROM workflows WHERE completed_at IS NOT NULL").map((r) => [
    String(r.id),
    Number(r.done),
  ]),
);
const toRuns: number[] = [];
const toOutcome: number[] = [];
for (const s of accepted.values()) {
  const runs = runsDone.get(s.id);
  if (runs) toRuns.push(runs - s.sentAt);
  const outcome = outcomes.get(s.correlationid);
  if (outcome && s.type === "order.placed") toOutcome.push(outcome - s.sentAt);
}
const fmt = (x: ReturnType<typeof summarize>) =>
  `p50 ${x.p50} ms, p90 ${x.p90} ms, p99 ${x.p99} ms, max ${x.max} ms (n ${x.n})`;

const checks: [string, boolean, string][] = [
  [
    "every accepted event logged exactly once",
    loggedSoak === accepted.size && distinctSoak === loggedSoak,
    `${accepted.size} accepted, ${loggedSoak} logged, ${distinctSoak} distinct`,
  ],
  [
    "every delivery acked or dead-lettered",
    unresolved === 0,
    `${deliveries} deliveries, ${unresolved} without a terminal run; runs ${JSON.stringify(runsByStatus)}`,
  ],
  [
    "every poison event dead-lettered",
    poisonDead === poisonAccepted,
    `${poisonAccepted} poison accepted, ${poisonDead} dead-lettered (${deadLettered} dead letters in all)`,
  ],
  [
    "every workflow terminal",
    nonTerminal === 0 && workflowsTotal === ordersLogged,
    `${ordersLogged} orders, ${workflowsTotal} workflows ${JSON.stringify(workflowsByStatus)}, ${nonTerminal} not terminal`,
  ],
  ["no double outcome", doubleOutcomes === 0, `${doubleOutcomes} correlations with more than one outcome`],
  [
    "no double reservation, stock reconciles",
    doubleReservations === 0 && stockDrift === 0,
    `${doubleReservations} doubled, ${stockDrift} SKUs off`,
  ],
];
console.log(
  `model API: ${modelCalls} calls, ${modelFaults[429]} answered 429, ${modelFaults[529]} answered 529; ${approved} approvals; ${parked} parked`,
);
console.log(`webhook → 3 agent runs recorded: ${fmt(summarize(toRuns))}`);
console.log(`webhook → workflow outcome: ${fmt(summarize(toOutcome))}`);
console.log("\n| check | result | counts |\n|---|---|---|");
for (const [name, ok, detail] of checks) console.log(`| ${name} | ${ok ? "ok" : "FAILED"} | ${detail} |`);
rmSync(dir, { recursive: true, force: true });
process.exit(checks.every(([, ok]) => ok) ? 0 : 1);
