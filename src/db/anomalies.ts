// The failure modes an operator looks for, as lists: parked events (hop limit, storm cap), unrouted
// events (nobody subscribes), suppressed duplicates and late results. Each is paged newest first by
// a unique position (`before`: the last row's `position`, a tuple), with filters that use indexes.
import { z } from "zod";
import { iso } from "./runs";
import { where } from "./where";

/**
 * Counts suppressed duplicates: events logged again (agent ''), or deliveries of finished runs (the
 * run consumer acks them without running). Only the duplicate path pays this write.
 */
export async function recordDuplicates(
  db: D1Database,
  kind: "event" | "delivery",
  keys: readonly { source: string; id: string; agent?: string }[],
  now: number,
): Promise<void> {
  if (keys.length === 0) return;
  await db.batch(keys.map((k) => duplicateStatement(db, kind, k.source, k.id, k.agent ?? "", now)));
}

function duplicateStatement(
  db: D1Database,
  kind: "event" | "delivery",
  source: string,
  id: string,
  agent: string,
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO duplicates (kind, event_source, event_id, agent, count, first_at, last_at)
       VALUES (?, ?, ?, ?, 1, ?5, ?5)
       ON CONFLICT (kind, event_source, event_id, agent) DO UPDATE SET count = count + 1, last_at = excluded.last_at`,
    )
    .bind(kind, source, id, agent, now);
}

const EVENT_OF = (alias: string, source: string, id: string) =>
  `LEFT JOIN events e ON e.source = ${alias}.${source} AND e.id = ${alias}.${id}`;
const nullable = z.string().nullable();
const EventColumns = {
  type: nullable,
  correlation_id: nullable,
  hop_count: z.number().nullable(),
  logged_at: z.number().nullable(),
};
const eventOf = (r: { type: string | null; correlation_id: string | null; hop_count: number | null }) => ({
  type: r.type,
  correlationId: r.correlation_id,
  hopcount: r.hop_count,
});

/** A row's place in its list: a time (or sequence number) and, where times can tie, its key. */
export type Position = readonly (string | number)[];

export interface AnomalyQuery<P extends Position = Position> {
  type?: string | undefined;
  correlationid?: string | undefined;
  before?: P | undefined;
  limit: number;
}

const ParkedRow = z.object({
  event_source: z.string(),
  event_id: z.string(),
  reason: z.string(),
  parked_at: z.number(),
  ...EventColumns,
});

export async function listParked(db: D1Database, q: AnomalyQuery & { reason?: string | undefined }) {
  const w = where([
    ["p.reason = ?", q.reason],
    ["e.type = ?", q.type],
    ["e.correlation_id = ?", q.correlationid],
    ["(p.parked_at, p.event_source, p.event_id) < (?, ?, ?)", q.before],
  ]);
  const { results } = await db
    .prepare(
      `SELECT p.event_source, p.event_id, p.reason, p.parked_at, e.type, e.correlation_id, e.hop_count, e.logged_at
         FROM parked_events p ${EVENT_OF("p", "event_source", "event_id")} ${w.sql}
        ORDER BY p.parked_at DESC, p.event_source DESC, p.event_id DESC LIMIT ?`,
    )
    .bind(...w.params, q.limit)
    .all();
  return z
    .array(ParkedRow)
    .parse(results)
    .map((r) => ({
      eventSource: r.event_source,
      eventId: r.event_id,
      ...eventOf(r),
      reason: r.reason,
      parkedAt: r.parked_at,
      parkedAtIso: iso(r.parked_at),
      position: [r.parked_at, r.event_source, r.event_id] as Position,
    }));
}

const UnroutedRow = z.object({
  event_source: z.string(),
  event_id: z.string(),
  recorded_at: z.number(),
  ...EventColumns,
});

export async function listUnrouted(db: D1Database, q: AnomalyQuery) {
  const w = where([
    ["e.type = ?", q.type],
    ["e.correlation_id = ?", q.correlationid],
    ["(u.recorded_at, u.event_source, u.event_id) < (?, ?, ?)", q.before],
  ]);
  const { results } = await db
    .prepare(
      `SELECT u.event_source, u.event_id, u.recorded_at, e.type, e.correlation_id, e.hop_count, e.logged_at
         FROM unrouted_events u ${EVENT_OF("u", "event_source", "event_id")} ${w.sql}
        ORDER BY u.recorded_at DESC, u.event_source DESC, u.event_id DESC LIMIT ?`,
    )
    .bind(...w.params, q.limit)
    .all();
  return z
    .array(UnroutedRow)
    .parse(results)
    .map((r) => ({
      eventSource: r.event_source,
      eventId: r.event_id,
      ...eventOf(r),
      loggedAt: r.recorded_at,
      loggedAtIso: iso(r.recorded_at),
      position: [r.recorded_at, r.event_source, r.event_id] as Position,
    }));
}

const DuplicateRow = z.object({
  seq: z.number(),
  kind: z.enum(["event", "delivery"]),
  event_source: z.string(),
  event_id: z.string(),
  agent: z.string(),
  count: z.number(),
  first_at: z.number(),
  last_at: z.number(),
  ...EventColumns,
});

export async function listDuplicates(
  db: D1Database,
  q: AnomalyQuery & { kind?: string | undefined; agent?: string | undefined },
) {
  const w = where([
    ["d.kind = ?", q.kind],
    ["d.agent = ?", q.agent],
    ["e.type = ?", q.type],
    ["e.correlation_id = ?", q.correlationid],
    ["d.seq < ?", q.before],
  ]);
  const { results } = await db
    .prepare(
      `SELECT d.*, e.type, e.correlation_id, e.hop_count, e.logged_at
         FROM duplicates d ${EVENT_OF("d", "event_source", "event_id")} ${w.sql} ORDER BY d.seq DESC LIMIT ?`,
    )
    .bind(...w.params, q.limit)
    .all();
  return z
    .array(DuplicateRow)
    .parse(results)
    .map((r) => ({
      kind: r.kind,
      eventSource: r.event_source,
      eventId: r.event_id,
      agent: r.agent || null,
      ...eventOf(r),
      count: r.count,
      firstAt: r.first_at,
      firstAtIso: iso(r.first_at),
      lastAt: r.last_at,
      lastAtIso: iso(r.last_at),
      position: [r.seq] as Position,
    }));
}

const LateRow = z.object({
  id: z.string(),
  workflow: z.string(),
  status: z.string(),
  started_at: z.number(),
  completed_at: z.number().nullable(),
  event_id: z.string(),
  event_source: nullable,
  ...EventColumns,
});

/** Results that reached a workflow after it had decided: counted nowhere, shown here. */
export async function listLate(
  db: D1Database,
  q: AnomalyQuery & { workflow?: string | undefined; agent?: string | undefined },
) {
  const w = where([
    ["workflow = ?", q.workflow],
    ["id = ?", q.correlationid],
    ["(started_at, id, workflow) < (?, ?, ?)", q.before],
  ]);
  const filters = w.sql === "" ? "" : `AND ${w.sql.slice("WHERE ".length)}`;
  // The page is cut on workflows (by the partial index of those with late results), then unnested:
  // a workflow's late results are never split across pages.
  const { results } = await db
    .prepare(
      `WITH page AS (SELECT id, workflow, status, started_at, completed_at, late FROM workflows
                      WHERE late <> '[]' ${filters}
                      ORDER BY started_at DESC, id DESC, workflow DESC LIMIT ?)
       SELECT p.id, p.workflow, p.status, p.started_at, p.completed_at, j.value AS event_id,
              e.source AS event_source, e.type, e.correlation_id, e.hop_count, e.logged_at
         FROM page p, json_each(p.late) j
         LEFT JOIN events e ON e.correlation_id = p.id AND e.id = j.value
        ORDER BY p.started_at DESC, p.id DESC, p.workflow DESC, e.logged_at`,
    )
    .bind(...w.params, q.limit)
    .all();
  const rows = z.array(LateRow).parse(results);
  const workflows = new Set(rows.map((r) => `${r.id} ${r.workflow}`)).size;
  const last = rows.at(-1);
  const next: Position | null = workflows === q.limit && last ? [last.started_at, last.id, last.workflow] : null;
  const items = rows
    .map((r) => ({
      workflowId: r.id,
      workflow: r.workflow,
      status: r.status,
      completedAt: r.completed_at,
      completedAtIso: iso(r.completed_at),
      eventId: r.event_id,
      eventSource: r.event_source,
      ...eventOf(r),
      loggedAt: r.logged_at,
      loggedAtIso: iso(r.logged_at),
      position: [r.started_at, r.id, r.workflow] as Position,
    }))
    .filter((r) => q.type === undefined || r.type === q.type)
    .filter((r) => q.agent === undefined || r.eventSource === `/agentwire/agents/${q.agent}`);
  return { items, next };
}
