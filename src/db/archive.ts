// The archive's writes: which events and workflows may leave D1 (old enough, their work over, seen
// by the sweep), their rows as they are, and the commit that indexes the R2 objects and deletes the
// rows in one transaction. Every statement binds a few values (lists travel as one JSON value), so
// none nears D1's 100 parameters or 100 KB of SQL, and each is a lookup by key or a rowid range.
import { z } from "zod";
import { EnvelopeSchema } from "../bus/envelope";

const TERMINAL = "('succeeded', 'dead_lettered')";

/**
 * The event `e` whose work is over: every delivery has a terminal run and none is held for a paused
 * agent, no run is running or failed (awaiting a retry), and no workflow of its correlation is open.
 */
const finished = (e: string) => `
  NOT EXISTS (SELECT 1 FROM deliveries d
                LEFT JOIN agent_runs r ON r.event_source = d.event_source AND r.event_id = d.event_id AND r.agent = d.agent
               WHERE d.event_source = ${e}.source AND d.event_id = ${e}.id
                 AND (d.held = 1 OR r.status IS NULL OR r.status NOT IN ${TERMINAL}))
  AND NOT EXISTS (SELECT 1 FROM agent_runs r
                   WHERE r.event_source = ${e}.source AND r.event_id = ${e}.id AND r.status NOT IN ${TERMINAL})
  AND NOT EXISTS (SELECT 1 FROM workflows f
                   WHERE f.id = ${e}.correlation_id AND f.status IN ('running', 'awaiting_approval'))`;

/** What the event's rows look like now: the commit deletes only if nothing changed since they were read. */
const version = (e: string) => {
  const of = (table: string) => `FROM ${table} WHERE event_source = ${e}.source AND event_id = ${e}.id`;
  return `(SELECT COUNT(*) || '.' || COALESCE(SUM(attempt), 0) || '.' || COALESCE(MAX(finished_at), 0) ${of("agent_runs")})
    || '/' || (SELECT COUNT(*) ${of("deliveries")}) || '/' || (SELECT COUNT(*) ${of("model_calls")})
    || '/' || (SELECT COUNT(*) ${of("policy_violations")}) || '/' || (SELECT COUNT(*) ${of("parked_events")})`;
};

export interface CandidateWindow {
  /** Examine events after this log position … */
  after: number;
  /** … up to this one (inclusive) … */
  upTo: number;
  /** … at most this many … */
  rows: number;
  /** … taking envelopes up to about this many bytes. */
  bytes: number;
  /** Events received at or after this (ms) are in the hot window. */
  cutoff: number;
}

const CandidateRow = z.object({
  seq: z.number(),
  source: z.string(),
  id: z.string(),
  type: z.string(),
  correlation_id: z.string(),
  received_at: z.number(),
  logged_at: z.number(),
  ready: z.number(),
  envelope: z
    .string()
    .nullable()
    .transform((s) => (s === null ? null : EnvelopeSchema.parse(JSON.parse(s)))),
  version: z.string().nullable(),
});
export type Candidate = z.output<typeof CandidateRow>;

/**
 * A window of the log in seq order (a rowid range), each event marked ready when it is past the hot
 * window and its work is over; ready ones come with their envelope and version. The window stops
 * early once the envelopes taken reach `bytes`, so a batch's memory stays bounded.
 */
export async function candidateWindow(db: D1Database, w: CandidateWindow): Promise<Candidate[]> {
  const { results } = await db
    .prepare(
      `WITH win AS (SELECT seq FROM events WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3),
            marked AS (
              SELECT e.seq, e.received_at < ?4 AND ${finished("e")} AS ready FROM events e WHERE e.seq IN win),
            sized AS (
              SELECT m.seq, m.ready, SUM(CASE WHEN m.ready THEN length(e.envelope) ELSE 0 END)
                       OVER (ORDER BY m.seq ROWS UNBOUNDED PRECEDING)
                     - CASE WHEN m.ready THEN length(e.envelope) ELSE 0 END AS before_bytes
                FROM marked m JOIN events e ON e.seq = m.seq)
       SELECT e.seq, e.source, e.id, e.type, e.correlation_id, e.received_at, e.logged_at, s.ready,
              CASE WHEN s.ready THEN e.envelope END AS envelope,
              CASE WHEN s.ready THEN ${version("e")} END AS version
         FROM sized s JOIN events e ON e.seq = s.seq
        WHERE s.before_bytes < ?5 ORDER BY e.seq`,
    )
    .bind(w.after, w.upTo, w.rows, w.cutoff, w.bytes)
    .all();
  return z.array(CandidateRow).parse(results);
}

