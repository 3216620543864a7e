// The tier policy of a model-backed agent: the cheap triage model decides first; the expensive model
// is asked only when triage is unsure, asks for it, fails validation or refuses, or a rule says so —
// and only while the budget allows. Without an API key the agent's own rules (the local model) answer.
import { z } from "zod";
import type { Envelope } from "../bus/envelope";
import { callModel, type CallResult } from "../models/call";
import { type Anthropic } from "../models/client";
import { costMicros, type ModelId, NO_USAGE, type Tier, type Usage } from "../models/catalog";
import { classifyModelError, type ModelFailure } from "../models/errors";
import { eventMessage, suspectedInjection, systemPrompt } from "../models/prompt";
import type { Violation } from "../db/runs";
import type { Agent, ModelSpec } from "./define";

export interface TierCall {
  tier: Tier | "local";
  model: ModelId | "local";
  usage: Usage;
  costMicros: number;
  latencyMs: number;
  outcome: "ok" | "invalid_output" | "refusal" | "max_tokens" | "error";
  confidence?: number;
}

export type EscalationReason =
  "rule" | "low_confidence" | "asked" | "invalid_output" | "refusal" | "max_tokens" | "suspected_injection";

export interface ModelDecision {
  decision: unknown;
  confidence: number;
  rationale: string;
  /** The tier whose decision stands. */
  tier: Tier | "local";
  model: ModelId | "local";
  calls: TierCall[];
  escalated: boolean;
  escalation?: { reason: EscalationReason; detail: string };
  /** Escalation was needed but the budget did not allow it: triage's (or the rules') decision stands. */
  budgetLimited: boolean;
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
  client: Anthropic | null;
  models: Record<Tier, ModelId>;
  budget: BudgetPort;
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
const DEFAULT_MAX_TOKENS = 1024;

function answerSchema(output: z.ZodType) {
  return z.object({
    decision: output,
    confidence: z.number().min(0).max(1),
    escalate: z.boolean(),
    rationale: z.string().max(4000),
  });
}

/** Worst-case cost of a call: the prompt (~4 characters a token, plus margin) and a full max_tokens answer. */
function worstCaseMicros(model: ModelId, promptChars: number, maxTokens: number): number {
  return costMicros(model, {
    ...NO_USAGE,
    inputTokens: Math.ceil((promptChars / 4) * 1.2) + 500,
    outputTokens: maxTokens,
  });
}

export async function decideWithModel(agent: Agent, event: Envelope, deps: TierDeps): Promise<ModelDecision> {
  const spec = agent.model as ModelSpec<Envelope, z.ZodType>;
  const Answer = answerSchema(spec.output);
  const violations: Violation[] = [];
  const injected = suspectedInjection(event.data);
  if (injected.length > 0) {
    violations.push({ kind: "prompt_injection_suspected", detail: `instruction-like text in ${injected.join(", ")}` });
  }

  const local = (): ModelDecision => {
    const started = Date.now();
    const answer = Answer.parse({ escalate: false, rationale: "the agent's rules", ...spec.local(event) });
    const call: TierCall = {
      tier: "local",
      model: "local",
      usage: NO_USAGE,
      costMicros: 0,
      latencyMs: Date.now() - started,
      outcome: "ok",
    };
    return {
      ...answer,
      tier: "local",
      model: "local",
      calls: [call],
      escalated: false,
      budgetLimited: false,
      violations,
    };
  };
  if (!deps.client) return local();
  const client = deps.client;

  const system = systemPrompt({ name: agent.name, description: agent.description, instructions: spec.instructions });
  const user = eventMessage(event);
  const maxTokens = spec.maxTokens ?? DEFAULT_MAX_TOKENS;
  const calls: TierCall[] = [];

  type Asked =
    | { cost: number; problem: "refusal" | "max_tokens" | "invalid_output" }
    | { cost: number; answer: z.output<typeof Answer> };
  const ask = async (tier: Tier): Promise<Asked> => {
    const model = deps.models[tier];
    let result: CallResult;
    try {
      result = await callModel(client, { model, system, schema: Answer, user, maxTokens });
    } catch (error) {
      calls.push({ tier, model, usage: NO_USAGE, costMicros: 0, latencyMs: 0, outcome: "error" });
      throw new ModelRunError(classifyModelError(error), calls);
    }
    const cost = costMicros(model, result.usage);
    const record = (outcome: TierCall["outcome"], confidence?: number) =>
      calls.push({
        tier,
        model,
        usage: result.usage,
        costMicros: cost,
        latencyMs: result.latencyMs,
        outcome,
        ...(confidence === undefined ? {} : { confidence }),
      });
    if (result.stopReason === "refusal" || result.stopReason === "max_tokens") {
      record(result.stopReason);
      return { cost, problem: result.stopReason };
    }
    const extra = Object.keys(typeof result.input === "object" && result.input ? result.input : {}).filter(
      (k) => !(k in Answer.shape),
    );
    if (extra.length > 0)
      violations.push({
        kind: "undeclared_output",
        detail: `${tier} returned fields outside the schema: ${extra.join(", ")}`,
      });
    const parsed = Answer.safeParse(result.input);
    if (!parsed.success) {
      record("invalid_output");
      return { cost, problem: "invalid_output" };
    }
    record("ok", parsed.data.confidence);
    return { cost, answer: parsed.data };
  };

  // 1. Triage, unless a rule already says the expensive tier must decide.
  const rule = spec.escalateWhen?.(event);
  let escalation: ModelDecision["escalation"];
  let triage: z.output<typeof Answer> | undefined;
  if (rule) {
    escalation = { reason: "rule", detail: rule };
  } else {
    const t = await ask("triage");
    await deps.budget.charge(event.correlationid, t.cost);
    const threshold = spec.confidenceThreshold ?? DEFAULT_THRESHOLD;
    if ("problem" in t) escalation = { reason: t.problem, detail: `triage ${t.problem.replace("_", " ")}` };
    else {
      triage = t.answer;
      if (t.answer.escalate)
        escalation = { reason: "asked", detail: `triage asked: ${t.answer.rationale.slice(0, 200)}` };
      else if (t.answer.confidence < threshold) {
        escalation = { reason: "low_confidence", detail: `confidence ${t.answer.confidence} < ${threshold}` };
      } else if (injected.length > 0) {
        escalation = { reason: "suspected_injection", detail: "the event tries to instruct the model" };
      }
    }
    if (!escalation && triage) {
      return {
        ...triage,
        tier: "triage",
        model: deps.models.triage,
        calls,
        escalated: false,
        budgetLimited: false,
        violations,
      };
    }
  }

  // 2. Escalation, if the ledger allows it. Otherwise nothing is dropped: triage's decision (or, if
  //    triage gave none, the agent's rules) stands, flagged budget_limited.
  const estimate = worstCaseMicros(deps.models.escalation, system.length + user.length, maxTokens);
  const reservation = await deps.budget.reserve(event.correlationid, estimate);
  if (!reservation.ok) {
    violations.push({
      kind: "budget_limited",
      detail: `${escalation?.reason ?? "escalation"} not escalated: ${reservation.reason}`,
    });
    const fallback = triage ? { ...triage, tier: "triage" as const, model: deps.models.triage } : local();
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
    ...e.answer,
    tier: "escalation",
    model: deps.models.escalation,
    calls,
    escalated: true,
    ...(escalation ? { escalation } : {}),
    budgetLimited: false,
    violations,
  };
}

/** What a run's model use is recorded as: per-tier calls, the outcome, and the counterfactual. */
export interface ModelAccounting {
  model: ModelId | "local" | null;
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
export function accounting(
  d: Pick<ModelDecision, "calls"> & Partial<Omit<ModelDecision, "calls">>,
  escalationModel: ModelId,
): ModelAccounting {
  const escalatedPast = d.calls.some((c) => c.tier === "escalation");
  const calls = d.calls.map((c) => ({
    ...c,
    alwaysEscalateMicros:
      c.tier === "escalation"
        ? c.costMicros
        : c.tier === "triage" && !escalatedPast
          ? costMicros(escalationModel, c.usage)
          : 0,
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
