// The anti-entropy sweep: finds work that a lost queue message, a lost alarm or a crash left
// unfinished, and finishes it. Every repair is idempotent (runs are claimed per (event, agent),
// coordinators deduplicate what they observe, the log deduplicates on (source, id)), so a repair
// that races the original, or a second sweep, does no harm. Run by the cron trigger and POST /v1/sweep.
import { CLAIM_LEASE_MS } from "../db/runs";
import { z } from "zod";
import type { Envelope, TaskMessage } from "../bus/envelope";
import { sendTasks } from "../bus/publish";
import { matchesPattern, subscribersOf } from "../bus/subscriptions";
import { settings } from "../config";
import { HealReportSchema, type HealReport } from "../coordinator/heal";
import {
  advanceCursor,
  coordinatedEvents,
  insertDeliveries,
  missingOutcomes,
  overdueWorkflows,
  recordSweep,
  type SweepTotals,
  type SweepWindow,
  scanLog,
  takeLostDeliveries,
  untakeDeliveries,
} from "../db/sweep";
import { archivedLines } from "../archive/lines";
import { errorMessage, log, logError } from "../log";
import type { Registry } from "../registry";

export const SWEEP_KINDS = [
  "deliveries",
  "overdue_workflows",
  "missing_outcomes",
  "outbox",
  "unstarted_workflows",
  "unrouted_events",
] as const;
export type SweepKind = (typeof SWEEP_KINDS)[number];

export const SweepOptions = z.object({
  /** Overrides SWEEP_GRACE_SECONDS for this run (0: everything not terminal is due). */
  graceSeconds: z.number().int().min(0).max(2_592_000).optional(),
  lookbackSeconds: z.number().int().min(1).max(31_536_000).optional(),
  limit: z.number().int().min(1).max(500).optional(),
});
export type SweepOptions = z.infer<typeof SweepOptions>;

/** Coordinators healed at once: each is a Durable Object call, and calls count as subrequests. */
const HEAL_CONCURRENCY = 25;
/**
 * Log events examined per run for unrouted events and unstarted workflows: 30,000 per 5-minute cron
 * keeps up with 100 events/s (the archive only takes what this scan has passed). One indexed query.
 */
const SCAN_EVENTS = 30_000;
/** Archive objects (R2 gets) a sweep may read for lost deliveries of archived events. */
const SWEEP_OBJECTS = 16;
/** Events handed to coordinators per run, all correlations together. */
const MAX_HEAL_EVENTS = 5_000;

type Counts = Record<SweepKind, { repaired: number; unrepairable: number }>;
export interface SweepReport {
  startedAt: number;
  durationMs: number;
  graceSeconds: number;
  counts: Counts;
  /** Coordinators found with a deadline due or pending and no alarm set. */
  alarmsMissing: number;
  totals: SweepTotals;
}

interface Heal {
  kinds: Set<SweepKind>;
  republish: string[];
  /** Log positions of the scan candidates behind this heal: the cursor may not pass a failed one. */
  seqs: number[];
}

