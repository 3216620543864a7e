// Recovery reads and writes: dead letters and their replay, held deliveries of paused agents, agent
// state, and the log slices that /v1/replay re-delivers.
import { z } from "zod";
import { iso } from "./runs";
import { QueueMessageSchema } from "../bus/envelope";
import { toLoggedEvent } from "./events";
import { where } from "./where";

const jsonMessage = z.string().transform((s) => QueueMessageSchema.parse(JSON.parse(s)));
const DeadLetterRow = z.object({
  seq: z.number(),
  kind: z.enum(["event", "task"]),
  event_source: z.string(),
  event_id: z.string(),
  agent: z.string(),
  attempts: z.number(),
  error: z.string().nullable(),
  message: jsonMessage,
  recorded_at: z.number(),
  status: z.string(),
  replays: z.number(),
  replayed_at: z.number().nullable(),
});

const toDeadLetter = (row: unknown) => {
  const r = DeadLetterRow.parse(row);
  return {
    id: r.seq,
    kind: r.kind,
    status: r.status,
    agent: r.agent || null,
    attempts: r.attempts,
    error: r.error === null ? null : (JSON.parse(r.error) as unknown),
    event: r.message.event,
    recordedAt: r.recorded_at,
    recordedAtIso: iso(r.recorded_at),
    replays: r.replays,
    replayedAt: r.replayed_at,
    replayedAtIso: iso(r.replayed_at),
    message: r.message,
  };
};
type DeadLetterView = ReturnType<typeof toDeadLetter>;

export interface DeadLetterFilter {
  ids?: number[] | undefined;
  status?: "dead" | "replayed" | undefined;
  agent?: string | undefined;
  correlationid?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
  before?: number | undefined;
  limit: number;
}

/** The dead letters a filter selects, as a WHERE clause (`ids` as a JSON list: one parameter, any length). */
const deadLetterWhere = (f: DeadLetterFilter) =>
  where([
    ["seq IN (SELECT value FROM json_each(?))", f.ids && JSON.stringify(f.ids)],
    ["status = ?", f.status],
    ["agent = ?", f.agent],
    ["json_extract(message, '$.event.correlationid') = ?", f.correlationid],
    ["recorded_at >= ?", f.from],
    ["recorded_at < ?", f.to],
    ["seq < ?", f.before],
  ]);

export async function listDeadLetters(db: D1Database, f: DeadLetterFilter): Promise<DeadLetterView[]> {
  const w = deadLetterWhere(f);
  const { results } = await db
    .prepare(`SELECT * FROM dead_letters ${w.sql} ORDER BY seq DESC LIMIT ?`)
    .bind(...w.params, f.limit)
    .all();
  return results.map(toDeadLetter);
}

/**
 * Marks matching dead letters replayed and returns their messages, in one transaction; a task's run
 * goes back from dead_lettered to failed so that the replayed delivery may claim it. Only letters
 * still `dead` match, so replaying twice replays once.
 */
export async function takeForReplay(db: D1Database, f: DeadLetterFilter, now: number): Promise<DeadLetterView[]> {
  const w = deadLetterWhere({ ...f, status: "dead" });
  const [taken] = await db.batch([
    db
      .prepare(
        `UPDATE dead_letters SET status = 'replayed', replays = replays + 1, replayed_at = ?
          WHERE seq IN (SELECT seq FROM dead_letters ${w.sql} ORDER BY seq LIMIT ?) RETURNING *`,
      )
      .bind(now, ...w.params, f.limit),
    db
      .prepare(
        `UPDATE agent_runs SET status = 'failed'
          WHERE status = 'dead_lettered' AND EXISTS (
            SELECT 1 FROM dead_letters d WHERE d.status = 'replayed' AND d.replayed_at = ?
               AND d.event_source = agent_runs.event_source AND d.event_id = agent_runs.event_id AND d.agent = agent_runs.agent)`,
      )
      .bind(now),
  ]);
  return (taken?.results ?? []).map(toDeadLetter);
}

/** Puts letters whose replay could not be sent back to `dead`. */
export async function untake(db: D1Database, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  // One bound parameter however many letters (D1 allows 100 per statement): the ids as a JSON array.
  await db
    .prepare(
      "UPDATE dead_letters SET status = 'dead', replays = replays - 1 WHERE seq IN (SELECT value FROM json_each(?))",
    )
    .bind(JSON.stringify(ids))
    .run();
}

// ---- agents: pause, resume, held deliveries --------------------------------------------------------

