// `npm run bench:workflows`: agentwire against Cloudflare Workflows and the bare queue hop, each on its
// own fresh `wrangler dev`, one after the other, so that every figure is a ratio from one run:
// (1) N agents of L ms, parallel and chained, one workflow at a time; (2) at L = 0, webhook → outcome
// at a steady rate; (3) flat out; (4) CPU per workflow of wrangler's Node process and workerd;
// (5) routing one event to 50 of 200 agents. Options: --latency (200), --repeat (10), --n (300),
// --rate (20), --flat-n (1000), --concurrency (32), --only (bare,cfwf,agentwire,wide).
import { parseArgs } from "node:util";
import { ms, num, percent, ratio, table } from "./lib/markdown";
import { idleCpu, type LoadResult, loadRun, oneAtATime, reloadHint, type Summary } from "./lib/phases";
import type { CpuUse } from "./lib/proc";
import { type RoutingResult, routingProbe } from "./lib/routing";
import { benchEvent, type Shape, startSystem, type SystemKind, wideEvent } from "./lib/systems";

const { values } = parseArgs({
  options: {
    latency: { type: "string", default: "200" },
    repeat: { type: "string", default: "10" },
    n: { type: "string", default: "300" },
    rate: { type: "string", default: "20" },
    "flat-n": { type: "string", default: "1000" },
    concurrency: { type: "string", default: "32" },
    only: { type: "string", default: "bare,cfwf,agentwire,wide" },
    // agentwire's LOG_LEVEL: "info" (the default: a line per event, run and workflow step) or "warn".
    "log-level": { type: "string", default: "info" },
  },
});
const L = Number(values.latency);
const REPEAT = Number(values.repeat);
const N0 = Number(values.n);
const RATE = Number(values.rate);
const FLAT_N = Number(values["flat-n"]);
const C = Number(values.concurrency);
const KINDS: SystemKind[] = ["bare", "cfwf", "agentwire", "wide"];
const only = values.only.split(",").map((s) => s.trim());
for (const k of only) if (!KINDS.includes(k as SystemKind)) throw new Error(`--only: unknown system "${k}"`);

const SHAPES: { shape: Shape; ideal: number }[] = [
  { shape: { mode: "parallel", n: 3, latencyMs: L }, ideal: L },
  { shape: { mode: "parallel", n: 8, latencyMs: L }, ideal: L },
  { shape: { mode: "chained", n: 3, latencyMs: L }, ideal: 3 * L },
  { shape: { mode: "chained", n: 8, latencyMs: L }, ideal: 8 * L },
];
const AT_ZERO: Shape = { mode: "parallel", n: 3, latencyMs: 0 };

interface Measured {
  shapes?: Summary[];
  idle?: CpuUse;
  steady?: LoadResult;
  flat?: LoadResult;
  routing?: RoutingResult;
}
const results: Partial<Record<SystemKind, Measured>> = {};

console.log(
  `workflow benchmark: ${only.join(", ")}; L = ${L} ms, ${REPEAT} runs per shape; at L = 0: ${N0} at ${RATE}/s, ` +
    `${FLAT_N} flat out (${C} in flight); agentwire LOG_LEVEL=${values["log-level"]}`,
);
for (const kind of KINDS.filter((k) => only.includes(k))) {
  const started = performance.now();
  const system = await startSystem(kind, { LOG_LEVEL: values["log-level"] });
  const m: Measured = {};
  try {
    if (kind === "wide") {
      m.routing = await routingProbe(system, (id) => wideEvent(id, 0), REPEAT);
    } else {
      await oneAtATime(system, AT_ZERO, 3); // warm-up: first requests compile and open databases
      if (kind !== "bare") {
        m.shapes = [];
        for (const { shape } of SHAPES) m.shapes.push(await oneAtATime(system, shape, REPEAT));
      }
      if (kind === "agentwire") {
        m.routing = await routingProbe(
          system,
          (id) => benchEvent(id, { mode: "parallel", n: 8, latencyMs: 0 }),
          REPEAT,
        );
      }
      m.idle = await idleCpu(system, 3000);
      m.steady = await loadRun(system, AT_ZERO, N0, C, RATE);
      m.flat = await loadRun(system, AT_ZERO, FLAT_N, C);
    }
  } finally {
    const hint = reloadHint(system);
    await system.stop();
    if (hint) console.log(`WARNING ${kind}:${hint}; its figures are not comparable`);
  }
  results[kind] = m;
  console.log(`${kind}: measured in ${Math.round((performance.now() - started) / 1000)} s`);
}

const { bare, cfwf, agentwire: aw, wide } = results;
const NAMES = ["bare hop", "CF Workflows", "agentwire", "agentwire / CF Workflows", "agentwire / bare"];
const count = (v?: number) => num(v);
/** One row across the three systems and the two ratios, from a figure of each. */
const across = (label: string, pick: (m: Measured) => number | undefined, format: (v?: number) => string) => {
  const [b, c, a] = [bare, cfwf, aw].map((m) => (m ? pick(m) : undefined));
  return [label, format(b), format(c), format(a), ratio(a, c), ratio(a, b)];
};

