// The tier policy of a model-backed agent: the cheap triage model decides first; the expensive model
// is asked only when triage is unsure, asks for it, fails validation or refuses, or a rule says so —
// and only while the budget allows. Without an API key the agent's own rules (the local model) answer.
import { z } from "zod";
import type { Envelope } from "../bus/envelope";
import type { Violation } from "../db/runs";
import { callModel, type CallResult } from "../models/call";
import {
  DEFAULT_EFFORT,
  ModelConfigError,
  type ModelId,
  modelInfo,
  type ModelSetup,
  type Tier,
} from "../models/lineup";
import { type Anthropic } from "../models/client";
import { classifyModelError, type ModelFailure } from "../models/errors";
import { NO_USAGE, type Usage } from "../models/prices";
import { eventMessage, suspectedInjection, systemPrompt } from "../models/prompt";
import type { Agent, ModelSpec } from "./define";

export interface TierCall {
  tier: Tier | "local";
  model: ModelId; // or "local"
  usage: Usage;
  costMicros: number;
  /** The same usage at the escalation model's prices: the always-escalate counterfactual. */
  escalationPriceMicros: number;
  latencyMs: number;
  outcome: "ok" | "invalid_output" | "refusal" | "max_tokens" | "error";
  confidence?: number;
}

export type EscalationReason =
  "rule" | "guard" | "low_confidence" | "asked" | "invalid_output" | "refusal" | "max_tokens" | "suspected_injection";

export interface Escalation {
  reason: EscalationReason;
  detail: string;
}

export interface ModelDecision {
  decision: unknown;
  confidence: number;
  rationale: string;
  /** The tier whose decision stands. */
  tier: Tier | "local";
  model: ModelId; // or "local"
  calls: TierCall[];
  escalated: boolean;
  escalation?: Escalation;
  /** Escalation was needed but the budget did not allow it: triage's (or the rules') decision stands. */
  budgetLimited: boolean;
  /** The agent's guard replaced the model's decision with a stricter one: why. */
  overruled?: string;
  violations: Violation[];
}

/** The strongly consistent spend ledger (a Durable Object in production, in memory in the benchmark). */
export interface BudgetPort {
  /** Reserves an escalation's worst-case cost, or refuses when a cap would be passed. */
  reserve(workflowId: string, micros: number): Promise<{ ok: true; token: string } | { ok: false; reason: string }>;
  /** Replaces a reservation with what the call really cost. */
  settle(token: string, micros: number): Promise<void>;
  /** Records spend that needs no permission (triage). */
  charge(workflowId: string, micros: number): Promise<void>;
}

export interface TierDeps {
  /** null: no API key, the agent's rules answer. */
  client: Anthropic | null;
  /** The models and prices in force; throws ModelConfigError when the configuration is unusable. */
  setup: () => ModelSetup;
  budget: BudgetPort;
  /** Runs a model call when a connection is free (default: at once). */
  gate?: <T>(call: () => Promise<T>) => Promise<T>;
}

/** A model call failed in a way the queue should handle (retry later, back off, dead-letter). */
export class ModelRunError extends Error {
  constructor(
    readonly failure: ModelFailure,
    readonly calls: TierCall[],
  ) {
    super(failure.message);
    this.name = "ModelRunError";
  }
}

const DEFAULT_THRESHOLD = 0.75;
/** Output token caps per tier: escalation models may think first, and thinking counts as output. */
const DEFAULT_MAX_TOKENS: Record<Tier, number> = { triage: 1024, escalation: 4096 };

function answerSchema(output: z.ZodType) {
  return z.object({
    decision: output,
    confidence: z.number().min(0).max(1),
    escalate: z.boolean(),
    rationale: z.string().max(4000),
  });
}
type Answer = z.output<ReturnType<typeof answerSchema>>;

/** Worst-case cost of a call: the prompt in the model's tokens (plus margin) and a full max_tokens answer. */
function worstCaseMicros(setup: ModelSetup, model: ModelId, promptChars: number, maxTokens: number): number {
  const inputTokens = Math.ceil((promptChars / modelInfo(model).charsPerToken) * 1.2) + 500;
  return setup.prices.costMicros(model, { ...NO_USAGE, inputTokens, outputTokens: maxTokens });
}

