// Prices as data, model lifecycle, usage accounting, and the fake Messages API refusing what the real
// API refuses — through the real SDK.
import { createExecutionContext } from "cloudflare:test";
import { APIError } from "@anthropic-ai/sdk";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { resolveModels } from "../src/models/lineup";
import { readUsage } from "../src/models/call";
import { modelClient, setModelFetch } from "../src/models/client";
import { BUILT_IN_PRICES, mergePrices, NO_USAGE, parsePriceOverrides, PriceTable } from "../src/models/prices";
import { escalationAfterTriage } from "../src/runtime/tiers";
import { fakeMessagesApi } from "./support/fake-anthropic";
import { ADMIN } from "./support/helpers";
import worker from "./support/worker";

const table = new PriceTable(BUILT_IN_PRICES);
const NOV = new Date("2026-11-22T12:00:00Z");
afterEach(() => {
  setModelFetch(undefined);
  vi.useRealTimers();
});

describe("prices", () => {
  it("prices every kind of token of the 5.5 lineup in micro-dollars", () => {
    const usage = {
      ...NO_USAGE,
      inputTokens: 10_000,
      outputTokens: 1_000,
      cacheWrite5mTokens: 2_000,
      cacheWrite1hTokens: 1_000,
      cacheReadTokens: 20_000,
    };
    // Haiku 5.5: 10000×0.10 + 1000×0.50 + 2000×0.125 + 1000×0.20 + 20000×0.01
    expect(table.costMicros("claude-haiku-5-5", usage, NOV)).toBe(1_000 + 500 + 250 + 200 + 200);
    // Sonnet 5.5: 10000×2 + 1000×10 + 2000×2.5 + 1000×4 + 20000×0.10
    expect(table.costMicros("claude-sonnet-5-5", usage, NOV)).toBe(20_000 + 10_000 + 5_000 + 4_000 + 2_000);
    // Opus 5.5: 10000×4 + 1000×20 + 2000×5 + 1000×8 + 20000×0.20
    expect(table.costMicros("claude-opus-5-5", usage, NOV)).toBe(40_000 + 20_000 + 10_000 + 8_000 + 4_000);
  });

  it("bills every token of a Haiku 5.5 request over 100,000 prompt tokens (cache included) at the long rates", () => {
    const at = (input: number, read: number) =>
      table.costMicros(
        "claude-haiku-5-5",
        { ...NO_USAGE, inputTokens: input, cacheReadTokens: read, outputTokens: 1_000 },
        NOV,
      );
    // Exactly 100,000 is not over: 80000×0.10 + 20000×0.01 + 1000×0.50
    expect(at(80_000, 20_000)).toBe(8_000 + 200 + 500);
    // 100,001: 80001×0.50 + 20000×0.05 + 1000×2.50, every token at the higher rates
    expect(at(80_001, 20_000)).toBe(Math.ceil(80_001 * 0.5) + 1_000 + 2_500);
  });

  it("prices a cache read by the date of the call when its price changed on a date", () => {
    const usage = { ...NO_USAGE, cacheReadTokens: 1_000_000 };
    expect(table.costMicros("claude-sonnet-5-5", usage, new Date("2026-10-06T23:59:59Z"))).toBe(200_000);
    expect(table.costMicros("claude-sonnet-5-5", usage, new Date("2026-10-07T00:00:00Z"))).toBe(100_000);
  });

  it("takes the operator's MODEL_PRICES: replaces, adds a dated change, adds a model", () => {
    const parsed = parsePriceOverrides(
      JSON.stringify([
        { model: "claude-haiku-5-5", input: 0.2, output: 1, cacheWrite5m: 0.25, cacheWrite1h: 0.4, cacheRead: 0.02 },
        {
          model: "claude-sonnet-5-5",
          from: "2027-01-01",
          input: 1,
          output: 5,
          cacheWrite5m: 1.25,
          cacheWrite1h: 2,
          cacheRead: 0.1,
        },
        { model: "claude-future-6", input: 1, output: 2, cacheWrite5m: 1, cacheWrite1h: 1, cacheRead: 0.1 },
      ]),
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const merged = new PriceTable(mergePrices(BUILT_IN_PRICES, parsed.entries));
    const usage = { ...NO_USAGE, inputTokens: 1_000_000 };
    // An undated override replaces every built-in entry of the model, long-prompt band included.
    expect(merged.costMicros("claude-haiku-5-5", { ...usage, inputTokens: 200_000 }, NOV)).toBe(40_000);
    expect(merged.costMicros("claude-sonnet-5-5", usage, NOV)).toBe(2_000_000);
    expect(merged.costMicros("claude-sonnet-5-5", usage, new Date("2027-01-02T00:00:00Z"))).toBe(1_000_000);
    expect(merged.costMicros("claude-future-6", usage, NOV)).toBe(1_000_000);
    const setup = resolveModels(
      { ESCALATION_MODEL: "claude-future-6", MODEL_PRICES: JSON.stringify(parsed.entries) },
      NOV,
    );
    expect(setup).toMatchObject({ ok: true, setup: { tiers: { escalation: "claude-future-6" } } });
  });

  it("refuses malformed MODEL_PRICES at start-up, naming the problem", () => {
    expect(resolveModels({ MODEL_PRICES: "{not json" }, NOV)).toMatchObject({
      ok: false,
      problems: [expect.stringContaining("MODEL_PRICES is not JSON")],
    });
    const negative = [
      { model: "claude-haiku-5-5", input: -1, output: 1, cacheWrite5m: 1, cacheWrite1h: 1, cacheRead: 1 },
    ];
    expect(resolveModels({ MODEL_PRICES: JSON.stringify(negative) }, NOV)).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/MODEL_PRICES .*0\.input/)],
    });
    const twice = [negative[0], negative[0]].map((e) => ({ ...e, input: 1 }));
    expect(resolveModels({ MODEL_PRICES: JSON.stringify(twice) }, NOV)).toMatchObject({
      ok: false,
      problems: [expect.stringContaining("twice")],
    });
    expect(resolveModels({ TRIAGE_MODEL: "claude-nonsense-1" }, NOV)).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/TRIAGE_MODEL "claude-nonsense-1" has no price: use one of claude-haiku-5-5/)],
    });
  });
});

