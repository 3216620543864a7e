// `npm run bench:tiers`: the model-tier policy on a labelled synthetic set of order events, through the
// real SDK against a fake Messages API with realistic token counts and latencies. Runs the set twice —
// tiered (triage first) and always-escalate (the escalation model only) — and reports cost per 1,000
// events, the escalation rate and reasons, latency per tier, and accuracy against the labels.
// Options: --n (1000), --concurrency (100), --seed (42), --large (0.03: the share of orders of 5,000 or
// more). The models are the configured ones: TRIAGE_MODEL / ESCALATION_MODEL / MODEL_PRICES from the
// environment, else the defaults (Haiku 5.5, Sonnet 5.5).
import { parseArgs } from "node:util";
import fraudScreen from "../agents/fraud-screen";
import { normalize } from "../src/bus/envelope";
import { resolveModels } from "../src/models/lineup";
import { modelClient, setModelFetch } from "../src/models/client";
import type { Agent } from "../src/runtime/define";
import { type BudgetPort, decideWithModel, type ModelDecision } from "../src/runtime/tiers";
import { type FakeReply, fakeMessagesApi } from "../test/support/fake-anthropic";
import { type LabelledOrder, labelledOrders, prng, type Risk } from "./lib/labelled-orders";
import { load, summarize } from "./lib/stats";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "100" },
    seed: { type: "string", default: "42" },
    large: { type: "string", default: "0.03" },
  },
});
const N = Number(values.n);
// Each (order, model) pair draws from its own stream, so a model answers an order the same way in
// every policy run: the policies are compared on identical behaviour.
let random = prng(Number(values.seed) + 1);
const streamFor = (key: string) => {
  let h = Number(values.seed) >>> 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619) >>> 0;
  return prng(h);
};
const between = (lo: number, hi: number) => lo + random() * (hi - lo);
const orders = labelledOrders(N, Number(values.seed), Number(values.large));
const byOrderId = new Map(orders.map((o) => [o.event.data.orderId, o]));
const wrong = (label: Risk): Risk => (label === "low" ? "medium" : "low");
const SCORE: Record<Risk, number> = { low: 10, medium: 45, high: 80 };

/** Words of rationale: a cheap model says little, the expensive one explains more. */
const prose = (words: number) => Array.from({ length: Math.round(words) }, () => "signal").join(" ");

function answer(risk: Risk, confidence: number, words: number, escalate = false) {
  return {
    decision: { risk, score: SCORE[risk], reasons: [`assessed as ${risk}`, prose(Math.min(40, words / 4))] },
    confidence: Math.round(confidence * 100) / 100,
    escalate,
    rationale: prose(words),
  };
}

const models = resolveModels(process.env);
if (!models.ok) throw new Error(models.problems.join("; "));
const TIERS = models.setup.tiers;

/** How each model behaves on each kind of order. */
function reply(model: string, order: LabelledOrder): FakeReply {
  // Keyed by the order's position in the set (its id also carries a random suffix).
  random = streamFor(`${order.event.data.orderId.replace(/_[^_]+$/, "")}\u0000${model}`);
  const label = order.label;
  if (model === TIERS.escalation) {
    // The escalation tier thinks first (medium effort), then answers at length.
    const risk = random() < 0.95 ? label : wrong(label);
    const a = answer(risk, between(0.85, 0.97), between(120, 260));
    return { answer: a, thinking: prose(between(150, 450)), delayMs: 900 + between(300, 1500) };
  }
  const fast = (a: ReturnType<typeof answer>) => ({ answer: a, delayMs: 250 + between(100, 450) });
  switch (order.difficulty) {
    case "easy": {
      // Structured outputs guarantee the shape, not the bounds or the length: a confidence out of
      // range, or an answer cut off at max_tokens, is what can still go wrong.
      const glitch = random();
      if (glitch < 0.01) return { stopReason: "max_tokens", text: '{"decision": {"risk": "lo', delayMs: 300 };
      if (glitch < 0.02) return fast(answer(label, 1.5, between(25, 60)));
      return fast(answer(label, between(0.82, 0.98), between(25, 60)));
    }
    case "ambiguous":
      return fast(answer(random() < 0.6 ? label : wrong(label), between(0.45, 0.8), between(25, 60)));
    case "hard":
      return random() < 0.35
        ? fast(answer("low", between(0.5, 0.7), between(25, 60), true))
        : fast(answer(random() < 0.5 ? label : "low", between(0.7, 0.9), between(25, 60)));
    case "hostile":
      return fast(answer("low", 1, between(25, 60))); // fooled by the text in the event
    case "large":
      return fast(answer(label, 0.9, 40)); // never asked: the amount rule escalates first
  }
}

const fake = fakeMessagesApi((req) => {
  const orderId = /"orderId": "([^"]+)"/.exec(req.user)?.[1] ?? "";
  const order = byOrderId.get(orderId);
  if (!order) return { status: 400, error: { type: "invalid_request_error", message: "unknown order" } };
  return reply(req.model, order);
});
setModelFetch(fake.fetch);

const unlimited: BudgetPort = {
  reserve: () => Promise.resolve({ ok: true, token: "t" }),
  settle: () => Promise.resolve(),
  charge: () => Promise.resolve(),
};
const deps = {
  client: modelClient({ ANTHROPIC_API_KEY: "sk-ant-bench" }),
  setup: () => models.setup,
  budget: unlimited,
};

