// Aggregates for the console's topology and costs views: per-agent health over a window (runs,
// failures, median latency), spend per agent and day, escalation reasons, and the costliest workflows.
import { z } from "zod";

const n = z
  .number()
  .nullable()
  .transform((v) => v ?? 0);

const HealthRow = z.object({ agent: z.string(), runs: n, failed: n, dead: n, running: n, p50: z.number().nullable() });

/** Per agent, over runs started since `since`: counts, the failure rate, and the median latency. */
export async function agentHealth(db: D1Database, since: number) {
  const [counts, medians] = await db.batch([
    db
      .prepare(
        `SELECT agent, COUNT(*) AS runs, SUM(status = 'failed') AS failed, SUM(status = 'dead_lettered') AS dead,
                SUM(status = 'running') AS running, NULL AS p50
           FROM agent_runs WHERE started_at >= ? GROUP BY agent`,
      )
      .bind(since),
    db
      .prepare(
        `SELECT agent, 0 AS runs, 0 AS failed, 0 AS dead, 0 AS running, latency_ms AS p50 FROM (
           SELECT agent, latency_ms, ROW_NUMBER() OVER (PARTITION BY agent ORDER BY latency_ms) AS rn,
                  COUNT(*) OVER (PARTITION BY agent) AS total
             FROM agent_runs WHERE started_at >= ? AND latency_ms IS NOT NULL)
          WHERE rn = (total + 1) / 2`,
      )
      .bind(since),
  ]);
  const p50 = new Map(
    z
      .array(HealthRow)
      .parse(medians?.results)
      .map((r) => [r.agent, r.p50]),
  );
  return new Map(
    z
      .array(HealthRow)
      .parse(counts?.results)
      .map((r) => [
        r.agent,
        {
          runs: r.runs,
          failed: r.failed,
          deadLettered: r.dead,
          running: r.running,
          errorRate: r.runs ? (r.failed + r.dead) / r.runs : 0,
          p50LatencyMs: p50.get(r.agent) ?? null,
        },
      ]),
  );
}

const SpendRow = z.object({ day: z.string(), agent: z.string(), calls: n, cost: n, always: n });
const ReasonRow = z.object({ agent: z.string(), reason: z.string().nullable(), runs: n, escalated: n, limited: n });
const WorkflowCostRow = z.object({ correlation_id: z.string(), cost: n, runs: n });

/** Spend per UTC day and agent, escalations per agent and reason, and the costliest correlations. */
export async function costs(db: D1Database, since: number) {
  const [spend, reasons, workflows] = await db.batch([
    db
      .prepare(
        `SELECT strftime('%Y-%m-%d', recorded_at / 1000, 'unixepoch') AS day, agent, COUNT(*) AS calls,
                SUM(cost_micros) AS cost, SUM(always_escalate_micros) AS always
           FROM model_calls WHERE recorded_at >= ? GROUP BY day, agent ORDER BY day, agent`,
      )
      .bind(since),
    db
      .prepare(
        `SELECT agent, escalation_reason AS reason, COUNT(*) AS runs, SUM(escalated = 1) AS escalated,
                SUM(budget_limited = 1) AS limited
           FROM agent_runs WHERE started_at >= ? AND model IS NOT NULL GROUP BY agent, escalation_reason`,
      )
      .bind(since),
    db
      .prepare(
        `SELECT e.correlation_id, SUM(r.cost_micros) AS cost, COUNT(*) AS runs
           FROM agent_runs r JOIN events e ON e.source = r.event_source AND e.id = r.event_id
          WHERE r.started_at >= ? AND r.model IS NOT NULL AND r.cost_micros > 0
          GROUP BY e.correlation_id ORDER BY cost DESC LIMIT 20`,
      )
      .bind(since),
  ]);
  const byReason = z.array(ReasonRow).parse(reasons?.results);
  const agents = new Map<
    string,
    { runs: number; escalated: number; budgetLimited: number; reasons: Record<string, number> }
  >();
  for (const r of byReason) {
    const a = agents.get(r.agent) ?? { runs: 0, escalated: 0, budgetLimited: 0, reasons: {} };
    a.runs += r.runs;
    a.escalated += r.escalated;
    a.budgetLimited += r.limited;
    if (r.reason) a.reasons[r.reason] = (a.reasons[r.reason] ?? 0) + r.runs;
    agents.set(r.agent, a);
  }
  return {
    byDay: z
      .array(SpendRow)
      .parse(spend?.results)
      .map((r) => ({ day: r.day, agent: r.agent, calls: r.calls, costMicros: r.cost, alwaysEscalateMicros: r.always })),
    escalation: [...agents].map(([agent, a]) => ({
      agent,
      ...a,
      rate: a.runs ? a.escalated / a.runs : 0,
    })),
    workflows: z
      .array(WorkflowCostRow)
      .parse(workflows?.results)
      .map((w) => ({ correlationId: w.correlation_id, costMicros: w.cost, runs: w.runs })),
  };
}
