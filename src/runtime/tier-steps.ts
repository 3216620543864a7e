// The steps of one model-backed decision, each named: begin (schema, injection scan), the local
// model, asking one tier, and the agent's guard as a floor. src/runtime/tiers.ts puts them in order.
import type { ZodType } from "zod";
import type { Envelope } from "../bus/envelope";
import type { Violation } from "../db/runs";
import type { ModelReply } from "../db/steps";
import { answerOf, callModel, type CallResult } from "../models/call";
import type { Anthropic } from "../models/client";
import { classifyModelError } from "../models/errors";
import { DEFAULT_EFFORT, type ModelSetup, type Tier } from "../models/lineup";
import { NO_USAGE, type Usage } from "../models/prices";
import { suspectedInjection } from "../models/prompt";
import type { Agent, ModelSpec } from "./define";
import { StepLog } from "./steps";
import type { ToolCall } from "./tools";
import {
  type Answer,
  answerSchema,
  type ModelDecision,
  ModelRunError,
  type TierCall,
  type TierDeps,
} from "./tier-types";

/** Output token caps per tier: escalation models may think first, and thinking counts as output. */
const DEFAULT_MAX_TOKENS: Record<Tier, number> = { triage: 1024, escalation: 4096 };

/** One decision in progress: what it is about, and what it has recorded so far. */
export interface Run {
  /** The agent's name. */
  agent: string;
  spec: ModelSpec<Envelope, ZodType>;
  Answer: ReturnType<typeof answerSchema>;
  event: Envelope;
  injectionSuspected: boolean;
  calls: TierCall[];
  violations: Violation[];
  /** The run's steps: recorded ones replay, new ones are recorded as they complete. */
  steps: StepLog;
  /** What a tool's function is lent for step `n` (capabilities, event, idempotency key). */
  toolCall: (step: number) => ToolCall;
}

/** Per run: its step log and what its tools are lent. Without one, nothing is recorded or lent. */
export interface RunDeps {
  steps: StepLog;
  toolCall: (step: number) => ToolCall;
}

/** The answer schema, and a scan of everything the model is shown for text that tries to instruct it. */
export function begin(agent: Agent, event: Envelope, per?: RunDeps): Run {
  const spec = agent.model as Run["spec"];
  const injected = [
    ...suspectedInjection(event.data),
    ...suspectedInjection({ id: event.id, source: event.source, subject: event.subject ?? "" }, "event"),
  ];
  const violations: Violation[] = [];
  if (injected.length > 0) {
    violations.push({ kind: "prompt_injection_suspected", detail: `instruction-like text in ${injected.join(", ")}` });
  }
  return {
    agent: agent.name,
    spec,
    Answer: answerSchema(spec.output),
    event,
    injectionSuspected: injected.length > 0,
    calls: [],
    violations,
    steps: per?.steps ?? StepLog.none(),
    toolCall:
      per?.toolCall ??
      ((step) => ({
        ctx: { attempt: 1 },
        event,
        step,
        idempotencyKey: `${event.source} ${event.id} ${agent.name} ${step}`,
      })),
  };
}

export const maxTokens = (run: Run, tier: Tier) => run.spec.maxTokens ?? DEFAULT_MAX_TOKENS[tier];

/** The agent's rules answer (no API key, or no budget and no triage answer). */
export function decideLocally(run: Run): ModelDecision {
  const started = Date.now();
  const answer = run.Answer.parse({ escalate: false, rationale: "the agent's rules", ...run.spec.local(run.event) });
  run.calls.push({
    tier: "local",
    model: "local",
    usage: NO_USAGE,
    costMicros: 0,
    escalationPriceMicros: 0,
    latencyMs: Date.now() - started,
    outcome: "ok",
  });
  const { calls, violations } = run;
  return { ...answer, tier: "local", model: "local", calls, escalated: false, budgetLimited: false, violations };
}

/** The agent's objection to a decision below its floor (validated like any decision), if any. */
export function objection(run: Run, answer: Answer): { decision: unknown; reason: string } | undefined {
  const o = run.spec.guard?.(run.event, answer.decision, { injectionSuspected: run.injectionSuspected });
  return o ? { decision: run.spec.output.parse(o.decision), reason: o.reason } : undefined;
}

/** The decision, raised to the agent's floor when it is below it (and recorded as overruled). */
export function floored<T extends Answer>(run: Run, answer: T): T & { overruled?: string } {
  const o = objection(run, answer);
  if (!o) return answer;
  run.violations.push({ kind: "model_overruled", detail: o.reason });
  return { ...answer, decision: o.decision, overruled: o.reason };
}

/** What asking needs beyond the run: a client, the lineup and prices, and the prompt. */
export interface Asking {
  /** null only while replaying recorded outputs: a step that is not recorded then fails the run. */
  client: Anthropic | null;
  setup: ModelSetup;
  system: string;
  user: string;
  gate: TierDeps["gate"];
}

