// Aggregates behind GET /v1/stats: events, runs by tier, escalation per agent, tokens and cost by
// model, and what an always-escalate policy would have cost for the same runs.
import { z } from "zod";

const n = z
  .number()
  .nullable()
  .transform((v) => v ?? 0);
const EventRow = z.object({ type: z.string(), n });
const RunRow = z.object({
  agent: z.string(),
  status: z.string(),
  tier: z.string().nullable(),
  escalated: z.number().nullable(),
  escalation_reason: z.string().nullable(),
  budget_limited: z.number().nullable(),
  n,
});
const CallRow = z.object({
  model: z.string(),
  tier: z.string(),
  calls: n,
  input_tokens: n,
  output_tokens: n,
  cache_read_tokens: n,
  cache_write_tokens: n,
  cache_write_1h_tokens: n,
  thinking_tokens: n,
  cost_micros: n,
  always_escalate_micros: n,
  latency_ms: n,
});

const increment = (record: Record<string, number>, key: string, by: number) => {
  record[key] = (record[key] ?? 0) + by;
};

export async function stats(db: D1Database, since = 0) {
  const [events, runs, calls, deliveries, workflows] = await db.batch([
    db.prepare("SELECT type, COUNT(*) AS n FROM events WHERE logged_at >= ? GROUP BY type").bind(since),
    db
      .prepare(
        `SELECT agent, status, tier, escalated, escalation_reason, budget_limited, COUNT(*) AS n FROM agent_runs
          WHERE started_at >= ? GROUP BY agent, status, tier, escalated, escalation_reason, budget_limited`,
      )
      .bind(since),
    db
      .prepare(
        `SELECT model, tier, COUNT(*) AS calls, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
                SUM(cache_read_tokens) AS cache_read_tokens, SUM(cache_write_tokens) AS cache_write_tokens,
                SUM(cache_write_1h_tokens) AS cache_write_1h_tokens, SUM(thinking_tokens) AS thinking_tokens,
                SUM(cost_micros) AS cost_micros, SUM(always_escalate_micros) AS always_escalate_micros,
                SUM(latency_ms) AS latency_ms
           FROM model_calls WHERE recorded_at >= ? GROUP BY model, tier`,
      )
      .bind(since),
    db
      .prepare("SELECT COUNT(*) AS total, COALESCE(SUM(held), 0) AS held FROM deliveries WHERE routed_at >= ?")
      .bind(since),
    db.prepare("SELECT status, COUNT(*) AS n FROM workflows WHERE started_at >= ? GROUP BY status").bind(since),
  ]);

  const byType: Record<string, number> = {};
  for (const e of z.array(EventRow).parse(events?.results)) byType[e.type] = e.n;

  const byStatus: Record<string, number> = {};
  const byTier: Record<string, number> = {};
  const byAgent: Record<
    string,
    { modelRuns: number; escalated: number; budgetLimited: number; rate: number; reasons: Record<string, number> }
  > = {};
  let modelRuns = 0;
  let escalatedRuns = 0;
  for (const r of z.array(RunRow).parse(runs?.results)) {
    increment(byStatus, r.status, r.n);
    increment(byTier, r.tier ?? "rules", r.n);
    if (r.tier === null) continue; // a rule-only agent, or a run without a model decision yet
    const agent = (byAgent[r.agent] ??= { modelRuns: 0, escalated: 0, budgetLimited: 0, rate: 0, reasons: {} });
    agent.modelRuns += r.n;
    modelRuns += r.n;
    if (r.escalated) {
      agent.escalated += r.n;
      escalatedRuns += r.n;
    }
    if (r.budget_limited) agent.budgetLimited += r.n;
    if (r.escalation_reason) increment(agent.reasons, r.escalation_reason, r.n);
  }
  for (const a of Object.values(byAgent)) a.rate = a.modelRuns ? a.escalated / a.modelRuns : 0;

  const models: Record<string, Record<string, number>> = {};
  let actual = 0;
  let always = 0;
  for (const c of z.array(CallRow).parse(calls?.results)) {
    const m = (models[c.model] ??= {
      calls: 0,
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      cacheWrite1hTokens: 0,
      thinkingTokens: 0,
      costMicros: 0,
      totalLatencyMs: 0,
    });
    m.calls = (m.calls ?? 0) + c.calls;
    m.inputTokens = (m.inputTokens ?? 0) + c.input_tokens;
    m.outputTokens = (m.outputTokens ?? 0) + c.output_tokens;
    m.cacheReadTokens = (m.cacheReadTokens ?? 0) + c.cache_read_tokens;
    m.cacheWriteTokens = (m.cacheWriteTokens ?? 0) + c.cache_write_tokens;
    m.cacheWrite1hTokens = (m.cacheWrite1hTokens ?? 0) + c.cache_write_1h_tokens;
    m.thinkingTokens = (m.thinkingTokens ?? 0) + c.thinking_tokens;
    m.costMicros = (m.costMicros ?? 0) + c.cost_micros;
    m.totalLatencyMs = (m.totalLatencyMs ?? 0) + c.latency_ms;
    actual += c.cost_micros;
    always += c.always_escalate_micros;
  }

  const d = z.object({ total: n, held: n }).parse(deliveries?.results[0] ?? { total: 0, held: 0 });
  const workflowsByStatus: Record<string, number> = {};
  for (const w of z.array(z.object({ status: z.string(), n })).parse(workflows?.results))
    workflowsByStatus[w.status] = w.n;
  return {
    since,
    events: { total: Object.values(byType).reduce((a, b) => a + b, 0), byType },
    deliveries: d,
    workflows: workflowsByStatus,
    runs: { total: Object.values(byStatus).reduce((a, b) => a + b, 0), byStatus, byTier },
    escalation: { modelRuns, escalated: escalatedRuns, rate: modelRuns ? escalatedRuns / modelRuns : 0, byAgent },
    models,
    cost: {
      actualMicros: actual,
      alwaysEscalateMicros: always,
      /** Actual spend as a fraction of the always-escalate spend. */
      ratio: always ? actual / always : null,
    },
  };
}
