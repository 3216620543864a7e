// Model ids, prices and the tier defaults: the one place they live. Agents name a tier, never a model.
import { z } from "zod";

/** US dollars per million tokens. Cache writes (5-minute) cost 1.25× input, cache reads 0.1×. */
export const PRICES = {
  "claude-haiku-4-5": { input: 1, output: 5 },
  "claude-sonnet-4-5": { input: 3, output: 15 },
  "claude-opus-4-5": { input: 5, output: 25 },
} as const satisfies Record<string, { input: number; output: number }>;

export type ModelId = keyof typeof PRICES;
export type Tier = "triage" | "escalation";

export const DEFAULT_TIERS: Record<Tier, ModelId> = {
  triage: "claude-haiku-4-5",
  escalation: "claude-sonnet-4-5",
};

const ModelIdSchema = z.enum(Object.keys(PRICES) as [ModelId, ...ModelId[]]);

/** The model for each tier: the defaults, overridden by the TRIAGE_MODEL / ESCALATION_MODEL vars. */
export function tierModels(vars: { TRIAGE_MODEL?: string; ESCALATION_MODEL?: string }): Record<Tier, ModelId> {
  const pick = (value: string | undefined, fallback: ModelId, name: string): ModelId => {
    if (value === undefined || value === "") return fallback;
    const parsed = ModelIdSchema.safeParse(value);
    if (!parsed.success) throw new Error(`${name} "${value}" has no price in src/models/catalog.ts`);
    return parsed.data;
  };
  return {
    triage: pick(vars.TRIAGE_MODEL, DEFAULT_TIERS.triage, "TRIAGE_MODEL"),
    escalation: pick(vars.ESCALATION_MODEL, DEFAULT_TIERS.escalation, "ESCALATION_MODEL"),
  };
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export const NO_USAGE: Usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };

/** Cost in micro-dollars (1e-6 USD), rounded up so that nothing is under-counted. */
export function costMicros(model: ModelId, usage: Usage): number {
  const p = PRICES[model];
  // $ per million tokens is exactly micro-dollars per token.
  const micros =
    usage.inputTokens * p.input +
    usage.cacheWriteTokens * p.input * 1.25 +
    usage.cacheReadTokens * p.input * 0.1 +
    usage.outputTokens * p.output;
  return Math.ceil(Math.round(micros * 1000) / 1000);
}
