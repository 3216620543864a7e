// The archive's writes: which events and workflows may leave D1 (old enough, their work over, seen
// by the sweep), their rows as they are, and the commit that indexes the R2 objects and deletes the
// rows in one transaction. Every statement binds a few values (lists travel as one JSON value), so
// none nears D1's 100 parameters or 100 KB of SQL, and each is a lookup by key or a rowid range.
import { z } from "zod";
import { EnvelopeSchema } from "../bus/envelope";

const TERMINAL = "('succeeded', 'dead_lettered')";

/**
 * The runs of event `e` are over: every delivery has a terminal run and none is held for a paused
 * agent, and no run is running or failed (awaiting a retry).
 */
const runsOver = (e: string) => `
  NOT EXISTS (SELECT 1 FROM deliveries d
                LEFT JOIN agent_runs r ON r.event_source = d.event_source AND r.event_id = d.event_id AND r.agent = d.agent
               WHERE d.event_source = ${e}.source AND d.event_id = ${e}.id
                 AND (d.held = 1 OR r.status IS NULL OR r.status NOT IN ${TERMINAL}))
  AND NOT EXISTS (SELECT 1 FROM agent_runs r
                   WHERE r.event_source = ${e}.source AND r.event_id = ${e}.id AND r.status NOT IN ${TERMINAL})`;