/** A row of a table keyed by event, as D1 holds it: archived as is. */
const Row = z.looseObject({ event_source: z.string(), event_id: z.string() });
export type EventRow = z.infer<typeof Row>;

/** Tables keyed by event that move with it. Dead letters stay: they are the operator's to replay. */
export const EVENT_TABLES = ["deliveries", "agent_runs", "model_calls", "policy_violations", "parked_events"] as const;
export type EventTable = (typeof EVENT_TABLES)[number];

/** Every row of the event tables for these events (by log position), in one batch. */
export async function rowsOf(db: D1Database, seqs: readonly number[]): Promise<Record<EventTable, EventRow[]>> {
  const param = JSON.stringify(seqs);
  const results = await db.batch(
    EVENT_TABLES.map((table) =>
      db
        .prepare(
          `SELECT t.* FROM json_each(?1) k JOIN events e ON e.seq = k.value
             JOIN ${table} t ON t.event_source = e.source AND t.event_id = e.id`,
        )
        .bind(param),
    ),
  );
  return Object.fromEntries(
    EVENT_TABLES.map((table, i) => [table, z.array(Row).parse(results[i]?.results ?? [])]),
  ) as Record<EventTable, EventRow[]>;
}

/** One R2 object of a batch, as the manifest records it. */
export interface ObjectEntry {
  key: string;
  hour: number;
  lines: number;
  bytes: number;
  firstSeq?: number;
  lastSeq?: number;
  minLoggedAt?: number;
  maxLoggedAt?: number;
  types?: string[];
}

/** The events written to each object: [seq, version] read with them. */
export interface EventMembers {
  key: string;
  members: readonly (readonly [seq: number, version: string])[];
}

const insertObjects = (db: D1Database, kind: "events" | "workflows", objects: readonly ObjectEntry[], now: number) =>
  db
    .prepare(
      `INSERT INTO archive_objects (key, kind, hour, lines, indexed, bytes, first_seq, last_seq, min_logged_at,
                                    max_logged_at, types, created_at)
       SELECT value ->> 'key', ?2, value ->> 'hour', value ->> 'lines', value ->> 'indexed', value ->> 'bytes',
              value ->> 'firstSeq', value ->> 'lastSeq', value ->> 'minLoggedAt', value ->> 'maxLoggedAt',
              value ->> 'types', ?3
         FROM json_each(?1) WHERE true
       ON CONFLICT (key) DO NOTHING`,
    )
    .bind(JSON.stringify(objects.map((o) => ({ ...o, indexed: kind === "workflows" ? o.lines : 0 }))), kind, now);

const setCursor = (db: D1Database, name: string, seq: number) =>
  db
    .prepare(
      `INSERT INTO sweep_cursors (name, seq) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq`,
    )
    .bind(name, seq);

/** The archive's positions in the log: the forward scan, and the re-check of events it left behind. */
export const CURSORS = { forward: "archive", recheck: "archive_recheck" } as const;

export async function archiveCursors(db: D1Database) {
  const { results } = await db
    .prepare("SELECT name, seq FROM sweep_cursors WHERE name IN ('events', ?1, ?2)")
    .bind(CURSORS.forward, CURSORS.recheck)
    .all();
  const seqs = new Map(
    z
      .array(z.object({ name: z.string(), seq: z.number() }))
      .parse(results)
      .map((r) => [r.name, r.seq]),
  );
  return {
    /** How far the sweep has scanned the log: the archive never takes an event the sweep has not seen. */
    swept: seqs.get("events") ?? 0,
    forward: seqs.get(CURSORS.forward) ?? 0,
    recheck: seqs.get(CURSORS.recheck) ?? 0,
  };
}

/** Moves a cursor without archiving anything (a window with nothing ready). */
export async function moveCursor(db: D1Database, name: string, seq: number): Promise<void> {
  await setCursor(db, name, seq).run();
}

// The events of the batch that this commit indexed, by object: those still ready and unchanged.
const MEMBERS = `m AS (SELECT g.value ->> '$[0]' AS key, x.value ->> '$[0]' AS seq, x.value ->> '$[1]' AS version
                         FROM json_each(?1) g, json_each(g.value, '$[1]') x)`;
const DONE = `${MEMBERS}, done AS (
  SELECT e.seq, e.source, e.id FROM m JOIN archive_objects o ON o.key = m.key JOIN events e ON e.seq = m.seq
    JOIN archived_events a ON a.id = e.id AND a.source = e.source AND a.object = o.seq)`;