/** Why triage's answer (or its absence) goes to the escalation tier; undefined: it stands. Pure. */
export function escalationAfterTriage(
  triage: { answer: Answer } | { problem: "refusal" | "max_tokens" | "invalid_output" },
  threshold: number,
  injectionSuspected: boolean,
): Escalation | undefined {
  if ("problem" in triage) return { reason: triage.problem, detail: `triage ${triage.problem.replace("_", " ")}` };
  const { answer } = triage;
  if (answer.escalate) return { reason: "asked", detail: `triage asked: ${answer.rationale.slice(0, 200)}` };
  if (answer.confidence < threshold) {
    return { reason: "low_confidence", detail: `confidence ${answer.confidence} < ${threshold}` };
  }
  if (injectionSuspected) return { reason: "suspected_injection", detail: "the event tries to instruct the model" };
  return undefined;
}

type Asked = { cost: number; problem: "refusal" | "max_tokens" | "invalid_output" } | { cost: number; answer: Answer };

export async function decideWithModel(agent: Agent, event: Envelope, deps: TierDeps): Promise<ModelDecision> {
  const spec = agent.model as ModelSpec<Envelope, z.ZodType>;
  const Answer = answerSchema(spec.output);
  const violations: Violation[] = [];
  // Everything the model is shown: the data, and the attributes that go into the <event> tag.
  const injected = [
    ...suspectedInjection(event.data),
    ...suspectedInjection({ id: event.id, source: event.source, subject: event.subject ?? "" }, "event"),
  ];
  if (injected.length > 0) {
    violations.push({ kind: "prompt_injection_suspected", detail: `instruction-like text in ${injected.join(", ")}` });
  }
  const calls: TierCall[] = [];
  // The agent's floor under the model: its objection (validated like any decision), if any.
  const guard = (answer: Answer): { decision: unknown; reason: string } | undefined => {
    const objection = spec.guard?.(event, answer.decision, { injectionSuspected: injected.length > 0 });
    return objection ? { decision: spec.output.parse(objection.decision), reason: objection.reason } : undefined;
  };
  const floored = <T extends Answer>(answer: T): T & { overruled?: string } => {
    const objection = guard(answer);
    if (!objection) return answer;
    violations.push({ kind: "model_overruled", detail: objection.reason });
    return { ...answer, decision: objection.decision, overruled: objection.reason };
  };
  const local = (): ModelDecision => {
    const started = Date.now();
    const answer = Answer.parse({ escalate: false, rationale: "the agent's rules", ...spec.local(event) });
    calls.push({
      tier: "local",
      model: "local",
      usage: NO_USAGE,
      costMicros: 0,
      escalationPriceMicros: 0,
      latencyMs: Date.now() - started,
      outcome: "ok",
    });
    return { ...answer, tier: "local", model: "local", calls, escalated: false, budgetLimited: false, violations };
  };
  if (!deps.client) return local();
  const client = deps.client;
  let setup: ModelSetup;
  try {
    setup = deps.setup();
  } catch (error) {
    if (error instanceof ModelConfigError)
      throw new ModelRunError({ action: "dead_letter", message: error.message }, []);
    throw error;
  }

  const system = systemPrompt({ name: agent.name, description: agent.description, instructions: spec.instructions });
  const user = eventMessage(event);
  const maxTokens = (tier: Tier) => spec.maxTokens ?? DEFAULT_MAX_TOKENS[tier];

  const ask = async (tier: Tier): Promise<Asked> => {
    const model = setup.tiers[tier];
    const effort = spec.effort?.[tier] ?? DEFAULT_EFFORT[tier];
    let result: CallResult;
    const at = new Date();
    try {
      const call = () => callModel(client, { model, system, schema: Answer, user, maxTokens: maxTokens(tier), effort });
      result = await (deps.gate ? deps.gate(call) : call());
    } catch (error) {
      calls.push({
        tier,
        model,
        usage: NO_USAGE,
        costMicros: 0,
        escalationPriceMicros: 0,
        latencyMs: Date.now() - at.getTime(),
        outcome: "error",
      });
      throw new ModelRunError(classifyModelError(error), calls);
    }
    const cost = setup.prices.costMicros(model, result.usage, at);
    const record = (outcome: TierCall["outcome"], confidence?: number) =>
      calls.push({
        tier,
        model,
        usage: result.usage,
        costMicros: cost,
        escalationPriceMicros: setup.prices.costMicros(setup.tiers.escalation, result.usage, at),
        latencyMs: result.latencyMs,
        outcome,
        ...(confidence === undefined ? {} : { confidence }),
      });
    if (result.stopReason === "refusal" || result.stopReason === "max_tokens") {
      record(result.stopReason);
      return { cost, problem: result.stopReason };
    }
    const extra = Object.keys(typeof result.output === "object" && result.output ? result.output : {}).filter(
      (k) => !(k in Answer.shape),
    );
    if (extra.length > 0) {
      violations.push({
        kind: "undeclared_output",
        detail: `${tier} returned fields outside the schema: ${extra.join(", ")}`,
      });
    }
    const parsed = Answer.safeParse(result.output);
    if (!parsed.success) {
      record("invalid_output");
      return { cost, problem: "invalid_output" };
    }
    record("ok", parsed.data.confidence);
    return { cost, answer: parsed.data };
  };

  // 1. Triage, unless a rule already says the expensive tier must decide.
  const rule = spec.escalateWhen?.(event);
  let escalation: Escalation | undefined = rule ? { reason: "rule", detail: rule } : undefined;
  let triage: Answer | undefined;
  if (!rule) {
    const t = await ask("triage");
    await deps.budget.charge(event.correlationid, t.cost);
    if ("answer" in t) triage = t.answer;
    escalation = escalationAfterTriage(t, spec.confidenceThreshold ?? DEFAULT_THRESHOLD, injected.length > 0);
    const objection = triage && !escalation ? guard(triage) : undefined;
    if (objection) escalation = { reason: "guard", detail: objection.reason };
    if (!escalation && triage) {
      const base = { calls, escalated: false, budgetLimited: false, violations };
      return { ...triage, ...base, tier: "triage", model: setup.tiers.triage };
    }
  }

  // 2. Escalation, if the ledger allows it. Otherwise nothing is dropped: triage's decision (or, if
  //    triage gave none, the agent's rules) stands, flagged budget_limited.
  const promptChars = system.length + user.length;
  const estimate = worstCaseMicros(setup, setup.tiers.escalation, promptChars, maxTokens("escalation"));
  const reservation = await deps.budget.reserve(event.correlationid, estimate);
  if (!reservation.ok) {
    violations.push({
      kind: "budget_limited",
      detail: `${escalation?.reason ?? "escalation"} not escalated: ${reservation.reason}`,
    });
    const fallback = triage ? floored({ ...triage, tier: "triage" as const, model: setup.tiers.triage }) : local();
    return {
      ...fallback,
      calls,
      escalated: false,
      ...(escalation ? { escalation } : {}),
      budgetLimited: true,
      violations,
    };
  }
  let e: Asked;
  try {
    e = await ask("escalation");
  } catch (error) {
    await deps.budget.settle(reservation.token, 0);
    throw error;
  }
  await deps.budget.settle(reservation.token, e.cost);
  if ("problem" in e) {
    throw new ModelRunError(
      { action: "dead_letter", message: `escalation tier returned ${e.problem} (after ${escalation?.reason})` },
      calls,
    );
  }
  return {
    ...floored({ ...e.answer, tier: "escalation" as const, model: setup.tiers.escalation }),
    calls,
    escalated: true,
    ...(escalation ? { escalation } : {}),
    budgetLimited: false,
    violations,
  };
}

