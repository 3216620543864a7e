// The tier policy's vocabulary: what a decision, a call and an escalation are, what the policy needs
// (client, lineup and prices, budget), and the answer every model is asked for.
import { z } from "zod";
import type { Violation } from "../db/runs";
import type { ModelId, ModelSetup, Tier } from "../models/lineup";
import type { Anthropic } from "../models/client";
import type { ModelFailure } from "../models/errors";
import type { Usage } from "../models/prices";

export interface TierCall {
  tier: Tier | "local";
  model: ModelId; // or "local"
  usage: Usage;
  costMicros: number;
  /** The same usage at the escalation model's prices: the always-escalate counterfactual. */
  escalationPriceMicros: number;
  latencyMs: number;
  /** `tool_use`: a turn of a tool loop; `replayed`: a step an earlier attempt paid for, reused. */
  outcome: "ok" | "invalid_output" | "refusal" | "max_tokens" | "error" | "tool_use" | "replayed";
  confidence?: number;
}

export type EscalationReason =
  | "rule"
  | "guard"
  | "low_confidence"
  | "asked"
  | "invalid_output"
  | "refusal"
  | "max_tokens"
  | "bounded"
  | "suspected_injection";

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

/** What every model is asked for: the agent's decision, with confidence, escalate and rationale. */
export function answerSchema(output: z.ZodType) {
  return z.object({
    decision: output,
    confidence: z.number().min(0).max(1),
    escalate: z.boolean(),
    rationale: z.string().max(4000),
  });
}
export type Answer = z.output<ReturnType<typeof answerSchema>>;