describe("model lifecycle", () => {
  it("defaults to Haiku 5.5 for triage and Sonnet 5.5 for escalation", () => {
    expect(resolveModels({}, NOV)).toEqual({
      ok: true,
      setup: expect.objectContaining({
        tiers: { triage: "claude-haiku-5-5", escalation: "claude-sonnet-5-5" },
        warnings: [],
      }),
    });
  });

  it("warns within 30 days of a configured model's end of life, and refuses it from that day", () => {
    const vars = { ESCALATION_MODEL: "claude-sonnet-4-5" };
    expect(resolveModels(vars, new Date("2026-10-01T00:00:00Z"))).toMatchObject({ ok: true, setup: { warnings: [] } });
    expect(resolveModels(vars, NOV)).toMatchObject({
      ok: true,
      setup: {
        warnings: [expect.stringMatching(/reaches end of life on 2026-11-30 \(in 8 days\).*claude-sonnet-5-5/)],
      },
    });
    expect(resolveModels(vars, new Date("2026-11-30T00:00:00Z"))).toEqual({
      ok: false,
      problems: [
        'ESCALATION_MODEL "claude-sonnet-4-5" reached end of life on 2026-11-30: set ESCALATION_MODEL to claude-sonnet-5-5',
      ],
    });
  });

  it("shows the warning in GET /v1/stats", async () => {
    vi.useFakeTimers({ now: NOV, toFake: ["Date"] });
    const res = await worker.fetch(
      new Request("https://agentwire.test/v1/stats", { headers: ADMIN }),
      { ...env, ESCALATION_MODEL: "claude-sonnet-4-5" },
      createExecutionContext(),
    );
    const body = await res.json<{ modelConfiguration: { ok: boolean; warnings: string[] } }>();
    expect(body.modelConfiguration).toMatchObject({
      ok: true,
      warnings: [expect.stringContaining("claude-sonnet-4-5")],
    });
  });
});