/**
 * Records the objects (already in R2) and deletes their events' rows, in one transaction: the manifest
 * rows, an index row per event, a row per (correlation, object), then the rows themselves. An event
 * whose rows changed since they were read (its version), or whose work is no longer over, is neither
 * indexed nor deleted: it stays in D1, and its line in the object is ignored by reads.
 */
export async function commitEvents(
  db: D1Database,
  objects: readonly ObjectEntry[],
  members: readonly EventMembers[],
  cursor: { name: string; seq: number },
  cutoff: number,
  now: number,
): Promise<number> {
  const param = JSON.stringify(members.map((m) => [m.key, m.members]));
  const statements = [
    insertObjects(db, "events", objects, now),
    db
      .prepare(
        `WITH ${MEMBERS}
         INSERT INTO archived_events (id, source, object)
         SELECT e.id, e.source, o.seq FROM m JOIN archive_objects o ON o.key = m.key JOIN events e ON e.seq = m.seq
          WHERE e.received_at < ?2 AND ${finished("e")} AND ${version("e")} = m.version
         ON CONFLICT DO NOTHING`,
      )
      .bind(param, cutoff),
    db
      .prepare(
        `WITH ${DONE}
         INSERT INTO archived_correlations (correlation_id, object)
         SELECT DISTINCT e.correlation_id, o.seq FROM done d JOIN events e ON e.seq = d.seq
           JOIN m ON m.seq = d.seq JOIN archive_objects o ON o.key = m.key
          WHERE true
         ON CONFLICT DO NOTHING`,
      )
      .bind(param),
    db
      .prepare(
        `WITH ${DONE}
         UPDATE archive_objects SET indexed = (SELECT COUNT(*) FROM done d JOIN m ON m.seq = d.seq
                                               WHERE m.key = archive_objects.key)
          WHERE key IN (SELECT key FROM m)`,
      )
      .bind(param),
    ...EVENT_TABLES.map((table) =>
      db
        .prepare(`WITH ${DONE} DELETE FROM ${table} WHERE (event_source, event_id) IN (SELECT source, id FROM done)`)
        .bind(param),
    ),
    db.prepare(`WITH ${DONE} DELETE FROM events WHERE seq IN (SELECT seq FROM done)`).bind(param),
    setCursor(db, cursor.name, cursor.seq),
  ];
  const results = await db.batch(statements);
  return results.at(-2)?.meta.changes ?? 0;
}

// ---- workflows ---------------------------------------------------------------------------------------

const WorkflowRow = z.looseObject({
  id: z.string(),
  workflow: z.string(),
  version: z.number(),
  started_at: z.number(),
});
export type WorkflowRow = z.infer<typeof WorkflowRow>;

/** Finished workflows (completed, rejected, timed out) whose last change is past the hot window. */
export async function finishedWorkflows(db: D1Database, cutoff: number, limit: number): Promise<WorkflowRow[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM workflows
        WHERE status IN ('completed', 'rejected', 'timed_out') AND started_at < ?1
          AND completed_at < ?1 AND updated_at < ?1
        ORDER BY started_at
        LIMIT ?2`,
    )
    .bind(cutoff, limit)
    .all();
  return z.array(WorkflowRow).parse(results);
}

export interface WorkflowMembers {
  key: string;
  members: readonly (readonly [id: string, workflow: string, version: number])[];
}

/** Records workflow objects and deletes the rows, unless a newer version was recorded since. */
export async function commitWorkflows(
  db: D1Database,
  objects: readonly ObjectEntry[],
  members: readonly WorkflowMembers[],
  now: number,
): Promise<number> {
  const param = JSON.stringify(members.map((m) => [m.key, m.members]));
  const rows = `w AS (SELECT g.value ->> '$[0]' AS key, x.value ->> '$[0]' AS id, x.value ->> '$[1]' AS workflow,
                             x.value ->> '$[2]' AS version
                        FROM json_each(?1) g, json_each(g.value, '$[1]') x)`;
  const [, , deleted] = await db.batch([
    insertObjects(db, "workflows", objects, now),
    db
      .prepare(
        `WITH ${rows}
         INSERT INTO archived_correlations (correlation_id, object)
         SELECT DISTINCT w.id, o.seq FROM w JOIN archive_objects o ON o.key = w.key
          WHERE EXISTS (SELECT 1 FROM workflows f WHERE f.id = w.id AND f.workflow = w.workflow AND f.version = w.version)
         ON CONFLICT DO NOTHING`,
      )
      .bind(param),
    db
      .prepare(
        `WITH ${rows} DELETE FROM workflows WHERE (id, workflow, version) IN (SELECT id, workflow, version FROM w)`,
      )
      .bind(param),
  ]);
  return deleted?.meta.changes ?? 0;
}