export type Asked =
  | { cost: number; problem: "refusal" | "max_tokens" | "invalid_output" | "bounded"; detail?: string }
  /** The budget ledger refused the tier's (next) call: nothing was asked. */
  | { cost: number; refused: string }
  | { cost: number; answer: Answer };

/**
 * One call to one tier, recorded as a step: an answer, a problem that escalates, or a ModelRunError.
 * A step a previous attempt recorded is replayed instead of paid for again.
 */
export async function ask(run: Run, a: Asking, tier: Tier): Promise<Asked> {
  const model = a.setup.tiers[tier];
  const replayed = run.steps.replayModel(tier, model);
  if (replayed) {
    const { reply } = replayed;
    const result = { ...reply, output: answerOf(reply.content), latencyMs: 0 };
    return judged(run, a, tier, result, new Date(), true);
  }
  const effort = run.spec.effort?.[tier] ?? DEFAULT_EFFORT[tier];
  const at = new Date();
  let result: CallResult;
  try {
    const input = {
      model,
      system: a.system,
      schema: run.Answer,
      user: a.user,
      maxTokens: maxTokens(run, tier),
      effort,
    };
    const client = liveClient(a, run);
    const call = () => callModel(client, input);
    result = await (a.gate ? a.gate(call) : call());
  } catch (error) {
    throw failedCall(run, tier, model, Date.now() - at.getTime(), error);
  }
  const reply = { content: result.content, stopReason: result.stopReason, usage: result.usage };
  await recordReply(run, tier, model, reply, a.setup.prices.costMicros(model, result.usage, at), result.latencyMs);
  return judged(run, a, tier, result, at, false);
}

/** A call that failed: recorded on the run (nothing paid), and the error the queue should act on. */
export function failedCall(run: Run, tier: Tier, model: string, latencyMs: number, error: unknown): ModelRunError {
  const zero = { usage: NO_USAGE, costMicros: 0, escalationPriceMicros: 0 };
  run.calls.push({ tier, model, ...zero, latencyMs, outcome: "error" });
  return new ModelRunError(classifyModelError(error), run.calls);
}

/** Records a paid reply as the run's next step, before anything else happens. */
export async function recordReply(
  run: Run,
  tier: Tier,
  model: string,
  reply: ModelReply,
  costMicros: number,
  latencyMs: number,
): Promise<void> {
  const step = run.steps.take();
  await run.steps.record({
    kind: "model",
    step,
    tier,
    model,
    reply,
    costMicros,
    latencyMs,
    attempt: run.steps.attempt,
  });
}

/** The client for a live call; there is none only in a recorded replay, which must not get here. */
export function liveClient(a: Asking, run: Run): Anthropic {
  if (a.client) return a.client;
  throw new ModelRunError({ action: "dead_letter", message: "no ANTHROPIC_API_KEY for a model call" }, run.calls);
}

/**
 * Accounts for one reply on the run: what it cost this attempt (nothing when replayed from the
 * record) and the always-escalate counterfactual. Returns the cost.
 */
export function accountReply(
  run: Run,
  a: Asking,
  tier: Tier,
  reply: { usage: Usage; latencyMs: number; at: Date; replayed: boolean },
  outcome: TierCall["outcome"],
  confidence?: number,
): number {
  const { usage, latencyMs, at, replayed } = reply;
  const model = a.setup.tiers[tier];
  const costMicros = replayed ? 0 : a.setup.prices.costMicros(model, usage, at);
  run.calls.push({
    tier,
    model,
    usage: replayed ? NO_USAGE : usage,
    costMicros,
    escalationPriceMicros: replayed ? 0 : a.setup.prices.costMicros(a.setup.tiers.escalation, usage, at),
    latencyMs,
    outcome: replayed ? "replayed" : outcome,
    ...(confidence === undefined ? {} : { confidence }),
  });
  return costMicros;
}

/** Accounts for a reply (live, or replayed at no cost to this attempt) and judges its answer. */
export function judged(run: Run, a: Asking, tier: Tier, result: CallResult, at: Date, replayed: boolean): Asked {
  const model = a.setup.tiers[tier];
  const cost = replayed ? 0 : a.setup.prices.costMicros(model, result.usage, at);
  const record = (outcome: TierCall["outcome"], confidence?: number) =>
    accountReply(run, a, tier, { ...result, at, replayed }, outcome, confidence);
  if (result.stopReason === "refusal" || result.stopReason === "max_tokens") {
    record(result.stopReason);
    return { cost, problem: result.stopReason };
  }
  const output = typeof result.output === "object" && result.output ? result.output : {};
  const extra = Object.keys(output).filter((k) => !(k in run.Answer.shape));
  if (extra.length > 0) {
    const detail = `${tier} returned fields outside the schema: ${extra.join(", ")}`;
    run.violations.push({ kind: "undeclared_output", detail });
  }
  const parsed = run.Answer.safeParse(result.output);
  if (!parsed.success) {
    record("invalid_output");
    return { cost, problem: "invalid_output" };
  }
  record("ok", parsed.data.confidence);
  return { cost, answer: parsed.data };
}
