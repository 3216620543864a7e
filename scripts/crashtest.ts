// `npm run crashtest`: N signed orders at a steady rate against `wrangler dev` on a fresh state
// directory; after a fraction of them the whole wrangler process tree is killed with SIGKILL and
// restarted on the same directory; the rest are sent; then the anti-entropy sweep runs until nothing
// is left to repair, and the log is reconciled. Exits 1 if it does not reconcile.
// Options: --n (500), --rate (20 orders/s), --kill-at (0.4), --grace (10 s), --timeout (600 s).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { adminGet, orderPlaced, postSigned, type Target } from "./lib/client";
import { localD1 } from "./lib/d1";
import { applyMigrations, type DevServer, freePort, ROOT, startDev } from "./lib/dev";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "500" },
    rate: { type: "string", default: "20" },
    "kill-at": { type: "string", default: "0.4" },
    grace: { type: "string", default: "10" },
    timeout: { type: "string", default: "600" },
  },
});
const N = Number(values.n);
const RATE = Number(values.rate);
const KILL_AT = Math.round(N * Number(values["kill-at"]));
const GRACE = Number(values.grace);
const SOURCE = "/crashtest/shop";
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const adminToken = "crashtest-admin-token";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(path.join(tmpdir(), "agentwire-crashtest-"));
applyMigrations(dir);
// A snapshot of the Worker, so that edits to src/ during the run cannot make wrangler reload it (a
// reload restarts the local runtime and would lose queue messages too, muddying the numbers).
const bundle = path.join(dir, "bundle");
const built = spawnSync(path.join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", bundle], {
  cwd: ROOT,
  encoding: "utf8",
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
if (built.status !== 0) throw new Error(`wrangler deploy --dry-run failed: ${built.stderr}`);
// The sweep's grace period is short here so the script need not wait minutes for it; a run still
// `running` is taken over only after the run consumer's 5-minute claim lease, whatever the grace.
const start = async () =>
  startDev({
    port: await freePort(),
    script: path.join(bundle, "index.js"),
    config: path.join(ROOT, "wrangler.toml"), // else wrangler looks for one next to the script
    persistTo: dir,
    vars: { WEBHOOK_SECRET: secret, ADMIN_TOKEN: adminToken, SWEEP_GRACE_SECONDS: String(GRACE) },
  });
let server: DevServer = await start();
const target: Target = { url: server.url, secret, adminToken };

/** SIGKILL to wrangler's whole process group (wrangler, workerd): no chance to flush anything. */
async function crash(s: DevServer): Promise<number> {
  const pid = s.process.pid;
  if (!pid) throw new Error("wrangler has no pid");
  const exited = new Promise((r) => s.process.once("exit", r));
  process.kill(-pid, "SIGKILL");
  await exited;
  // The group's other processes (workerd) die a moment later; wait until none is left.
  for (let i = 0; i < 50; i++) {
    const left = spawnSync("pgrep", ["-g", String(pid)], { encoding: "utf8" }).stdout.trim();
    if (!left) return pid;
    await sleep(100);
  }
  throw new Error(`processes of group ${pid} survived SIGKILL`);
}

// ---- load, with a crash in the middle -------------------------------------------------------------------
type Phase = "before" | "after";
const accepted = new Map<string, { phase: Phase; correlationid: string }>();
const statuses: Record<string, number> = {};
const plan = Array.from({ length: N }, (_, i) => {
  // Mostly small orders (confirmed), every 20th a large one (rejected): no order waits for a human.
  const order = orderPlaced({ amount: i % 20 === 7 ? 12_000 : 50 + ((i * 37) % 900), sku: `SKU-${(i % 5) + 1}` });
  return { ...order, source: SOURCE };
});
let phase: Phase = "before";
const inflight = new Set<Promise<void>>();
/** Orders whose request the crash left unanswered: they may or may not have been logged. */
const unanswered: number[] = [];
let retriedDuplicates = 0;
const send = async (i: number, at: Phase, label: string = at) => {
  const order = plan[i]!;
  let status: string;
  try {
    const res = await postSigned(target, JSON.stringify(order));
    status = String(res.status);
    if (res.status === 202) {
      accepted.set(order.id, { phase: at, correlationid: order.correlationid });
      const body = await res.json<{ accepted: { duplicate: boolean }[] }>();
      if (label === "retry" && body.accepted[0]?.duplicate) retriedDuplicates++;
    }
  } catch (error) {
    // Connection reset or refused by the crash: the sender retries it after the restart, below.
    status = `no answer (${String((error as { cause?: { code?: string } }).cause?.code ?? error)})`;
    unanswered.push(i);
  }
  const key = `${label}: ${status}`;
  statuses[key] = (statuses[key] ?? 0) + 1;
};

console.log(`crashtest: ${N} orders at ${RATE}/s against ${server.url}; SIGKILL after ${KILL_AT}`);
let t0 = performance.now();
let base = 0;
let downMs = 0;
for (let i = 0; i < N; i++) {
  if (i === KILL_AT) {
    const crashedAt = Date.now();
    const unanswered = inflight.size;
    const pid = await crash(server);
    console.log(`killed wrangler (process group ${pid}) with ${unanswered} requests unanswered; restarting`);
    server = await start();
    target.url = server.url;
    downMs = Date.now() - crashedAt;
    phase = "after";
    t0 = performance.now();
    base = i;
  }
  const wait = t0 + ((i - base) * 1000) / RATE - performance.now();
  if (wait > 0) await sleep(wait);
  const p: Promise<void> = send(i, phase).finally(() => inflight.delete(p));
  inflight.add(p);
}
await Promise.all(inflight);
// As a webhook sender does, send again what got no answer (a new webhook-id, the same CloudEvent): an
// order logged before the crash is answered as a duplicate, one that was not is logged now. Either
// way it is accepted, and must then be in the log exactly once.
for (const i of unanswered.splice(0)) await send(i, "after", "retry");
console.log(
  `sent ${N}: ${JSON.stringify(statuses)}; ${retriedDuplicates} retries were duplicates (logged before the crash, ` +
    `unanswered); down ${(downMs / 1000).toFixed(1)} s`,
);

// ---- sweep until there is nothing left to repair --------------------------------------------------------
interface Stats {
  deliveries: { total: number };
  runs: { total: number; byStatus: Record<string, number> };
  workflows: Record<string, number>;
}
interface SweepAnswer {
  counts: Record<string, { repaired: number; unrepairable: number }>;
  alarmsMissing: number;
}
const repairs: Record<string, { repaired: number; unrepairable: number }> = {};
let alarmsMissing = 0;
let sweeps = 0;
let clean = 0;
const sweepStarted = Date.now();
const timeoutMs = Number(values.timeout) * 1000;
await sleep((GRACE + 1) * 1000); // let the grace period pass over the last of the load
while (clean < 2 && Date.now() - sweepStarted < timeoutMs) {
  const res = await fetch(`${target.url}/v1/sweep`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: "{}",
  });
  if (!res.ok) throw new Error(`POST /v1/sweep answered ${res.status}: ${await res.text()}`);
  const answer = await res.json<SweepAnswer>();
  sweeps++;
  alarmsMissing += answer.alarmsMissing;
  let repairedNow = 0;
  for (const [kind, c] of Object.entries(answer.counts)) {
    const total = (repairs[kind] ??= { repaired: 0, unrepairable: 0 });
    total.repaired += c.repaired;
    total.unrepairable += c.unrepairable;
    repairedNow += c.repaired + c.unrepairable;
  }
  await sleep(3000); // let the repairs land before judging
  const { body: s } = await adminGet<Stats>(target, "/v1/stats");
  const pending = (s.runs.byStatus.running ?? 0) + (s.runs.byStatus.failed ?? 0);
  const open = (s.workflows.running ?? 0) + (s.workflows.awaiting_approval ?? 0);
  const settled = s.runs.total === s.deliveries.total && pending === 0 && open === 0;
  clean = settled && repairedNow === 0 ? clean + 1 : 0;
  process.stdout.write(
    `\rsweep ${sweeps}: repaired ${repairedNow}; deliveries ${s.deliveries.total}, runs ${s.runs.total}, pending ${pending}, open workflows ${open}   `,
  );
  if (clean < 2) await sleep(clean === 0 ? 7000 : 2000);
}
const { body: totals } = await adminGet<{ totals: Record<string, { repaired: number; runs: number }> }>(
  target,
  "/v1/sweep",
);
await server.stop();
console.log(`\nswept ${sweeps} times in ${((Date.now() - sweepStarted) / 1000).toFixed(0)} s`);

