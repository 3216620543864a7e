// `npm run bench:steps`: what recorded steps save when runs fail. Each support ticket goes through
// the example's model-backed agents — support-triage (a tool loop: look the customer up, then answer),
// reply-drafter and reply-policy (a second round for 30% of tickets) — through the real SDK against
// the fake Messages API, with the real tier policy. Failures: each model request is followed by a
// failure of its run with probability --failure (0.10), half at the API (a 529: unpaid, retried) and
// half after the reply was paid (the Worker lost: the queue redelivers). The queue retries a run up to
// 10 times. With step recording, a retry replays what its run already paid for; without, it starts
// over. Reports model requests, paid replies and cost per ticket, and the step writes recording costs.
// Options: --n (400), --failure (0.1), --seed (7).
import { parseArgs } from "node:util";
import replyDrafter from "../agents/reply-drafter";
import replyPolicy from "../agents/reply-policy";
import supportTriage from "../agents/support-triage";
import { type Envelope, normalize } from "../src/bus/envelope";
import type { Step } from "../src/db/steps";
import { readUsage } from "../src/models/call";
import { resolveModels } from "../src/models/lineup";
import { modelClient, setModelFetch } from "../src/models/client";
import type { Agent } from "../src/runtime/define";
import { StepLog } from "../src/runtime/steps";
import { type BudgetPort, decideWithModel, ModelRunError, type TierDeps } from "../src/runtime/tiers";
import { type FakeReply, fakeMessagesApi } from "../test/support/fake-anthropic";
import { prng } from "./lib/labelled-orders";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "400" },
    failure: { type: "string", default: "0.1" },
    seed: { type: "string", default: "7" },
  },
});
const N = Number(values.n);
const FAILURE = Number(values.failure);
const models = resolveModels(process.env);
if (!models.ok) throw new Error(models.problems.join("; "));
const setup = models.setup;

const words = (n: number) => Array.from({ length: n }, () => "detail").join(" ");
const answer = (decision: unknown): FakeReply => ({
  answer: { decision, confidence: 0.9, escalate: false, rationale: words(30) },
});
const agentOf = (system: string) => /^You are "([^"]+)"/.exec(system)?.[1] ?? "";

let random = prng(Number(values.seed));
/** Set per request by the fake; read by the run after the reply: crash now (after paying)? */
let crashAfterReply = false;
const fake = fakeMessagesApi((req) => {
  crashAfterReply = false;
  const roll = random();
  if (roll < FAILURE / 2) return { status: 529, error: { type: "overloaded_error", message: "Overloaded" } };
  crashAfterReply = roll < FAILURE;
  const agent = agentOf(req.system);
  if (agent === "support-triage") {
    if (req.toolResults.length === 0)
      return { toolUses: [{ name: "customer_history", input: { customerId: "cus_1" } }] };
    return answer({ category: "billing", priority: "normal", summary: "Charged twice", suggestedReply: words(40) });
  }
  if (agent === "reply-drafter") return answer({ reply: `Hello, thank you for writing. ${words(60)}` });
  return answer({ pass: true, score: 0.9, feedback: [] });
});
let paidMicros = 0;
let paidReplies = 0;
setModelFetch(async (input, init) => {
  const res = await fake.fetch(input, init);
  if (res.status === 200) {
    const body = await res.clone().json<{ model: string; usage: Parameters<typeof readUsage>[0] }>();
    paidMicros += setup.prices.costMicros(body.model, readUsage(body.usage));
    paidReplies++;
  }
  return res;
});

const unlimited: BudgetPort = {
  reserve: () => Promise.resolve({ ok: true, token: "t" }),
  settle: () => Promise.resolve(),
  charge: () => Promise.resolve(),
};
const deps: TierDeps = {
  client: modelClient({ ANTHROPIC_API_KEY: "sk-ant-bench" }),
  setup: () => setup,
  budget: unlimited,
};
const history = {
  ofCustomer: () =>
    Promise.resolve({ tickets: [], orders: [{ orderId: "ord_1", amount: 40, currency: "USD", placedAt: "" }] }),
};