export async function sweep(env: Env, registry: Registry, options: SweepOptions = {}): Promise<SweepReport> {
  const config = settings(env, "runs");
  const startedAt = Date.now();
  const graceMs = 1000 * (options.graceSeconds ?? config.SWEEP_GRACE_SECONDS);
  const w: SweepWindow = {
    now: startedAt,
    cutoff: startedAt - graceMs,
    since: startedAt - 1000 * (options.lookbackSeconds ?? config.SWEEP_LOOKBACK_SECONDS),
    leaseCutoff: startedAt - CLAIM_LEASE_MS,
    resweepCutoff: startedAt - Math.max(graceMs, CLAIM_LEASE_MS),
    retryMaxSeconds: config.RETRY_MAX_DELAY_SECONDS,
    limit: options.limit ?? config.SWEEP_LIMIT,
  };
  const counts = Object.fromEntries(SWEEP_KINDS.map((k) => [k, { repaired: 0, unrepairable: 0 }])) as Counts;

  // (a) Deliveries with no terminal run: send the task again; its claim makes a duplicate harmless.
  const taken = await takeLostDeliveries(env.DB, w);
  // An archived event's delivery (a replay after archiving) is re-sent from its archived line; one
  // not found (yet) is given back, so that no sweep marks it repaired without sending it.
  const { lines, missing, deferred } = await archivedLines(env, taken.elsewhere, SWEEP_OBJECTS);
  const fromArchive = taken.elsewhere.flatMap((d) => {
    const line = lines.get(`${d.source} ${d.id}`);
    return line ? [{ agent: d.agent, event: line.event, receivedAt: line.receivedAt }] : [];
  });
  const notFound = new Set([...missing, ...deferred]);
  const giveBack = taken.elsewhere.filter((d) => notFound.has(`${d.source} ${d.id}`));
  if (giveBack.length > 0) {
    await untakeDeliveries(env.DB, giveBack);
    counts.deliveries.unrepairable += giveBack.length;
    log("sweep.unresolved", {
      kind: "deliveries",
      count: giveBack.length,
      first: `${giveBack[0]?.source} ${giveBack[0]?.id}`,
    });
  }
  const lost = [...taken.logged, ...fromArchive];
  try {
    await sendTasks(env, registry, lost.map(toTask));
    counts.deliveries.repaired = lost.length;
  } catch (error) {
    logError("sweep.send_failed", { kind: "deliveries", count: lost.length }, error);
    await untakeDeliveries(
      env.DB,
      lost.map((l) => ({ source: l.event.source, id: l.event.id, agent: l.agent })),
    );
    counts.deliveries.unrepairable += lost.length;
  }

  // (b, c) Overdue workflows and missing outcome events: their coordinator repairs them.
  const heals = new Map<string, Heal>();
  const heal = (correlationId: string, kind: SweepKind) => {
    const h = heals.get(correlationId) ?? { kinds: new Set(), republish: [], seqs: [] };
    h.kinds.add(kind);
    heals.set(correlationId, h);
    return h;
  };
  for (const wf of await overdueWorkflows(env.DB, w)) heal(wf.id, "overdue_workflows");
  for (const wf of await missingOutcomes(env.DB, w))
    heal(wf.id, "missing_outcomes").republish.push(wf.outcome_event_id);

  // (e) The log since the last sweep: events never routed, workflow starts that never reached a coordinator.
  const types = Object.keys(registry.catalog);
  const scan = await scanLog(env.DB, w, {
    subscribedTypes: types.filter((t) => registry.agents.some((a) => a.subscribes.some((p) => matchesPattern(p, t)))),
    starts: registry.workflows.map((wf) => [wf.startsOn, wf.name] as const),
    scan: SCAN_EVENTS,
  });
  const unrouted = await routeAgain(env, registry, scan.candidates, w.now);
  counts.unrouted_events.repaired = unrouted.repaired;
  counts.unrouted_events.unrepairable = unrouted.failed.length;
  for (const c of scan.candidates) {
    if (c.unstarted) heal(c.envelope.correlationid, "unstarted_workflows").seqs.push(c.seq);
    else if (c.unrouted && registry.coordinates(c.envelope.type)) {
      heal(c.envelope.correlationid, "unrouted_events").seqs.push(c.seq);
    }
  }

  // Coordinators that may have missed events get the correlation's logged events again.
  const needEvents = [...heals].filter(([, h]) => !(h.kinds.size === 1 && h.kinds.has("missing_outcomes")));
  const events = await coordinatedEvents(
    env.DB,
    needEvents.map(([id]) => id),
    types.filter((t) => registry.coordinates(t)),
    MAX_HEAL_EVENTS,
  );
  let alarmsMissing = 0;
  const failedSeqs: number[] = [...unrouted.failed];
  await pool([...heals], HEAL_CONCURRENCY, async ([correlationId, h]) => {
    let report: HealReport;
    try {
      const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName(correlationId));
      const input = { events: (events.get(correlationId) ?? []).slice(-1000), republish: h.republish.slice(0, 100) };
      report = HealReportSchema.parse(await stub.heal(input));
    } catch (error) {
      logError("sweep.heal_failed", { correlationid: correlationId, kinds: [...h.kinds] }, error);
      for (const kind of h.kinds) counts[kind].unrepairable++;
      failedSeqs.push(...h.seqs);
      return;
    }
    if (report.alarmMissing) alarmsMissing++;
    counts.outbox.repaired += report.outboxHeld - report.outboxLeft;
    counts.outbox.unrepairable += report.outboxLeft;
    if (h.kinds.has("overdue_workflows") && (report.changed > 0 || report.alarmMissing || report.outboxHeld > 0)) {
      counts.overdue_workflows.repaired++;
    }
    if (h.kinds.has("missing_outcomes")) {
      counts.missing_outcomes.repaired += report.republished;
      counts.missing_outcomes.unrepairable += report.unknown.length;
    }
    if (h.kinds.has("unstarted_workflows")) counts.unstarted_workflows.repaired++;
  });
  // The cursor stops before the first candidate whose repair failed, so the next sweep tries it again.
  await advanceCursor(env.DB, Math.min(scan.to, ...failedSeqs.map((s) => s - 1)));

  const totals = await recordSweep(env.DB, counts, Date.now());
  const durationMs = Date.now() - startedAt;
  for (const kind of SWEEP_KINDS) {
    log("sweep.repair", { kind, status: counts[kind].repaired > 0 ? "repaired" : "clean", ...counts[kind] });
  }
  log("sweep", { status: "done", durationMs, graceSeconds: graceMs / 1000, alarmsMissing, scannedTo: scan.to });
  return { startedAt, durationMs, graceSeconds: graceMs / 1000, counts, alarmsMissing, totals };
}