// ---- reconcile from the log -------------------------------------------------------------------------------
const db = localD1(dir);
const logged = new Map(
  db
    .query(`SELECT id, COUNT(*) AS n FROM events WHERE source = '${SOURCE}' GROUP BY id`)
    .map((r) => [String(r.id), Number(r.n)]),
);
const acceptedBy = (p: Phase) => [...accepted].filter(([, a]) => a.phase === p).map(([id]) => id);
const lostBefore = acceptedBy("before").filter((id) => !logged.has(id));
const lostAfter = acceptedBy("after").filter((id) => !logged.has(id));
const twice = [...logged.values()].filter((n) => n > 1).length;
const strangers = [...logged.keys()].filter((id) => !accepted.has(id)).length;
const ordersLogged = logged.size;
const workflows = db.query("SELECT status, COUNT(*) AS n FROM workflows GROUP BY status");
const workflowsTotal = db.one("SELECT COUNT(*) AS n FROM workflows");
const nonTerminal = db.one(
  "SELECT COUNT(*) AS n FROM workflows WHERE status NOT IN ('completed', 'rejected', 'timed_out')",
);
const startedNoWorkflow = db.one(
  `SELECT COUNT(*) AS n FROM events e WHERE e.source = '${SOURCE}' AND e.type = 'order.placed'
     AND NOT EXISTS (SELECT 1 FROM workflows w WHERE w.id = e.correlation_id)`,
);
const doubleOutcomes = db.one(
  `SELECT COUNT(*) AS n FROM (SELECT correlation_id FROM events
     WHERE type IN ('order.confirmed', 'order.rejected', 'order.timed_out') GROUP BY correlation_id HAVING COUNT(*) > 1)`,
);
const outcomeMissing = db.one(
  `SELECT COUNT(*) AS n FROM workflows w WHERE w.outcome_event_id IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = w.outcome_event_id)`,
);
const deliveries = db.one("SELECT COUNT(*) AS n FROM deliveries");
const unresolved = db.one(
  `SELECT COUNT(*) AS n FROM deliveries d LEFT JOIN agent_runs r
     ON r.event_source = d.event_source AND r.event_id = d.event_id AND r.agent = d.agent
   WHERE r.status IS NULL OR r.status NOT IN ('succeeded', 'dead_lettered')`,
);
const runs = db.query("SELECT status, COUNT(*) AS n FROM agent_runs GROUP BY status");
const timedOut = db.one("SELECT COUNT(*) AS n FROM workflows WHERE status = 'timed_out'");
// Events agents published (the send to the events queue succeeded, the run recorded them) that the
// local queue lost with the crash before the route consumer logged them.
const emitsLost = db.one(
  `SELECT COUNT(*) AS n FROM agent_runs r, json_each(r.output, '$.events') j
    WHERE r.status = 'succeeded' AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = j.value ->> '$.id')`,
);
rmSync(dir, { recursive: true, force: true });