/** What a run's model use is recorded as: per-tier calls, the outcome, and the counterfactual. */
export interface ModelAccounting {
  model: ModelId | null; // or "local"
  tier: Tier | "local" | null;
  calls: (TierCall & { alwaysEscalateMicros: number })[];
  escalated: boolean;
  escalationReason?: EscalationReason;
  budgetLimited: boolean;
  costMicros: number;
}

/**
 * Accounts a decision (or the calls of a failed run). The always-escalate counterfactual prices each
 * call as if the escalation model had been asked directly: an escalation call as itself, a triage
 * call that decided on its own at the escalation model's prices, a triage call that was escalated
 * past as nothing (always-escalate would not have made it).
 */
export function accounting(d: Pick<ModelDecision, "calls"> & Partial<Omit<ModelDecision, "calls">>): ModelAccounting {
  const escalatedPast = d.calls.some((c) => c.tier === "escalation");
  const calls = d.calls.map((c) => ({
    ...c,
    alwaysEscalateMicros:
      c.tier === "escalation" ? c.costMicros : c.tier === "triage" && !escalatedPast ? c.escalationPriceMicros : 0,
  }));
  return {
    model: d.model ?? null,
    tier: d.tier ?? null,
    calls,
    escalated: d.escalated ?? false,
    ...(d.escalation ? { escalationReason: d.escalation.reason } : {}),
    budgetLimited: d.budgetLimited ?? false,
    costMicros: calls.reduce((n, c) => n + c.costMicros, 0),
  };
}