if (cfwf?.shapes || aw?.shapes) {
  for (const [name, m] of [
    ["CF Workflows", cfwf],
    ["agentwire", aw],
  ] as const) {
    if (!m?.shapes) continue;
    const rows = SHAPES.map(({ shape, ideal }, i) => {
      const s = m.shapes![i]!;
      return [shape.mode, String(shape.n), ms(ideal), ms(s.p50), ms(s.p90), ms(s.max)];
    });
    console.log(`\n${table([`${name}, L = ${L} ms, ${REPEAT} runs`, "N", "ideal", "p50", "p90", "max"], rows)}`);
  }
  const p50 = (m: Measured | undefined, i: number) => m?.shapes?.[i]?.p50;
  const rows = SHAPES.flatMap(({ shape, ideal }, i) => {
    const [c, a] = [p50(cfwf, i), p50(aw, i)];
    const label = `${shape.n} ${shape.mode}`;
    const row = [`${label}, p50`, ms(ideal), ms(c), ms(a), ratio(a, c)];
    if (L === 0) return [row];
    const eff = (v?: number) => (v === undefined ? undefined : ideal / v);
    return [row, [`${label}, efficiency ideal / p50`, "100%", percent(eff(c)), percent(eff(a)), ratio(eff(a), eff(c))]];
  });
  console.log(
    `\n${table([`L = ${L} ms, one at a time`, "ideal", "CF Workflows", "agentwire", "agentwire / CF Workflows"], rows)}`,
  );
}

if (bare?.steady || cfwf?.steady || aw?.steady) {
  type Row = [label: string, pick: (m: Measured) => number | undefined, format: (v?: number) => string];
  const print = (title: string, rows: Row[]) =>
    console.log(
      `\n${table(
        [title, ...NAMES],
        rows.map(([label, pick, format]) => across(label, pick, format)),
      )}`,
    );
  const s = (pick: (l: LoadResult) => number) => (m: Measured) => (m.steady ? pick(m.steady) : undefined);
  const f = (pick: (l: LoadResult) => number) => (m: Measured) => (m.flat ? pick(m.flat) : undefined);
  print(`L = 0, 3 agents, ${N0} at ${RATE}/s`, [
    ["p50", s((l) => l.latency.p50), ms],
    ["p90", s((l) => l.latency.p90), ms],
    ["p99", s((l) => l.latency.p99), ms],
    ["max", s((l) => l.latency.max), ms],
    ["decided at the deadline, not joined (should be 0)", s((l) => l.atDeadline), count],
  ]);
  print(`flat out: ${FLAT_N} workflows, ${C} in flight`, [
    ["completed/s (first send → last completion)", f((l) => l.completedPerSecond), count],
    ["accepted/s (first send → last 202)", f((l) => l.acceptedPerSecond), count],
    ["first send → last completion", f((l) => l.spanMs), ms],
    ["completion latency p50", f((l) => l.latency.p50), ms],
    ["completion latency max", f((l) => l.latency.max), ms],
    ["decided at the deadline, not joined (should be 0)", f((l) => l.atDeadline), count],
  ]);
  const per = (kind: keyof CpuUse) => (l: LoadResult) => l.cpu[kind] / l.n;
  /** CPU per workflow above what the tree uses idle (polled the same way) over the same wall time. */
  const aboveIdle = (m: Measured, l?: LoadResult) =>
    l && m.idle ? (l.cpu.total - (m.idle.total / m.idle.wallMs) * l.cpu.wallMs) / l.n : undefined;
  const busy = (l: LoadResult) => l.cpu.total / l.cpu.wallMs;
  const cpu = (v?: number) => num(v, 1, " ms");
  const cores = (v?: number) => num(v, 2);
  print("CPU per workflow (wrangler dev's process tree)", [
    [`wrangler's Node, at ${RATE}/s`, s(per("node")), cpu],
    [`workerd, at ${RATE}/s`, s(per("workerd")), cpu],
    [`other (esbuild), at ${RATE}/s`, s(per("other")), cpu],
    [`total, at ${RATE}/s`, s(per("total")), cpu],
    [`total above idle, at ${RATE}/s`, (m) => aboveIdle(m, m.steady), cpu],
    [`cores busy, at ${RATE}/s`, s(busy), cores],
    ["cores busy, idle (polling completions)", (m) => m.idle && m.idle.total / m.idle.wallMs, cores],
    ["wrangler's Node, flat out", f(per("node")), cpu],
    ["workerd, flat out", f(per("workerd")), cpu],
    ["total, flat out", f(per("total")), cpu],
    ["total above idle, flat out", (m) => aboveIdle(m, m.flat), cpu],
    ["cores busy, flat out", f(busy), cores],
  ]);
}

if (aw?.routing || wide?.routing) {
  const [a, w] = [aw?.routing, wide?.routing];
  const lines = [...new Set([a?.routeLine, w?.routeLine].filter(Boolean))].join(" / ");
  const row = (label: string, pick: (r: RoutingResult) => number, format: (v?: number) => string) => {
    const [x, y] = [a && pick(a), w && pick(w)];
    return [label, format(x), format(y), ratio(y, x)];
  };
  console.log(
    `\n${table(
      [`one event at a time, L = 0, ${REPEAT} runs`, "bench registry", "wide registry", "wide / bench"],
      [
        row("agents registered", (r) => r.registered, count),
        row("agents that hear the event", (r) => r.heard, count),
        row(`routing as logged (latencyMs of its ${lines || "route"} line), p50`, (r) => r.route.p50, ms),
        row("events.logged_at − received_at, p50", (r) => r.logged.p50, ms),
        row("last run started − logged_at, p50", (r) => r.dispatched.p50, ms),
        row("all runs finished − sent, p50", (r) => r.runsDone.p50, ms),
        row("workflow completed − sent, p50", (r) => r.completed.p50, ms),
        row("workflow completed − sent, p90", (r) => r.completed.p90, ms),
      ],
    )}`,
  );
}