export async function setPaused(db: D1Database, agent: string, paused: boolean, by: string, now: number) {
  await db
    .prepare(
      `INSERT INTO agent_state (agent, paused, changed_at, changed_by) VALUES (?, ?, ?, ?)
       ON CONFLICT (agent) DO UPDATE SET paused = excluded.paused, changed_at = excluded.changed_at, changed_by = excluded.changed_by`,
    )
    .bind(agent, paused ? 1 : 0, now, by)
    .run();
}

/** Holds deliveries that reached a paused agent; returns those actually held (the agent may have resumed). */
export async function holdDeliveries(
  db: D1Database,
  tasks: readonly { source: string; id: string; agent: string }[],
): Promise<boolean[]> {
  if (tasks.length === 0) return [];
  const results = await db.batch(
    tasks.flatMap((t) => [
      db
        .prepare(
          `UPDATE deliveries SET held = 1
            WHERE event_source = ?1 AND event_id = ?2 AND agent = ?3
              AND EXISTS (SELECT 1 FROM agent_state WHERE agent = ?3 AND paused = 1)
           RETURNING agent`,
        )
        .bind(t.source, t.id, t.agent),
      // A held delivery has no run: the claim routing recorded for it (attempt 0, never run) goes, so
      // that the delivery sent on resume claims the run afresh.
      db
        .prepare(
          `DELETE FROM agent_runs
            WHERE event_source = ?1 AND event_id = ?2 AND agent = ?3 AND status = 'running' AND attempt = 0
              AND EXISTS (SELECT 1 FROM agent_state WHERE agent = ?3 AND paused = 1)`,
        )
        .bind(t.source, t.id, t.agent),
    ]),
  );
  return tasks.map((_, i) => (results[2 * i]?.results.length ?? 0) > 0);
}

const HeldRow = z.object({
  rowid: z.number(),
  event_source: z.string(),
  event_id: z.string(),
  seq: z.number().nullable(),
  envelope: z.string().nullable(),
  received_at: z.number().nullable(),
  logged_at: z.number().nullable(),
});

/**
 * Up to `limit` held deliveries of an agent after `afterRowid` (a cursor within one resume), each with
 * its event when D1 still holds it; `logged` is null for an event archived since (a replay of an
 * archived event held for a paused agent): the caller finds it in the archive. Marks nothing.
 */
export async function heldDeliveries(db: D1Database, agent: string, afterRowid: number, limit: number) {
  const { results } = await db
    .prepare(
      `SELECT d.rowid AS rowid, d.event_source, d.event_id, e.seq, e.envelope, e.received_at, e.logged_at
         FROM deliveries d LEFT JOIN events e ON e.source = d.event_source AND e.id = d.event_id
        WHERE d.agent = ?1 AND d.held = 1 AND d.rowid > ?2 ORDER BY d.rowid LIMIT ?3`,
    )
    .bind(agent, afterRowid, limit)
    .all();
  return z
    .array(HeldRow)
    .parse(results)
    .map((r) => ({
      rowid: r.rowid,
      source: r.event_source,
      id: r.event_id,
      logged: r.envelope === null ? null : toLoggedEvent(r),
    }));
}

const keysParam = (agent: string, events: readonly { source: string; id: string }[]) =>
  JSON.stringify(events.map((e) => [e.source, e.id, agent]));

/**
 * Marks these deliveries of an agent no longer held; returns the `source id` keys it marked (those a
 * concurrent resume did not take first), which are the caller's to send.
 */
export async function markReleased(db: D1Database, agent: string, events: readonly { source: string; id: string }[]) {
  if (events.length === 0) return new Set<string>();
  const { results } = await db
    .prepare(
      `UPDATE deliveries SET held = 0
        WHERE held = 1 AND (event_source, event_id, agent) IN (
          SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]' FROM json_each(?1))
       RETURNING event_source, event_id`,
    )
    .bind(keysParam(agent, events))
    .all();
  return new Set(
    z
      .array(z.object({ event_source: z.string(), event_id: z.string() }))
      .parse(results)
      .map((r) => `${r.event_source} ${r.event_id}`),
  );
}

/** Holds again released deliveries whose tasks could not be sent, so the next resume sends them. */
export async function holdAgain(db: D1Database, agent: string, events: readonly { source: string; id: string }[]) {
  if (events.length === 0) return;
  await db
    .prepare(
      `UPDATE deliveries SET held = 1
        WHERE held = 0 AND (event_source, event_id, agent) IN (
          SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]' FROM json_each(?1))`,
    )
    .bind(keysParam(agent, events))
    .run();
}

const AgentCountRow = z.object({ agent: z.string(), what: z.string(), n: z.number() });

