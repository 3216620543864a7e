// Model prices as data: US$ per million tokens (= micro-dollars per token) per model, each entry
// effective from a UTC date, with an optional long-prompt band. Operators add or override entries
// with the MODEL_PRICES var (JSON), validated here at start-up.
import { z } from "zod";

const rate = z.number().nonnegative().max(1_000);

/** What one token of each kind costs, in micro-dollars. */
const RatesSchema = z.strictObject({
  input: rate,
  output: rate,
  /** Cache writes with the default 5-minute TTL. */
  cacheWrite5m: rate,
  /** Cache writes with the 1-hour TTL. */
  cacheWrite1h: rate,
  cacheRead: rate,
});
export type Rates = z.infer<typeof RatesSchema>;

export const PriceEntrySchema = z.strictObject({
  model: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,99}$/, "a model id such as claude-sonnet-5-5"),
  /** First UTC day (YYYY-MM-DD) the entry applies to; absent: from the beginning. */
  from: z.iso.date().optional(),
  ...RatesSchema.shape,
  /**
   * A request whose prompt (input + cache writes + cache reads) is over `overTokens` is billed at
   * these rates for every token of that request, output included.
   */
  longPrompt: z.strictObject({ overTokens: z.number().int().positive(), ...RatesSchema.shape }).optional(),
});
export type PriceEntry = z.infer<typeof PriceEntrySchema>;

/** Prices as of 2026-11 (Anthropic's model pages; see DESIGN.md). */
export const BUILT_IN_PRICES: readonly PriceEntry[] = [
  {
    model: "claude-haiku-5-5",
    input: 0.1,
    output: 0.5,
    cacheWrite5m: 0.125,
    cacheWrite1h: 0.2,
    cacheRead: 0.01,
    longPrompt: { overTokens: 100_000, input: 0.5, output: 2.5, cacheWrite5m: 0.625, cacheWrite1h: 1, cacheRead: 0.05 },
  },
  { model: "claude-sonnet-5-5", input: 2, output: 10, cacheWrite5m: 2.5, cacheWrite1h: 4, cacheRead: 0.2 },
  {
    model: "claude-sonnet-5-5",
    from: "2026-10-07",
    input: 2,
    output: 10,
    cacheWrite5m: 2.5,
    cacheWrite1h: 4,
    cacheRead: 0.1,
  },
  { model: "claude-opus-5-5", input: 4, output: 20, cacheWrite5m: 5, cacheWrite1h: 8, cacheRead: 0.2 },
  { model: "claude-haiku-4-5", input: 1, output: 5, cacheWrite5m: 1.25, cacheWrite1h: 2, cacheRead: 0.1 },
  { model: "claude-sonnet-4-5", input: 3, output: 15, cacheWrite5m: 3.75, cacheWrite1h: 6, cacheRead: 0.3 },
];

export interface Usage {
  /** Uncached input tokens. */
  inputTokens: number;
  /** Output tokens, thinking included. */
  outputTokens: number;
  cacheReadTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  /** Of outputTokens, those spent thinking (for the record; billed as output). */
  thinkingTokens: number;
}

export const NO_USAGE: Usage = {
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  thinkingTokens: 0,
};

/** Tokens of the prompt, cached or not: what the long-prompt band is measured on. */
export const promptTokens = (u: Usage) =>
  u.inputTokens + u.cacheReadTokens + u.cacheWrite5mTokens + u.cacheWrite1hTokens;

/** The price table in force: built-in entries merged with the operator's, grouped by model. */
export class PriceTable {
  private readonly byModel = new Map<string, PriceEntry[]>();

  constructor(entries: readonly PriceEntry[]) {
    for (const entry of entries) {
      const list = this.byModel.get(entry.model) ?? [];
      list.push(entry);
      this.byModel.set(entry.model, list);
    }
    // Oldest first; an undated entry is the oldest.
    for (const list of this.byModel.values()) list.sort((a, b) => (a.from ?? "").localeCompare(b.from ?? ""));
  }

  has(model: string): boolean {
    return this.byModel.has(model);
  }

  models(): string[] {
    return [...this.byModel.keys()];
  }

  /** The entry in force on the day of `at`: the latest one whose `from` is not after that day. */
  entryAt(model: string, at: Date): PriceEntry {
    const list = this.byModel.get(model);
    if (!list?.length) throw new Error(`no price for model "${model}"`);
    const day = at.toISOString().slice(0, 10);
    let chosen = list[0]!;
    for (const entry of list) if ((entry.from ?? "") <= day) chosen = entry;
    return chosen;
  }

  /** Cost in micro-dollars, rounded up so that nothing is under-counted. */
  costMicros(model: string, usage: Usage, at: Date = new Date()): number {
    const entry = this.entryAt(model, at);
    const r: Rates = entry.longPrompt && promptTokens(usage) > entry.longPrompt.overTokens ? entry.longPrompt : entry;
    const micros =
      usage.inputTokens * r.input +
      usage.outputTokens * r.output +
      usage.cacheWrite5mTokens * r.cacheWrite5m +
      usage.cacheWrite1hTokens * r.cacheWrite1h +
      usage.cacheReadTokens * r.cacheRead;
    return Math.ceil(Math.round(micros * 1000) / 1000);
  }
}

/**
 * Merges the operator's entries over the built-in ones. An operator entry without `from` replaces
 * every built-in entry of its model; one with `from` replaces the built-in entry of the same date,
 * or adds a price change on that date.
 */
export function mergePrices(builtIn: readonly PriceEntry[], overrides: readonly PriceEntry[]): PriceEntry[] {
  const replacedWhole = new Set(overrides.filter((o) => o.from === undefined).map((o) => o.model));
  const key = (e: PriceEntry) => `${e.model}@${e.from ?? ""}`;
  const overridden = new Set(overrides.map(key));
  return [...builtIn.filter((e) => !replacedWhole.has(e.model) && !overridden.has(key(e))), ...overrides];
}

/** Parses MODEL_PRICES: a JSON array of price entries; empty or unset means none. */
export function parsePriceOverrides(
  value: string | undefined,
): { ok: true; entries: PriceEntry[] } | { ok: false; problem: string } {
  if (value === undefined || value.trim() === "") return { ok: true, entries: [] };
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (error) {
    return {
      ok: false,
      problem: `MODEL_PRICES is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const parsed = z.array(PriceEntrySchema).max(200).safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    return { ok: false, problem: `MODEL_PRICES is not a list of price entries: ${issues}` };
  }
  const seen = new Set<string>();
  for (const e of parsed.data) {
    const k = `${e.model}@${e.from ?? ""}`;
    if (seen.has(k)) return { ok: false, problem: `MODEL_PRICES lists ${e.model} from ${e.from ?? "the start"} twice` };
    seen.add(k);
  }
  return { ok: true, entries: parsed.data };
}
