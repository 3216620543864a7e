// The model lineup: which models exist, what each accepts, when each reaches end of life, and the
// tier defaults. Resolved once per isolate from the vars (TRIAGE_MODEL, ESCALATION_MODEL, MODEL_PRICES)
// with every problem named. Agents name a tier, never a model.
import { log } from "../log";
import { BUILT_IN_PRICES, mergePrices, parsePriceOverrides, PriceTable } from "./prices";

export type Tier = "triage" | "escalation";
export type ModelId = string;
export type Effort = "low" | "medium" | "high" | "xhigh" | "max";

export interface ModelInfo {
  /** Accepts `output_config.effort` (the 4.5 generation does not). */
  effort: boolean;
  /** Average characters per token of its tokenizer, for cost estimates (5.5 counts ~30% more tokens). */
  charsPerToken: number;
  /** From this UTC day (YYYY-MM-DD) the API refuses the model. */
  endOfLife?: string;
  /** What to move to. */
  successor?: ModelId;
}

export const MODELS: Readonly<Record<ModelId, ModelInfo>> = {
  "claude-haiku-5-5": { effort: true, charsPerToken: 3.1 },
  "claude-sonnet-5-5": { effort: true, charsPerToken: 3.1 },
  "claude-opus-5-5": { effort: true, charsPerToken: 3.1 },
  "claude-haiku-4-5": { effort: false, charsPerToken: 4, successor: "claude-haiku-5-5" },
  "claude-sonnet-4-5": { effort: false, charsPerToken: 4, endOfLife: "2026-11-30", successor: "claude-sonnet-5-5" },
};

/** A model known only from the operator's MODEL_PRICES is assumed current. */
const UNKNOWN_MODEL: ModelInfo = { effort: true, charsPerToken: 3 };

export const DEFAULT_TIERS: Readonly<Record<Tier, ModelId>> = {
  triage: "claude-haiku-5-5",
  escalation: "claude-sonnet-5-5",
};

/** Effort per tier unless the agent says otherwise: triage answers quickly, escalation thinks. */
export const DEFAULT_EFFORT: Readonly<Record<Tier, Effort>> = { triage: "low", escalation: "medium" };

/** Warn this many days ahead of a configured model's end of life. */
const WARN_DAYS = 30;
const DAY_MS = 86_400_000;

export interface ModelVars {
  TRIAGE_MODEL?: string;
  ESCALATION_MODEL?: string;
  MODEL_PRICES?: string;
}

export interface ModelSetup {
  tiers: Record<Tier, ModelId>;
  prices: PriceTable;
  /** Configured models that reach end of life within 30 days. */
  warnings: string[];
}

export type ModelSetupResult = { ok: true; setup: ModelSetup } | { ok: false; problems: string[] };

export function modelInfo(model: ModelId): ModelInfo {
  return Object.hasOwn(MODELS, model) ? MODELS[model]! : UNKNOWN_MODEL;
}

/** Validates the model vars as of `now`: unknown ids, retired models, malformed prices. */
export function resolveModels(vars: ModelVars, now: Date = new Date()): ModelSetupResult {
  const problems: string[] = [];
  const warnings: string[] = [];
  const overrides = parsePriceOverrides(vars.MODEL_PRICES);
  if (!overrides.ok) problems.push(overrides.problem);
  const prices = new PriceTable(mergePrices(BUILT_IN_PRICES, overrides.ok ? overrides.entries : []));
  const today = now.toISOString().slice(0, 10);
  const tiers = { ...DEFAULT_TIERS };
  for (const [tier, name] of [
    ["triage", "TRIAGE_MODEL"],
    ["escalation", "ESCALATION_MODEL"],
  ] as const) {
    const value = vars[name]?.trim();
    const model = value ? value : DEFAULT_TIERS[tier];
    tiers[tier] = model;
    if (!prices.has(model)) {
      problems.push(
        `${name} "${model}" has no price: use one of ${prices.models().join(", ")}, or add it to MODEL_PRICES`,
      );
      continue;
    }
    const { endOfLife, successor } = modelInfo(model);
    if (!endOfLife) continue;
    const instead = successor ? `set ${name} to ${successor}` : `choose another model`;
    if (today >= endOfLife) {
      problems.push(`${name} "${model}" reached end of life on ${endOfLife}: ${instead}`);
    } else if (Date.parse(`${endOfLife}T00:00:00Z`) - now.getTime() <= WARN_DAYS * DAY_MS) {
      const days = Math.ceil((Date.parse(`${endOfLife}T00:00:00Z`) - now.getTime()) / DAY_MS);
      warnings.push(`${name} "${model}" reaches end of life on ${endOfLife} (in ${days} days): ${instead}`);
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, setup: { tiers, prices, warnings } };
}

/** A configuration the model tiers cannot run with; runs of model-backed agents dead-letter with it. */
export class ModelConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid model configuration: ${problems.join("; ")}`);
    this.name = "ModelConfigError";
  }
}

const cache = new WeakMap<object, ModelSetupResult>();
const warned = new Set<string>();

/**
 * The model setup for this isolate's env, resolved once: problems are logged once and thrown to
 * every caller; end-of-life warnings are logged once per isolate.
 */
export function modelSetup(env: ModelVars): ModelSetup {
  let result = cache.get(env);
  if (!result) {
    result = resolveModels(env);
    cache.set(env, result);
    const lines = result.ok ? result.setup.warnings : result.problems;
    for (const line of lines) {
      if (warned.has(line)) continue;
      warned.add(line);
      log(result.ok ? "models.end_of_life_soon" : "models.config_invalid", { problem: line });
    }
  }
  if (!result.ok) throw new ModelConfigError(result.problems);
  return result.setup;
}
