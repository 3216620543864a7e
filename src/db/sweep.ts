// The anti-entropy sweep's reads and writes: lost deliveries, overdue and unfinished workflows,
// the event log scanned once per event, and the running totals. Each function is one or two
// statements whatever the number of rows, so a sweep stays far under 1,000 D1 queries.
import { z } from "zod";
import { type Envelope, EnvelopeSchema } from "../bus/envelope";

export interface SweepWindow {
  now: number;
  /** Work younger than this (ms) is in flight, not lost. */
  cutoff: number;
  /** Deliveries and workflows older than this are not looked at. */
  since: number;
  /** A run still `running` started before this is abandoned: its claim lease has run out. */
  leaseCutoff: number;
  /** A delivery the sweep re-sent after this is not re-sent again yet. */
  resweepCutoff: number;
  /** The longest retry delay the run consumer uses, when the run recorded none. */
  retryMaxSeconds: number;
  limit: number;
}

const envelope = z.string().transform((s) => EnvelopeSchema.parse(JSON.parse(s)));
const keysParam = (keys: readonly (readonly string[])[]) => JSON.stringify(keys);

const LostDelivery = z.object({ event_source: z.string(), event_id: z.string(), agent: z.string() });
const LoggedRow = z.object({ source: z.string(), id: z.string(), envelope, received_at: z.number() });

/**
 * Takes deliveries with no terminal run: never claimed, abandoned while running, or failed with no
 * retry in sight. Marks them swept in the same statement, so a concurrent sweep cannot take them too.
 */
export async function takeLostDeliveries(db: D1Database, w: SweepWindow) {
  const { results } = await db
    .prepare(
      `UPDATE deliveries SET swept_at = ?1
        WHERE rowid IN (
          SELECT d.rowid FROM deliveries d
            LEFT JOIN agent_runs r ON r.event_source = d.event_source AND r.event_id = d.event_id AND r.agent = d.agent
           WHERE d.routed_at >= ?2 AND d.routed_at < ?3 AND d.held = 0 AND COALESCE(d.swept_at, 0) < ?4
             AND NOT EXISTS (SELECT 1 FROM agent_state s WHERE s.agent = d.agent AND s.paused = 1)
             AND (r.status IS NULL
               OR (r.status = 'running' AND r.started_at < MIN(?3, ?5))
               OR (r.status = 'failed'
                   AND r.finished_at + 1000 * COALESCE(json_extract(r.error, '$.delaySeconds'), ?6) < ?3))
           ORDER BY d.routed_at LIMIT ?7)
       RETURNING event_source, event_id, agent`,
    )
    .bind(w.now, w.since, w.cutoff, w.resweepCutoff, w.leaseCutoff, w.retryMaxSeconds, w.limit)
    .all();
  const lost = z.array(LostDelivery).parse(results);
  if (lost.length === 0) return { logged: [], elsewhere: [] };
  const events = await loggedEvents(
    db,
    lost.map((d) => [d.event_source, d.event_id]),
  );
  const logged = lost.flatMap((d) => {
    const found = events.get(`${d.event_source} ${d.event_id}`);
    return found ? [{ agent: d.agent, ...found }] : [];
  });
  // Deliveries whose event has left D1 (a replay of an archived event): the caller finds it in the archive.
  const elsewhere = lost
    .filter((d) => !events.has(`${d.event_source} ${d.event_id}`))
    .map((d) => ({ source: d.event_source, id: d.event_id, agent: d.agent }));
  return { logged, elsewhere };
}

/** Un-marks deliveries whose re-send failed, so the next sweep takes them again. */
export async function untakeDeliveries(db: D1Database, keys: readonly { source: string; id: string; agent: string }[]) {
  if (keys.length === 0) return;
  await db
    .prepare(
      `UPDATE deliveries SET swept_at = NULL
        WHERE (event_source, event_id, agent) IN (
          SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]' FROM json_each(?1))`,
    )
    .bind(keysParam(keys.map((k) => [k.source, k.id, k.agent])))
    .run();
}

async function loggedEvents(db: D1Database, keys: readonly (readonly string[])[]) {
  const { results } = await db
    .prepare(
      `SELECT source, id, envelope, received_at FROM events
        WHERE (source, id) IN (SELECT value ->> '$[0]', value ->> '$[1]' FROM json_each(?1))`,
    )
    .bind(keysParam(keys))
    .all();
  return new Map(
    z
      .array(LoggedRow)
      .parse(results)
      .map((r) => [`${r.source} ${r.id}`, { event: r.envelope, receivedAt: r.received_at }] as const),
  );
}