describe("usage", () => {
  it("accounts cache writes split by TTL where the API reports them, and as 5-minute writes otherwise", () => {
    const base = { input_tokens: 10, output_tokens: 20, cache_read_input_tokens: 30, cache_creation_input_tokens: 700 };
    const split = readUsage({
      ...base,
      cache_creation: { ephemeral_5m_input_tokens: 300, ephemeral_1h_input_tokens: 400 },
      output_tokens_details: { thinking_tokens: 12 },
    } as never);
    expect(split).toEqual({
      inputTokens: 10,
      outputTokens: 20,
      cacheReadTokens: 30,
      cacheWrite5mTokens: 300,
      cacheWrite1hTokens: 400,
      thinkingTokens: 12,
    });
    expect(readUsage({ ...base, cache_creation: null } as never)).toMatchObject({
      cacheWrite5mTokens: 700,
      cacheWrite1hTokens: 0,
      thinkingTokens: 0,
    });
  });
});

describe("the fake Messages API refuses what the real one refuses", () => {
  const client = () => {
    const fake = fakeMessagesApi(() => ({ text: "ok" }), { today: "2026-12-01" });
    setModelFetch(fake.fetch);
    return modelClient({ ANTHROPIC_API_KEY: "k" })!;
  };
  const base = { max_tokens: 100, messages: [{ role: "user" as const, content: "hi" }] };
  const refused = async (params: Record<string, unknown>) => {
    const error = await client()
      .messages.create({ ...base, ...params } as never)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(APIError);
    const e = error as APIError;
    return { status: e.status, type: (e.error as { error?: { type?: string } }).error?.type };
  };
  const tool = { name: "t", input_schema: { type: "object" as const } };

  it("forced tool use on Sonnet 5.5 and Opus 5.5", async () => {
    for (const model of ["claude-sonnet-5-5", "claude-opus-5-5"])
      expect(await refused({ model, tools: [tool], tool_choice: { type: "tool", name: "t" } })).toEqual({
        status: 400,
        type: "invalid_request_error",
      });
  });

  it("sampling parameters and prefill on the 5.5 models", async () => {
    for (const param of [{ temperature: 0 }, { top_p: 0.9 }, { top_k: 5 }])
      expect((await refused({ model: "claude-haiku-5-5", ...param })).status).toBe(400);
    const prefill = [...base.messages, { role: "assistant", content: "{" }];
    expect((await refused({ model: "claude-sonnet-5-5", messages: prefill })).status).toBe(400);
  });

  it("an unknown model and a retired one: 404 not_found_error", async () => {
    expect(await refused({ model: "claude-imaginary-9" })).toEqual({ status: 404, type: "not_found_error" });
    expect(await refused({ model: "claude-sonnet-4-5" })).toEqual({ status: 404, type: "not_found_error" });
  });

  it("effort on a model that does not take it", async () => {
    expect((await refused({ model: "claude-haiku-4-5", output_config: { effort: "low" } })).status).toBe(400);
  });
});

describe("the escalation rule, alone (a pure function)", () => {
  const answer = (confidence: number, escalate = false) => ({
    answer: { decision: {}, confidence, escalate, rationale: "because" },
  });
  it("keeps a confident answer and escalates everything else, naming why", () => {
    expect(escalationAfterTriage(answer(0.9), 0.75, false)).toBeUndefined();
    expect(escalationAfterTriage(answer(0.9, true), 0.75, false)).toMatchObject({ reason: "asked" });
    expect(escalationAfterTriage(answer(0.5), 0.75, false)).toMatchObject({
      reason: "low_confidence",
      detail: "confidence 0.5 < 0.75",
    });
    expect(escalationAfterTriage(answer(0.99), 0.75, true)).toMatchObject({ reason: "suspected_injection" });
    for (const problem of ["refusal", "max_tokens", "invalid_output"] as const)
      expect(escalationAfterTriage({ problem }, 0.75, false)).toMatchObject({ reason: problem });
  });
});
