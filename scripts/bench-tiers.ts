// `npm run bench:tiers`: the model-tier policy on a labelled synthetic set of order events, through the
// real SDK against a fake Messages API with realistic token counts and latencies. Runs the set twice —
// tiered (Haiku first) and always-escalate (Sonnet only) — and reports cost per 1,000 events, the
// escalation rate and reasons, latency per tier, and accuracy against the labels.
// Options: --n (1000), --concurrency (100), --seed (42), --large (0.03: the share of orders of 5,000 or more).
import { parseArgs } from "node:util";
import fraudScreen from "../agents/fraud-screen";
import { normalize } from "../src/bus/envelope";
import { DEFAULT_TIERS } from "../src/models/catalog";
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
const random = prng(Number(values.seed) + 1);
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

/** How each model behaves on each kind of order. */
function reply(model: string, order: LabelledOrder): FakeReply {
  const label = order.label;
  if (model === DEFAULT_TIERS.escalation) {
    const risk = random() < 0.95 ? label : wrong(label);
    const a = answer(risk, between(0.85, 0.97), between(120, 260));
    return { toolInput: a, delayMs: 900 + between(300, 1500) };
  }
  const fast = (a: ReturnType<typeof answer>) => ({ toolInput: a, delayMs: 250 + between(100, 450) });
  switch (order.difficulty) {
    case "easy":
      if (random() < 0.02) return { toolInput: { decision: { risk: "unsure" }, confidence: "high" }, delayMs: 300 };
      return fast(answer(label, between(0.82, 0.98), between(25, 60)));
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
const deps = { client: modelClient({ ANTHROPIC_API_KEY: "sk-ant-bench" }), models: DEFAULT_TIERS, budget: unlimited };

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
console.log(
  "| policy | cost / 1,000 events | vs always-escalate | escalation rate | accuracy | p50 decision | p99 decision |",
);
console.log("|---|---|---|---|---|---|---|");
for (const [name, r] of [
  ["tiered (Haiku → Sonnet)", tiered],
  ["always escalate (Sonnet)", always],
] as const) {
  console.log(
    `| ${name} | ${usd(r.costPer1000Usd)} | ${(r.costPer1000Usd / always.costPer1000Usd).toFixed(3)} | ${((r.escalated / N) * 100).toFixed(1)}% | ${(r.accuracy * 100).toFixed(1)}% | ${ms(r.endToEnd.p50)} | ${ms(r.endToEnd.p99)} |`,
  );
}
console.log(
  `\nescalation reasons (tiered): ${JSON.stringify(tiered.reasons)}; runs with a policy violation recorded: ${tiered.violations}`,
);
console.log("\n| tier (tiered run) | calls | tokens in+out | p50 latency | p99 latency |");
console.log("|---|---|---|---|---|");
for (const [name, t] of [
  ["triage (Haiku)", tiered.triage],
  ["escalation (Sonnet)", tiered.escalation],
] as const) {
  console.log(`| ${name} | ${t.calls} | ${t.tokens} | ${ms(t.latency.p50)} | ${ms(t.latency.p99)} |`);
}
const ratio = tiered.costPer1000Usd / always.costPer1000Usd;
console.log(
  `\ntarget: at most 0.45 of the always-escalate cost — measured ${ratio.toFixed(3)} (${ratio <= 0.45 ? "met" : "NOT met"})`,
);
setModelFetch(undefined);