/** One run under the queue's retries: with recording, steps persist across attempts. */
async function runWithRetries(agent: Agent, event: Envelope, recording: boolean, stats: { writes: number }) {
  const recorded: Step[] = [];
  for (let attempt = 1; attempt <= 10; attempt++) {
    const steps = new StepLog(recording ? [...recorded] : [], recording ? "resume" : "fresh", attempt, (step) => {
      if (recording) {
        stats.writes++;
        const i = recorded.findIndex((s) => s.step === step.step);
        if (i >= 0) recorded[i] = step;
        else recorded.push(step);
      }
      // The run dies right after this reply was paid for (and, when recording, recorded).
      if (step.kind === "model" && crashAfterReply) return Promise.reject(new Error("worker lost"));
      return Promise.resolve();
    });
    const toolCall = (step: number) => ({ ctx: { history, attempt }, event, step, idempotencyKey: `k${step}` });
    try {
      return await decideWithModel(agent, event, deps, { steps, toolCall });
    } catch (error) {
      if (!(error instanceof ModelRunError) && !(error instanceof Error && error.message === "worker lost"))
        throw error;
    }
  }
  throw new Error(`${agent.name} failed 10 times`);
}

const ev = (type: string, data: unknown, i: number): Envelope =>
  normalize({ specversion: "1.0", id: `evt-${type}-${i}`, source: "/bench", type, data });

async function ticket(i: number, recording: boolean, stats: { writes: number }) {
  const t = { ticketId: `tkt_${i}`, customerId: "cus_1", subject: "Charged twice", body: words(80) };
  await runWithRetries(supportTriage, ev("support.ticket.opened", t, i), recording, stats);
  const rounds = i % 10 < 3 ? 2 : 1;
  for (let round = 1; round <= rounds; round++) {
    const request = { ...t, category: "billing", round, feedback: round > 1 ? ["be specific"] : [] };
    await runWithRetries(replyDrafter, ev("support.reply.requested", request, i * 10 + round), recording, stats);
    const draft = { ticketId: t.ticketId, customerId: t.customerId, round, reply: "Hello, thank you." };
    await runWithRetries(replyPolicy, ev("support.reply.drafted", draft, i * 10 + round), recording, stats);
  }
}

async function measure(recording: boolean) {
  random = prng(Number(values.seed));
  const before = { requests: fake.requests.length, micros: paidMicros, replies: paidReplies };
  const stats = { writes: 0 };
  for (let i = 0; i < N; i++) await ticket(i, recording, stats);
  return {
    requests: (fake.requests.length - before.requests) / N,
    replies: (paidReplies - before.replies) / N,
    micros: (paidMicros - before.micros) / N,
    writes: stats.writes / N,
  };
}

const baseline = FAILURE;
const without = await measure(false);
const withSteps = await measure(true);
const row = (name: string, m: typeof without) =>
  `| ${name} | ${m.requests.toFixed(2)} | ${m.replies.toFixed(2)} | ${(m.micros / 1e6).toFixed(6)} | ${m.writes.toFixed(2)} |`;
console.log(
  `${N} tickets, failure rate ${baseline} (half 529 before paying, half lost after), models ${setup.tiers.triage} / ${setup.tiers.escalation}`,
);
console.log("| | model requests / ticket | paid replies / ticket | cost / ticket (US$) | step writes / ticket |");
console.log("|---|---:|---:|---:|---:|");
console.log(row("without step recording", without));
console.log(row("with step recording", withSteps));
console.log(
  `saved: ${((1 - withSteps.micros / without.micros) * 100).toFixed(1)}% of the cost, ${(without.requests - withSteps.requests).toFixed(2)} requests per ticket`,
);