/** The event `e` whose work is over: its runs are, and no workflow of its correlation is open. */
const finished = (e: string) => `${runsOver(e)}
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
export const EVENT_TABLES = [
  "deliveries",
  "agent_runs",
  "model_calls",
  "run_steps",
  "policy_violations",
  "parked_events",
  "unrouted_events",
  "duplicates",
] as const;
export type EventTable = (typeof EVENT_TABLES)[number];

/** Every row of the event tables for these events, in one batch (a transaction: one consistent view). */
export async function rowsOf(
  db: D1Database,
  events: readonly { source: string; id: string }[],
): Promise<Record<EventTable, EventRow[]>> {
  const param = JSON.stringify(events.map((e) => [e.source, e.id]));
  const results = await db.batch(
    EVENT_TABLES.map((table) =>
      db
        .prepare(
          `SELECT t.* FROM json_each(?1) k
             JOIN ${table} t ON t.event_source = k.value ->> '$[0]' AND t.event_id = k.value ->> '$[1]'`,
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

/**
 * An event written to an object, as read with it. `reopened`: an event already archived whose rows
 * written since (noted in archive_reopened) move now; it has no row in `events`.
 */
export interface EventMember {
  seq: number;
  source: string;
  id: string;
  correlationId: string;
  version: string;
  reopened: boolean;
}
export interface EventMembers {
  key: string;
  members: readonly EventMember[];
}

/** Records objects in the manifest, none indexed yet: the commit counts what it indexes. */
export const insertObjects = (
  db: D1Database,
  kind: "events" | "workflows",
  objects: readonly ObjectEntry[],
  now: number,
) =>
  db
    .prepare(
      `INSERT INTO archive_objects (key, kind, hour, lines, indexed, bytes, first_seq, last_seq, min_logged_at,
                                    max_logged_at, types, created_at)
       SELECT value ->> 'key', ?2, value ->> 'hour', value ->> 'lines', 0, value ->> 'bytes',
              value ->> 'firstSeq', value ->> 'lastSeq', value ->> 'minLoggedAt', value ->> 'maxLoggedAt',
              value ->> 'types', ?3
         FROM json_each(?1) WHERE true
       ON CONFLICT (key) DO NOTHING`,
    )
    .bind(JSON.stringify(objects), kind, now);

/**
 * Drops from the manifest the objects of this commit that index nothing (every line's rows changed
 * and stayed in D1): nothing would read them. Answers their keys, for the caller to delete from R2.
 */
export const dropUnindexed = (db: D1Database, keys: readonly string[]) =>
  db
    .prepare("DELETE FROM archive_objects WHERE key IN (SELECT value FROM json_each(?1)) AND indexed = 0 RETURNING key")
    .bind(JSON.stringify(keys));

export const droppedKeys = (result: D1Result | undefined) =>
  z
    .array(z.object({ key: z.string() }))
    .parse(result?.results ?? [])
    .map((r) => r.key);

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

const ReopenedRow = z.object({ source: z.string(), id: z.string(), version: z.string() });

/**
 * Archived events with rows written since (noted by the triggers of migration 0012) whose runs are
 * over, oldest note first, with the version of their rows. Their workflow does not hold them back:
 * a coordinator's heal() reads the log's events, and these left it already.
 */
export async function reopenedEvents(db: D1Database, limit: number) {
  const { results } = await db
    .prepare(
      `SELECT k.source, k.id, ${version("k")} AS version
         FROM (SELECT event_source AS source, event_id AS id, noted_at FROM archive_reopened) k
        WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.source = k.source AND e.id = k.id) AND ${runsOver("k")}
        ORDER BY k.noted_at LIMIT ?1`,
    )
    .bind(limit)
    .all();
  return z.array(ReopenedRow).parse(results);
}

// The members of the batch, and those this commit indexed: still ready and unchanged. An event of
// the log must still be there (another run may have taken it), and its key is read from it: only a
// reopened one, no longer in the log, brings its own (few per batch), so the list stays far under
// D1's 1 MB per bound value however long ids and sources are.
const MEMBERS = `m AS (
  SELECT g.value ->> '$[0]' AS key, x.value ->> '$[0]' AS seq, x.value ->> '$[1]' AS version,
         x.value ->> '$[2]' AS reopened, COALESCE(x.value ->> '$[3]', e.source) AS source,
         COALESCE(x.value ->> '$[4]', e.id) AS id, COALESCE(x.value ->> '$[5]', e.correlation_id) AS correlation_id
    FROM json_each(?1) g JOIN json_each(g.value, '$[1]') x
    LEFT JOIN events e ON x.value ->> '$[2]' = 0 AND e.seq = x.value ->> '$[0]')`;
const DONE = `${MEMBERS}, done AS (
  SELECT m.key, m.seq, m.source, m.id, m.correlation_id, m.reopened, o.seq AS object
    FROM m JOIN archive_objects o ON o.key = m.key
    JOIN archived_events a ON a.id = m.id AND a.source = m.source AND a.object = o.seq)`;

/** Statements a commit of events sends (the manifest, index, correlations, count, drop, a delete per table, the events, the notes, the cursor). */
export const EVENT_COMMIT_STATEMENTS = 5 + EVENT_TABLES.length + 3;

/**
 * Records the objects (already in R2) and deletes their events' rows, in one transaction: the manifest
 * rows, an index row per event, a row per (correlation, object), then the rows themselves. An event
 * whose rows changed since they were read (its version), or whose work is no longer over, is neither
 * indexed nor deleted: it stays in D1, and its line in the object is ignored by reads. An object left
 * indexing nothing leaves the manifest (its key is answered, to delete from R2).
 */
export async function commitEvents(
  db: D1Database,
  objects: readonly ObjectEntry[],
  members: readonly EventMembers[],
  cursor: { name: string; seq: number } | null,
  cutoff: number,
  now: number,
): Promise<{ archived: number; dropped: string[] }> {
  const param = JSON.stringify(
    members.map((o) => [
      o.key,
      o.members.map((m) =>
        m.reopened ? [m.seq, m.version, 1, m.source, m.id, m.correlationId] : [m.seq, m.version, 0],
      ),
    ]),
  );
  const statements = [
    insertObjects(db, "events", objects, now),
    db
      .prepare(
        `WITH ${MEMBERS}
         INSERT INTO archived_events (id, source, object)
         SELECT m.id, m.source, o.seq FROM m JOIN archive_objects o ON o.key = m.key
          WHERE CASE WHEN m.reopened = 1
                     THEN NOT EXISTS (SELECT 1 FROM events e WHERE e.source = m.source AND e.id = m.id) AND ${runsOver("m")}
                     ELSE EXISTS (SELECT 1 FROM events e WHERE e.seq = m.seq AND e.source = m.source AND e.id = m.id
                                     AND e.received_at < ?2) AND ${finished("m")} END
            AND ${version("m")} = m.version
         ON CONFLICT DO NOTHING`,
      )
      .bind(param, cutoff),
    db
      .prepare(
        `WITH ${DONE}
         INSERT INTO archived_correlations (correlation_id, object)
         SELECT DISTINCT correlation_id, object FROM done WHERE true
         ON CONFLICT DO NOTHING`,
      )
      .bind(param),
    db
      .prepare(
        `WITH ${DONE}
         UPDATE archive_objects SET indexed = (SELECT COUNT(*) FROM done d WHERE d.key = archive_objects.key)
          WHERE key IN (SELECT key FROM m)`,
      )
      .bind(param),
    dropUnindexed(
      db,
      objects.map((o) => o.key),
    ),
    ...EVENT_TABLES.map((table) =>
      db
        .prepare(`WITH ${DONE} DELETE FROM ${table} WHERE (event_source, event_id) IN (SELECT source, id FROM done)`)
        .bind(param),
    ),
    db.prepare(`WITH ${DONE} DELETE FROM events WHERE seq IN (SELECT seq FROM done WHERE reopened = 0)`).bind(param),
    db
      .prepare(
        `WITH ${DONE} DELETE FROM archive_reopened WHERE (event_source, event_id) IN (SELECT source, id FROM done)`,
      )
      .bind(param),
    ...(cursor ? [setCursor(db, cursor.name, cursor.seq)] : []),
  ];
  const results = await db.batch(statements);
  return { archived: results[1]?.meta.changes ?? 0, dropped: droppedKeys(results[4]) };
}
