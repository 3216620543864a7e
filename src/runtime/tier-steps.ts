// The steps of one model-backed decision, each named: begin (schema, injection scan), the local
// model, asking one tier, and the agent's guard as a floor. src/runtime/tiers.ts puts them in order.
import type { ZodType } from "zod";
import type { Envelope } from "../bus/envelope";
import type { Violation } from "../db/runs";
import { callModel, type CallResult } from "../models/call";
import type { Anthropic } from "../models/client";
import { classifyModelError } from "../models/errors";
import { DEFAULT_EFFORT, type ModelSetup, type Tier } from "../models/lineup";
import { NO_USAGE } from "../models/prices";
import { suspectedInjection } from "../models/prompt";
import type { Agent, ModelSpec } from "./define";
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
  spec: ModelSpec<Envelope, ZodType>;
  Answer: ReturnType<typeof answerSchema>;
  event: Envelope;
  injectionSuspected: boolean;
  calls: TierCall[];
  violations: Violation[];
}

/** The answer schema, and a scan of everything the model is shown for text that tries to instruct it. */
export function begin(agent: Agent, event: Envelope): Run {
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
    spec,
    Answer: answerSchema(spec.output),
    event,
    injectionSuspected: injected.length > 0,
    calls: [],
    violations,
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
  client: Anthropic;
  setup: ModelSetup;
  system: string;
  user: string;
  gate: TierDeps["gate"];
}

export type Asked =
  { cost: number; problem: "refusal" | "max_tokens" | "invalid_output" } | { cost: number; answer: Answer };

/** One call to one tier, recorded: an answer, a problem that escalates, or a ModelRunError. */
export async function ask(run: Run, a: Asking, tier: Tier): Promise<Asked> {
  const model = a.setup.tiers[tier];
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
    const call = () => callModel(a.client, input);
    result = await (a.gate ? a.gate(call) : call());
  } catch (error) {
    const latencyMs = Date.now() - at.getTime();
    run.calls.push({
      tier,
      model,
      usage: NO_USAGE,
      costMicros: 0,
      escalationPriceMicros: 0,
      latencyMs,
      outcome: "error",
    });
    throw new ModelRunError(classifyModelError(error), run.calls);
  }
  const cost = a.setup.prices.costMicros(model, result.usage, at);
  const record = (outcome: TierCall["outcome"], confidence?: number) =>
    run.calls.push({
      tier,
      model,
      usage: result.usage,
      costMicros: cost,
      escalationPriceMicros: a.setup.prices.costMicros(a.setup.tiers.escalation, result.usage, at),
      latencyMs: result.latencyMs,
      outcome,
      ...(confidence === undefined ? {} : { confidence }),
    });
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