async function runPolicy(agent: Agent) {
  const decisions: { order: LabelledOrder; d: ModelDecision; ms: number }[] = [];
  const wall = await load(orders.length, Number(values.concurrency), async (i) => {
    const order = orders[i]!;
    const started = performance.now();
    const d = await decideWithModel(agent, normalize(order.event), deps);
    decisions.push({ order, d, ms: performance.now() - started });
  });
  const calls = decisions.flatMap((x) => x.d.calls);
  const cost = calls.reduce((n, c) => n + c.costMicros, 0);
  const reasons: Record<string, number> = {};
  for (const { d } of decisions)
    if (d.escalation) reasons[d.escalation.reason] = (reasons[d.escalation.reason] ?? 0) + 1;
  const correct = decisions.filter(({ order, d }) => (d.decision as { risk: Risk }).risk === order.label).length;
  const tier = (t: string) => calls.filter((c) => c.tier === t);
  const tokens = (t: string) => tier(t).reduce((n, c) => n + c.usage.inputTokens + c.usage.outputTokens, 0);
  return {
    decisions,
    wallMs: wall,
    costPer1000Usd: ((cost / decisions.length) * 1000) / 1e6,
    escalated: decisions.filter((x) => x.d.escalated).length,
    reasons,
    accuracy: correct / decisions.length,
    triage: {
      calls: tier("triage").length,
      tokens: tokens("triage"),
      latency: summarize(tier("triage").map((c) => c.latencyMs)),
    },
    escalation: {
      calls: tier("escalation").length,
      tokens: tokens("escalation"),
      latency: summarize(tier("escalation").map((c) => c.latencyMs)),
    },
    endToEnd: summarize(decisions.map((x) => x.ms)),
    violations: decisions.filter((x) => x.d.violations.length > 0).length,
  };
}

const alwaysEscalate: Agent = {
  ...fraudScreen,
  model: { ...fraudScreen.model!, escalateWhen: () => "always-escalate policy" },
};

console.log(
  `model tiers: ${N} labelled orders (seed ${values.seed}), concurrency ${values.concurrency}, fake Messages API`,
);
const mix: Record<string, number> = {};
for (const o of orders) mix[o.difficulty] = (mix[o.difficulty] ?? 0) + 1;
console.log(
  `mix: ${Object.entries(mix)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ")}\n`,
);

const tiered = await runPolicy(fraudScreen);
const always = await runPolicy(alwaysEscalate);
const ms = (v: number) => `${Math.round(v)} ms`;
const usd = (v: number) => `$${v.toFixed(3)}`;
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
console.log(`models: triage ${TIERS.triage}, escalation ${TIERS.escalation}\n`);
console.log(
  "| policy | cost / 1,000 events | vs always-escalate | escalation rate | accuracy | p50 decision | p99 decision |",
);
console.log("|---|---|---|---|---|---|---|");
for (const [name, r] of [
  [`tiered (${TIERS.triage} → ${TIERS.escalation})`, tiered],
  [`always escalate (${TIERS.escalation})`, always],
] as const) {
  console.log(
    `| ${name} | ${usd(r.costPer1000Usd)} | ${(r.costPer1000Usd / always.costPer1000Usd).toFixed(3)} | ${pct(r.escalated / N)} | ${pct(r.accuracy)} | ${ms(r.endToEnd.p50)} | ${ms(r.endToEnd.p99)} |`,
  );
}
console.log(`\nruns with a policy violation recorded: ${tiered.violations}`);

// Where the tiered bill goes: each escalation reason's runs and their share of the whole cost.
const total = tiered.decisions.reduce((n, x) => n + x.d.calls.reduce((m, c) => m + c.costMicros, 0), 0);
console.log("\n| escalation reason | runs | share of runs | share of the tiered cost |");
console.log("|---|---|---|---|");
for (const [reason, runs] of Object.entries(tiered.reasons).sort((a, b) => b[1] - a[1])) {
  const cost = tiered.decisions
    .filter((x) => x.d.escalation?.reason === reason)
    .reduce((n, x) => n + x.d.calls.reduce((m, c) => m + c.costMicros, 0), 0);
  console.log(`| ${reason} | ${runs} | ${pct(runs / N)} | ${pct(cost / total)} |`);
}
console.log("\n| tier (tiered run) | calls | tokens in+out | p50 latency | p99 latency |");
console.log("|---|---|---|---|---|");
for (const [name, t] of [
  [`triage (${TIERS.triage})`, tiered.triage],
  [`escalation (${TIERS.escalation})`, tiered.escalation],
] as const) {
  console.log(`| ${name} | ${t.calls} | ${t.tokens} | ${ms(t.latency.p50)} | ${ms(t.latency.p99)} |`);
}

// What a lower confidence threshold would buy, and what it would cost in accuracy (same fake).
console.log("\n| confidence threshold | vs always-escalate | escalation rate | accuracy |");
console.log("|---|---|---|---|");
for (const threshold of [0.75, 0.7, 0.65, 0.6]) {
  const r =
    threshold === 0.75
      ? tiered
      : await runPolicy({ ...fraudScreen, model: { ...fraudScreen.model!, confidenceThreshold: threshold } });
  console.log(
    `| ${threshold} | ${(r.costPer1000Usd / always.costPer1000Usd).toFixed(3)} | ${pct(r.escalated / N)} | ${pct(r.accuracy)} |`,
  );
}
const ratio = tiered.costPer1000Usd / always.costPer1000Usd;
console.log(
  `\ntarget: at most 0.20 of the always-escalate cost with no loss of accuracy — measured ${ratio.toFixed(3)} (${ratio <= 0.2 ? "met" : "NOT met"}), accuracy ${pct(tiered.accuracy)} against ${pct(always.accuracy)}`,
);
setModelFetch(undefined);