const fmt = (rows: Record<string, unknown>[]) => rows.map((r) => `${String(r.status)} ${String(r.n)}`).join(", ");
const checks: [string, boolean, string][] = [
  [
    "every accepted event logged exactly once",
    lostAfter.length === 0 && twice === 0 && strangers === 0,
    `${accepted.size} accepted (${acceptedBy("before").length} before the kill), ${ordersLogged} logged, ` +
      `${twice} twice, ${lostAfter.length} lost after the restart, ${strangers} logged but never accepted`,
  ],
  [
    "every workflow terminal",
    nonTerminal === 0 && startedNoWorkflow === 0 && workflowsTotal === ordersLogged,
    `${ordersLogged} orders logged, ${workflowsTotal} workflows (${fmt(workflows)}), ${nonTerminal} not terminal, ` +
      `${startedNoWorkflow} orders without one`,
  ],
  [
    "one outcome per workflow, each in the log",
    doubleOutcomes === 0 && outcomeMissing === 0,
    `${doubleOutcomes} with two outcomes, ${outcomeMissing} outcomes missing from the log`,
  ],
  ["every delivery terminal", unresolved === 0, `${deliveries} deliveries, ${unresolved} open; runs: ${fmt(runs)}`],
];
console.log("\n| check | result | counts |\n|---|---|---|");
for (const [name, ok, detail] of checks) console.log(`| ${name} | ${ok ? "ok" : "FAILED"} | ${detail} |`);
console.log(
  `| accepted (202) before the kill, never logged: lost with Miniflare's in-memory queue, unrepairable locally | ` +
    `${lostBefore.length === 0 ? "none" : "LOST"} | ${lostBefore.length} of ${acceptedBy("before").length}` +
    `${lostBefore.length ? ` (${lostBefore.slice(0, 5).join(", ")}${lostBefore.length > 5 ? ", …" : ""})` : ""} |`,
);
console.log(
  `| published by an agent run, never logged: lost with the in-memory queue (workflows waiting on them time out) | ` +
    `${emitsLost === 0 ? "none" : "LOST"} | ${emitsLost} events |`,
);
console.log("\n| repair kind | repaired | unrepairable | total in `sweeps` |\n|---|---|---|---|");
for (const [kind, c] of Object.entries(repairs)) {
  console.log(`| ${kind} | ${c.repaired} | ${c.unrepairable} | ${totals.totals[kind]?.repaired ?? 0} |`);
}
console.log(
  `\n${sweeps} sweeps; ${alarmsMissing} coordinators found without their alarm; ${timedOut} workflows timed out; ` +
    `down ${(downMs / 1000).toFixed(1)} s; requests: ${JSON.stringify(statuses)}`,
);
process.exit(checks.every(([, ok]) => ok) ? 0 : 1);