/** Per agent: paused or not, runs by status, held deliveries, dead letters awaiting replay. */
export async function agentCounts(db: D1Database) {
  const [state, counts] = await db.batch([
    db.prepare("SELECT agent, paused, changed_at, changed_by FROM agent_state"),
    db.prepare(
      `SELECT agent, 'run:' || status AS what, COUNT(*) AS n FROM agent_runs GROUP BY agent, status
       UNION ALL SELECT agent, 'held', COUNT(*) FROM deliveries WHERE held = 1 GROUP BY agent
       UNION ALL SELECT agent, 'dead_letters', COUNT(*) FROM dead_letters WHERE status = 'dead' AND agent != '' GROUP BY agent`,
    ),
  ]);
  const paused = new Map(
    z
      .array(
        z.object({ agent: z.string(), paused: z.number(), changed_at: z.number(), changed_by: z.string().nullable() }),
      )
      .parse(state?.results)
      .map((s) => [s.agent, s]),
  );
  const byAgent = new Map<string, Record<string, number>>();
  for (const c of z.array(AgentCountRow).parse(counts?.results)) {
    const record = byAgent.get(c.agent) ?? {};
    record[c.what] = c.n;
    byAgent.set(c.agent, record);
  }
  return { paused, byAgent };
}

// ---- replay from the log -----------------------------------------------------------------------------

export interface LogSlice {
  type?: string | undefined;
  correlationid?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
  afterSeq?: number | undefined;
  limit: number;
}

export async function logSlice(db: D1Database, q: LogSlice) {
  const w = where([
    ["type = ?", q.type],
    ["correlation_id = ?", q.correlationid],
    ["logged_at >= ?", q.from],
    ["logged_at < ?", q.to],
    ["seq > ?", q.afterSeq],
  ]);
  const { results } = await db
    .prepare(`SELECT seq, envelope, received_at, logged_at FROM events ${w.sql} ORDER BY seq LIMIT ?`)
    .bind(...w.params, q.limit)
    .all();
  return results.map(toLoggedEvent);
}

/**
 * Prepares (event, agent) pairs for re-delivery in one transaction: pairs whose run succeeded (or is
 * running) are skipped; a dead-lettered run goes back to failed; a delivery row is written (held for
 * a paused agent). Returns, per pair, whether to send it now. Three statements however many pairs
 * (the pairs travel as one JSON value), so a full page of replay stays far under D1's 1,000 queries.
 */
export async function prepareRedelivery(
  db: D1Database,
  pairs: readonly { source: string; id: string; agent: string }[],
  now: number,
): Promise<("send" | "held" | "done")[]> {
  if (pairs.length === 0) return [];
  const param = JSON.stringify(pairs.map((p) => [p.source, p.id, p.agent]));
  const PAIRS = `p AS (SELECT value ->> '$[0]' AS source, value ->> '$[1]' AS id, value ->> '$[2]' AS agent
                         FROM json_each(?1))`;
  const [, , delivered] = await db.batch([
    db
      .prepare(
        `WITH ${PAIRS}
         UPDATE agent_runs SET status = 'failed'
          WHERE status = 'dead_lettered' AND (event_source, event_id, agent) IN (SELECT source, id, agent FROM p)`,
      )
      .bind(param),
    db
      .prepare(
        `WITH ${PAIRS}
         UPDATE dead_letters SET status = 'replayed', replays = replays + 1, replayed_at = ?2
          WHERE kind = 'task' AND status = 'dead' AND (event_source, event_id, agent) IN (SELECT source, id, agent FROM p)`,
      )
      .bind(param, now),
    db
      .prepare(
        `WITH ${PAIRS}
         INSERT INTO deliveries (event_source, event_id, agent, routed_at, held)
         SELECT p.source, p.id, p.agent, ?2, EXISTS (SELECT 1 FROM agent_state s WHERE s.agent = p.agent AND s.paused = 1)
           FROM p
          WHERE NOT EXISTS (SELECT 1 FROM agent_runs r WHERE r.event_source = p.source AND r.event_id = p.id
                               AND r.agent = p.agent AND r.status IN ('succeeded', 'running'))
         ON CONFLICT (event_source, event_id, agent) DO UPDATE SET held = excluded.held
         RETURNING event_source, event_id, agent, held`,
      )
      .bind(param, now),
  ]);
  const decided = new Map(
    z
      .array(z.object({ event_source: z.string(), event_id: z.string(), agent: z.string(), held: z.number() }))
      .parse(delivered?.results ?? [])
      .map((d) => [`${d.event_source} ${d.event_id} ${d.agent}`, d.held ? "held" : "send"] as const),
  );
  return pairs.map((p) => decided.get(`${p.source} ${p.id} ${p.agent}`) ?? "done");
}