const toTask = (l: { agent: string; event: Envelope; receivedAt: number }): TaskMessage => ({
  kind: "task",
  agent: l.agent,
  event: l.event,
  receivedAt: l.receivedAt,
});

/** Routes logged events whose routing never happened: writes their deliveries, sends their tasks. */
async function routeAgain(
  env: Env,
  registry: Registry,
  candidates: readonly { seq: number; envelope: Envelope; unrouted: number }[],
  now: number,
): Promise<{ repaired: number; failed: number[] }> {
  const pending = candidates
    .filter((c) => c.unrouted)
    .map((c) => ({ seq: c.seq, event: c.envelope, agents: subscribersOf(registry.agents, c.envelope) }))
    .filter((c) => c.agents.length > 0); // a filter may exclude every subscriber: nothing was lost
  const pairs = pending.flatMap((c) =>
    c.agents.map((a) => ({ source: c.event.source, id: c.event.id, agent: a.name })),
  );
  try {
    const written = await insertDeliveries(env.DB, pairs, now);
    const byKey = new Map(pending.map((c) => [`${c.event.source} ${c.event.id}`, c]));
    const tasks = written.flatMap((d): TaskMessage[] => {
      const c = byKey.get(`${d.event_source} ${d.event_id}`);
      return c && !d.held ? [{ kind: "task", agent: d.agent, event: c.event, receivedAt: now }] : [];
    });
    await sendTasks(env, registry, tasks);
    return { repaired: new Set(written.map((d) => `${d.event_source} ${d.event_id}`)).size, failed: [] };
  } catch (error) {
    // Deliveries written but not sent are picked up as lost deliveries after the grace period.
    log("sweep.route_failed", { status: "failed", events: pending.length, error: errorMessage(error) });
    return { repaired: 0, failed: pending.map((c) => c.seq) };
  }
}

async function pool<T>(items: readonly T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