const WorkflowRef = z.object({ id: z.string(), workflow: z.string(), outcome_event_id: z.string().nullable() });

/** Workflows still running (or awaiting approval) well past their deadline: their alarm was lost. */
export async function overdueWorkflows(db: D1Database, w: SweepWindow) {
  const { results } = await db
    .prepare(
      `SELECT id, workflow, outcome_event_id FROM workflows WHERE status = 'running' AND deadline_at < ?1
       UNION ALL
       SELECT id, workflow, outcome_event_id FROM workflows
        WHERE status = 'awaiting_approval' AND approval_deadline_at < ?1
       LIMIT ?2`,
    )
    .bind(w.cutoff, w.limit)
    .all();
  return z.array(WorkflowRef).parse(results);
}

/** Decided workflows whose outcome event is not in the log. */
export async function missingOutcomes(db: D1Database, w: SweepWindow) {
  const { results } = await db
    .prepare(
      `SELECT w.id, w.workflow, w.outcome_event_id FROM workflows w
        WHERE w.started_at >= ?1 AND w.status IN ('completed', 'rejected', 'timed_out') AND w.completed_at < ?2
          AND w.outcome_event_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = w.outcome_event_id)
        ORDER BY w.started_at LIMIT ?3`,
    )
    .bind(w.since, w.cutoff, w.limit)
    .all();
  return z.array(WorkflowRef.extend({ outcome_event_id: z.string() })).parse(results);
}

/** The logged events of these correlations that a workflow listens to, oldest first (at most `max`). */
export async function coordinatedEvents(
  db: D1Database,
  correlationIds: readonly string[],
  types: readonly string[],
  max: number,
): Promise<Map<string, Envelope[]>> {
  const byCorrelation = new Map<string, Envelope[]>();
  if (correlationIds.length === 0) return byCorrelation;
  const { results } = await db
    .prepare(
      `SELECT envelope FROM events
        WHERE correlation_id IN (SELECT value FROM json_each(?1)) AND type IN (SELECT value FROM json_each(?2))
        ORDER BY seq LIMIT ?3`,
    )
    .bind(JSON.stringify(correlationIds), JSON.stringify(types), max)
    .all();
  for (const { envelope: event } of z.array(z.object({ envelope })).parse(results)) {
    const list = byCorrelation.get(event.correlationid) ?? [];
    list.push(event);
    byCorrelation.set(event.correlationid, list);
  }
  return byCorrelation;
}

// ---- the event log, scanned once per event ---------------------------------------------------------

export interface ScanSpec {
  /** Types with at least one agent subscription: an event of these with no delivery was never routed. */
  subscribedTypes: readonly string[];
  /** [start type, workflow] pairs: a start event with no workflow row never reached its coordinator. */
  starts: readonly (readonly [string, string])[];
  /** Events looked at per run. */
  scan: number;
}

const ScanRow = z.object({ seq: z.number(), envelope, unrouted: z.number(), unstarted: z.number() });
export type ScanCandidate = z.infer<typeof ScanRow>;

/**
 * The next slice of the log after the cursor, up to the first event still within the grace period,
 * and in it the events that look lost: never routed though agents subscribe, or a workflow start with
 * no workflow. Parked events were held back on purpose and are skipped.
 */
