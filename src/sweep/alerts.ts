// The alert checks the cron runs after each sweep: conditions seen over a window, not in one delivery.
// An agent failing more than usual or slowing down (its last hour against its last day), workflows
// timing out or waiting too long for a person, today's model budget at 80% and 100%, and the sweep
// having repaired lost work. Each raises at most one alert per condition, subject and window.
import { type AlertInput, raiseAlert } from "../alerts/raise";
import { settings } from "../config";
import { agentHealth } from "../db/insights";
import { logError } from "../log";
import type { Registry } from "../registry";
import type { SweepReport } from "./sweep";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** An hour's error rate above this, and above the day's, with at least MIN_RUNS runs, is an alert. */
const FAILURE_RATE = 0.1;
const MIN_RUNS = 5;
/** An hour's p50 above this many times the day's (and above a second) is an alert. */
const SLOWER = 2;

export async function checkAlerts(env: Env, registry: Registry, report: SweepReport): Promise<AlertInput[]> {
  const now = Date.now();
  const found: AlertInput[] = [];
  const checks: [string, () => Promise<AlertInput[]>][] = [
    ["agents", () => agentAlerts(env, now)],
    ["workflows", () => workflowAlerts(env, now)],
    ["budget", () => budgetAlerts(env)],
  ];
  // Each check on its own: one that fails (D1, the ledger) costs only its own alerts.
  const results = await Promise.all(
    checks.map(([name, check]) =>
      check().catch((error: unknown) => {
        logError("alert.check_failed", { condition: name }, error);
        return [];
      }),
    ),
  );
  for (const r of results) found.push(...r);
  const repaired = Object.entries(report.counts).filter(([, c]) => c.repaired > 0);
  if (repaired.length > 0) {
    const total = repaired.reduce((s, [, c]) => s + c.repaired, 0);
    found.push({
      condition: "sweep_repaired",
      subject: "sweep",
      severity: "warning",
      summary: `the sweep repaired ${total} pieces of lost work (${repaired.map(([k, c]) => `${k} ${c.repaired}`).join(", ")})`,
      details: Object.fromEntries(repaired.map(([k, c]) => [k, c.repaired])),
    });
  }
  for (const alert of found) await raiseAlert(env, registry.catalog, { ...alert, at: alert.at ?? now });
  return found;
}

async function agentAlerts(env: Env, now: number): Promise<AlertInput[]> {
  const [hour, day] = await Promise.all([agentHealth(env.DB, now - HOUR), agentHealth(env.DB, now - DAY)]);
  const alerts: AlertInput[] = [];
  for (const [agent, h] of hour) {
    const usual = day.get(agent);
    // The usual rate is the rest of the day's, without this hour (an agent failing since it started has none).
    const earlierRuns = (usual?.runs ?? 0) - h.runs;
    const earlierFailed = (usual ? usual.failed + usual.deadLettered : 0) - (h.failed + h.deadLettered);
    const earlierRate = earlierRuns > 0 ? Math.max(0, earlierFailed) / earlierRuns : 0;
    if (h.runs >= MIN_RUNS && h.errorRate > Math.max(FAILURE_RATE, earlierRate)) {
      alerts.push({
        condition: "agent_failure_rate",
        subject: agent,
        severity: "warning",
        summary: `${agent} failed ${(100 * h.errorRate).toFixed(0)}% of ${h.runs} runs in the last hour (${(100 * earlierRate).toFixed(0)}% earlier in the day)`,
        details: { runs: h.runs, errorRate: h.errorRate, earlierErrorRate: earlierRate },
      });
    }
    const p50 = h.p50LatencyMs;
    const usualP50 = usual?.p50LatencyMs;
    if (h.runs >= MIN_RUNS && p50 !== null && p50 > 1000 && usualP50 && p50 > SLOWER * usualP50) {
      alerts.push({
        condition: "agent_latency",
        subject: agent,
        severity: "warning",
        summary: `${agent} is slower: p50 ${p50} ms in the last hour against ${usualP50} ms over the day`,
        details: { p50LatencyMs: p50, dayP50LatencyMs: usualP50, runs: h.runs },
      });
    }
  }
  return alerts;
}

async function workflowAlerts(env: Env, now: number): Promise<AlertInput[]> {
  const wait = settings(env, "runs").ALERT_APPROVAL_WAIT_SECONDS * 1000;
  const [timedOut, waiting] = await env.DB.batch<{ workflow: string; n: number; oldest: number }>([
    env.DB.prepare(
      `SELECT workflow, COUNT(*) AS n, MIN(started_at) AS oldest FROM workflows
        WHERE status = 'timed_out' AND started_at >= ?1 AND completed_at >= ?2 GROUP BY workflow`,
    ).bind(now - 2 * DAY, now - HOUR),
    env.DB.prepare(
      `SELECT workflow, COUNT(*) AS n, MIN(started_at) AS oldest FROM workflows
        WHERE status = 'awaiting_approval' AND started_at <= ? GROUP BY workflow`,
    ).bind(now - wait),
  ]);
  return [
    ...(timedOut?.results ?? []).map((r): AlertInput => ({
      condition: "workflow_timed_out",
      subject: r.workflow,
      severity: "warning",
      summary: `${r.n} ${r.workflow} workflow${r.n === 1 ? "" : "s"} timed out in the last hour`,
      details: { count: r.n },
    })),
    ...(waiting?.results ?? []).map((r): AlertInput => ({
      condition: "approval_waiting",
      subject: r.workflow,
      severity: "warning",
      summary: `${r.n} ${r.workflow} workflow${r.n === 1 ? "" : "s"} waiting for approval longer than ${wait / 60_000} min`,
      details: { count: r.n, oldestStartedAt: new Date(r.oldest).toISOString() },
    })),
  ];
}

async function budgetAlerts(env: Env): Promise<AlertInput[]> {
  const ledger = env.BUDGET.get(env.BUDGET.idFromName("ledger"));
  const s = await ledger.status();
  if (s.dailyCapMicros <= 0) return [];
  const used = s.dailySpentMicros / s.dailyCapMicros;
  const at = Date.parse(`${s.day}T00:00:00Z`);
  const base = {
    subject: "budget",
    windowMs: DAY,
    at,
    details: { day: s.day, spentMicros: s.dailySpentMicros, capMicros: s.dailyCapMicros },
  };
  const pct = `${(100 * used).toFixed(0)}% of today's model budget used ($${(s.dailySpentMicros / 1e6).toFixed(2)} of $${(s.dailyCapMicros / 1e6).toFixed(2)})`;
  if (used >= 1)
    return [{ ...base, condition: "budget_100", severity: "critical", summary: `${pct}: escalations are refused` }];
  if (used >= 0.8) return [{ ...base, condition: "budget_80", severity: "warning", summary: pct }];
  return [];
}
