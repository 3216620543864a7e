// The archive's index, read: which R2 objects hold an event, a correlation or a slice of the log,
// and the rows still in D1 for an archived event (a replay after archiving records new runs here).
// Every lookup is by key (archived_events, archived_correlations) or an index range on the manifest.
import { z } from "zod";
import { where } from "./where";

const ObjectRow = z.object({
  seq: z.number(),
  key: z.string(),
  kind: z.enum(["events", "workflows"]),
  lines: z.number(),
  indexed: z.number(),
  first_seq: z.number().nullable(),
});
const toRef = (o: z.infer<typeof ObjectRow>) => ({
  seq: o.seq,
  key: o.key,
  kind: o.kind,
  /** Some lines' rows stayed in D1 (they changed while the object was written): check each line. */
  partial: o.indexed < o.lines,
  firstSeq: o.first_seq ?? 0,
});
const ObjectRef = ObjectRow.transform(toRef);
export type ObjectRef = z.output<typeof ObjectRef>;
const COLUMNS = "o.seq, o.key, o.kind, o.lines, o.indexed, o.first_seq";

/** The objects holding an archived event, with its source: usually one; more if it was archived again. */
export async function objectsOfEvent(db: D1Database, id: string, source?: string) {
  const { results } = await db
    .prepare(
      `SELECT a.source AS source, ${COLUMNS} FROM archived_events a JOIN archive_objects o ON o.seq = a.object
        WHERE a.id = ?1 AND (?2 IS NULL OR a.source = ?2) ORDER BY o.seq`,
    )
    .bind(id, source ?? null)
    .all();
  return z
    .array(ObjectRow.extend({ source: z.string() }).transform((o) => ({ ...toRef(o), source: o.source })))
    .parse(results);
}

/** The objects holding a correlation's archived events and workflow instances, oldest first. */
export async function objectsOfCorrelation(db: D1Database, correlationId: string, limit: number) {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM archived_correlations c JOIN archive_objects o ON o.seq = c.object
        WHERE c.correlation_id = ? ORDER BY o.seq LIMIT ?`,
    )
    .bind(correlationId, limit)
    .all();
  return z.array(ObjectRef).parse(results);
}

/** For each of these events (`source id` keys), an object that holds it, if it is archived. */
export async function objectsOfEvents(db: D1Database, events: readonly { source: string; id: string }[]) {
  if (events.length === 0) return new Map<string, ObjectRef>();
  const { results } = await db
    .prepare(
      `SELECT k.value ->> '$[0]' AS source, k.value ->> '$[1]' AS id, ${COLUMNS} FROM json_each(?1) k
         JOIN archive_objects o ON o.seq = (SELECT MIN(a.object) FROM archived_events a
                                             WHERE a.id = k.value ->> '$[1]' AND a.source = k.value ->> '$[0]')`,
    )
    .bind(JSON.stringify(events.map((e) => [e.source, e.id])))
    .all();
  const rows = z.array(ObjectRow.extend({ source: z.string(), id: z.string() })).parse(results);
  return new Map(rows.map((o) => [`${o.source} ${o.id}`, toRef(o)]));
}

export interface ArchivedSlice {
  type?: string | undefined;
  correlationid?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
  afterSeq?: number | undefined;
}

/**
 * Event objects that may hold events of the slice after `afterSeq`, by their first log position.
 * Objects that index nothing are skipped (none are recorded since; older ones may remain).
 */
export async function objectsOfSlice(db: D1Database, q: ArchivedSlice, limit: number): Promise<ObjectRef[]> {
  const w = where([
    ["o.kind = 'events' AND o.indexed > 0 AND o.last_seq > ?", q.afterSeq ?? 0],
    ["o.max_logged_at >= ?", q.from],
    ["o.min_logged_at < ?", q.to],
    ["EXISTS (SELECT 1 FROM json_each(o.types) WHERE value = ?)", q.type],
    ["o.seq IN (SELECT object FROM archived_correlations WHERE correlation_id = ?)", q.correlationid],
  ]);
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM archive_objects o ${w.sql} ORDER BY o.first_seq, o.seq LIMIT ?`)
    .bind(...w.params, limit)
    .all();
  return z.array(ObjectRef).parse(results);
}

/** Of these events in a partial object, those whose rows left D1 with it (`source id` keys). */
export async function indexedIn(
  db: D1Database,
  object: number,
  events: readonly { source: string; id: string }[],
): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const { results } = await db
    .prepare(
      `SELECT k.value ->> '$[0]' AS source, k.value ->> '$[1]' AS id FROM json_each(?1) k
        WHERE EXISTS (SELECT 1 FROM archived_events a
                       WHERE a.id = k.value ->> '$[1]' AND a.source = k.value ->> '$[0]' AND a.object = ?2)`,
    )
    .bind(JSON.stringify(events.map((e) => [e.source, e.id])), object)
    .all();
  return new Set(
    z
      .array(z.object({ source: z.string(), id: z.string() }))
      .parse(results)
      .map((r) => `${r.source} ${r.id}`),
  );
}

const TotalRow = z.object({
  kind: z.string(),
  objects: z.number(),
  lines: z.number(),
  bytes: z.number(),
  oldest: z.number(),
  newest: z.number(),
});

/** What the archive holds, per kind: objects, lines whose rows left D1, gzip bytes, oldest and newest hour. */
export async function archiveTotals(db: D1Database) {
  const { results } = await db
    .prepare(
      `SELECT kind, COUNT(*) AS objects, SUM(indexed) AS lines, SUM(bytes) AS bytes, MIN(hour) AS oldest,
              MAX(hour) AS newest
         FROM archive_objects WHERE indexed > 0 GROUP BY kind`,
    )
    .all();
  return Object.fromEntries(
    z
      .array(TotalRow)
      .parse(results)
      .map(({ kind, ...t }) => [kind, t]),
  );
}