export async function scanLog(db: D1Database, w: SweepWindow, spec: ScanSpec) {
  const from =
    z
      .object({ seq: z.number() })
      .nullable()
      .parse(await db.prepare("SELECT seq FROM sweep_cursors WHERE name = 'events'").first())?.seq ?? 0;
  const range = await db
    .prepare(
      `WITH win AS (SELECT seq, logged_at FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?3)
       SELECT COALESCE((SELECT MIN(seq) - 1 FROM win WHERE logged_at >= ?2), (SELECT MAX(seq) FROM win), ?1) AS hi`,
    )
    .bind(from, w.cutoff, spec.scan)
    .first();
  const to = z.object({ hi: z.number() }).parse(range).hi;
  if (to <= from) return { from, to, candidates: [] };
  const { results } = await db
    .prepare(
      `SELECT seq, envelope, unrouted, unstarted FROM (
         SELECT e.seq, e.envelope,
                (e.type IN (SELECT value FROM json_each(?3))
                  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_source = e.source AND d.event_id = e.id))
                  AS unrouted,
                EXISTS (SELECT 1 FROM json_each(?4) s
                         WHERE s.value ->> '$[0]' = e.type
                           AND NOT EXISTS (SELECT 1 FROM workflows f
                                            WHERE f.id = e.correlation_id AND f.workflow = s.value ->> '$[1]'))
                  AS unstarted
           FROM events e
          WHERE e.seq > ?1 AND e.seq <= ?2
            AND NOT EXISTS (SELECT 1 FROM parked_events p WHERE p.event_source = e.source AND p.event_id = e.id))
        WHERE unrouted OR unstarted ORDER BY seq LIMIT ?5`,
    )
    .bind(from, to, JSON.stringify(spec.subscribedTypes), JSON.stringify(spec.starts), w.limit)
    .all();
  const candidates = z.array(ScanRow).parse(results);
  // With more candidates than the limit, the cursor stops after the last one taken.
  const last = candidates.length === w.limit ? (candidates.at(-1)?.seq ?? to) : to;
  return { from, to: last, candidates };
}

export async function advanceCursor(db: D1Database, seq: number): Promise<void> {
  await db
    .prepare(
      `INSERT INTO sweep_cursors (name, seq) VALUES ('events', ?1)
       ON CONFLICT (name) DO UPDATE SET seq = MAX(seq, excluded.seq)`,
    )
    .bind(seq)
    .run();
}

const DeliveryInserted = z.object({
  event_source: z.string(),
  event_id: z.string(),
  agent: z.string(),
  held: z.number(),
});

/** Writes the deliveries routing never wrote; returns those it wrote (a concurrent writer wins the rest). */
export async function insertDeliveries(
  db: D1Database,
  pairs: readonly { source: string; id: string; agent: string }[],
  now: number,
) {
  if (pairs.length === 0) return [];
  const { results } = await db
    .prepare(
      `INSERT INTO deliveries (event_source, event_id, agent, routed_at, held)
       SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]', ?2,
              EXISTS (SELECT 1 FROM agent_state s WHERE s.agent = value ->> '$[2]' AND s.paused = 1)
         FROM json_each(?1) WHERE true
       ON CONFLICT (event_source, event_id, agent) DO NOTHING
       RETURNING event_source, event_id, agent, held`,
    )
    .bind(keysParam(pairs.map((p) => [p.source, p.id, p.agent])), now)
    .all();
  return z.array(DeliveryInserted).parse(results);
}

// ---- totals ---------------------------------------------------------------------------------------

const SweepRow = z.object({
  kind: z.string(),
  repaired: z.number(),
  unrepairable: z.number(),
  runs: z.number(),
  last_repaired: z.number(),
  last_run_at: z.number().nullable(),
});
const toTotals = (rows: unknown) =>
  Object.fromEntries(
    z
      .array(SweepRow)
      .parse(rows)
      .map((r) => [
        r.kind,
        {
          repaired: r.repaired,
          unrepairable: r.unrepairable,
          runs: r.runs,
          lastRepaired: r.last_repaired,
          lastRunAt: r.last_run_at,
        },
      ]),
  );
export type SweepTotals = ReturnType<typeof toTotals>;

/** Adds one run's counts to the running totals, in one statement. */
export async function recordSweep(
  db: D1Database,
  counts: Record<string, { repaired: number; unrepairable: number }>,
  now: number,
): Promise<SweepTotals> {
  const rows = Object.entries(counts).map(([kind, c]) => [kind, c.repaired, c.unrepairable]);
  const { results } = await db
    .prepare(
      `INSERT INTO sweeps (kind, repaired, unrepairable, runs, last_repaired, last_run_at)
       SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]', 1, value ->> '$[1]', ?2 FROM json_each(?1) WHERE true
       ON CONFLICT (kind) DO UPDATE SET
         repaired = repaired + excluded.repaired, unrepairable = unrepairable + excluded.unrepairable,
         runs = runs + 1, last_repaired = excluded.last_repaired, last_run_at = excluded.last_run_at
       RETURNING *`,
    )
    .bind(JSON.stringify(rows), now)
    .all();
  return toTotals(results);
}

export async function sweepTotals(db: D1Database): Promise<SweepTotals> {
  const { results } = await db.prepare("SELECT * FROM sweeps ORDER BY kind").all();
  return toTotals(results);
}
