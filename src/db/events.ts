// The event log: append (idempotent on source+id) together with the routing decision, and reads.
import { type Plan, planEach, runPlans } from "./batch";
import { z } from "zod";
import { type Envelope, EnvelopeSchema } from "../bus/envelope";
import { iso, MODEL_CALLS_OF_EVENT, parseRuns, RUN_COLUMNS, withCalls } from "./runs";
import { STEPS_OF_EVENT } from "./steps";
import { listViolations } from "./violations";
import { where } from "./where";

export interface LogEntry {
  event: Envelope;
  receivedAt: number;
  agents: readonly string[];
  /** Whether anything listens to the event (an agent or a workflow): only such events are parked. */
  routable: boolean;
  /** Route it even if it is already logged (a redelivery whose first try may have logged without routing). */
  reroute?: boolean;
}

export interface Limits {
  maxHops: number;
  maxEventsPerCorrelation: number;
}

export interface Logged {
  /** This call appended the event (false: it was already in the log). */
  inserted: boolean;
  /** Parked instead of routed: over the hop limit, or its correlation is over the event cap. */
  parked: "hop_limit" | "correlation_cap" | null;
  /** Agents to send a task to now (a paused agent's delivery is held instead). */
  send: string[];
  held: string[];
  /**
   * Of `send`, the agents whose run this routing claimed (a new run, recorded `running` at attempt 0)
   * under `claim`: their first delivery runs at once, with no claim round trip (see consumers/run.ts).
   */
  claimed: string[];
  claim: string;
}

// Built once: a zod schema costs more to construct than to run.
const DeliveryReturns = z.array(z.object({ agent: z.string(), held: z.number() }));
const ClaimedReturns = z.array(z.object({ agent: z.string() }));
const ParkedReturns = z.array(z.object({ reason: z.enum(["hop_limit", "correlation_cap"]) }));

/**
 * Appends the events and their routing in one transaction; an event already archived to R2 counts as
 * logged (a duplicate), like one in D1. Deliveries are written only for events
 * to route: those this call inserted — the `changes()` guard reads the outcome of the event insert
 * just before it — or, for an entry marked `reroute`, whether it inserted it or not. Events over
 * the hop limit, or whose correlation holds more than the cap, are parked instead. A delivery to a
 * paused agent is written as held. Each delivery this call writes (not held, its agent's run not yet
 * recorded) also claims its run for the task about to be sent, under a claim token of this call's; a
 * delivery routed again keeps whatever run it has, and its task claims as any delivery does. Nothing
 * takes such a claim over before its lease runs out: its task may be running without having told D1
 * (consumers/run.ts runs a prompt first delivery without claiming).
 */
export async function logEvents(
  db: D1Database,
  entries: readonly LogEntry[],
  now: number,
  limits: Limits,
): Promise<Logged[]> {
  const [logged] = await runPlans(db, [logPlan(db, entries, now, limits)]);
  return logged;
}

/**
 * Logs only if this webhook message is recorded with this digest: in one batch after the webhook-id
 * statement, a replayed id with other content (which that statement refuses) logs nothing.
 */
export interface WebhookGuard {
  webhookId: string;
  digest: string;
}

/** logEvents as a plan, to run in one batch with other statements (the run consumer's). */
export function logPlan(
  db: D1Database,
  entries: readonly LogEntry[],
  now: number,
  limits: Limits,
  guard?: WebhookGuard,
): Plan<Logged[]> {
  // The claim of every run this routing starts: the tasks carry it, and only they may take the run.
  const claim = `routed:${crypto.randomUUID()}`;
  const perEntry = entries.map(
    ({ event, receivedAt, agents, routable, reroute }) =>
      [
        db
          .prepare(
            `INSERT INTO events (source, id, type, subject, time, correlation_id, causation_id, hop_count,
                               traceparent, envelope, received_at, logged_at)
           SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12
            WHERE (?13 IS NULL OR EXISTS (SELECT 1 FROM webhook_messages WHERE webhook_id = ?13 AND digest = ?14))
              AND NOT EXISTS (SELECT 1 FROM archived_events WHERE id = ?2 AND source = ?1)
           ON CONFLICT (source, id) DO NOTHING
           RETURNING seq`,
          )
          .bind(
            event.source,
            event.id,
            event.type,
            event.subject ?? null,
            event.time ?? null,
            event.correlationid,
            event.causationid ?? null,
            event.hopcount,
            event.traceparent ?? null,
            JSON.stringify(event),
            receivedAt,
            now,
            guard?.webhookId ?? null,
            guard?.digest ?? null,
          ),
        db
          .prepare(
            `INSERT INTO deliveries (event_source, event_id, agent, routed_at, held)
           SELECT ?1, ?2, j.value, ?3, EXISTS (SELECT 1 FROM agent_state s WHERE s.agent = j.value AND s.paused = 1)
             FROM json_each(?4) j
            WHERE (changes() = 1 OR ?5 = 1) AND ?6 <= ?7
              AND (SELECT COUNT(*) FROM events WHERE correlation_id = ?8) <= ?9
           ON CONFLICT (event_source, event_id, agent) DO UPDATE SET routed_at = deliveries.routed_at
           RETURNING agent, held`,
          )
          .bind(
            event.source,
            event.id,
            now,
            JSON.stringify(agents),
            reroute ? 1 : 0,
            event.hopcount,
            limits.maxHops,
            event.correlationid,
            limits.maxEventsPerCorrelation,
          ),
        db
          .prepare(
            `INSERT INTO parked_events (event_source, event_id, reason, parked_at)
           SELECT ?1, ?2, CASE WHEN ?4 > ?5 THEN 'hop_limit' ELSE 'correlation_cap' END, ?3
            WHERE ?8 = 1
              AND EXISTS (SELECT 1 FROM events WHERE source = ?1 AND id = ?2)
              AND (?4 > ?5 OR (SELECT COUNT(*) FROM events WHERE correlation_id = ?6) > ?7)
              AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event_source = ?1 AND event_id = ?2)
           ON CONFLICT (event_source, event_id) DO UPDATE SET reason = parked_events.reason
           RETURNING reason`,
          )
          .bind(
            event.source,
            event.id,
            now,
            event.hopcount,
            limits.maxHops,
            event.correlationid,
            limits.maxEventsPerCorrelation,
            routable ? 1 : 0,
          ),
        db
          .prepare(
            `INSERT INTO agent_runs (event_source, event_id, agent, status, attempt, claim, started_at)
           SELECT event_source, event_id, agent, 'running', 0, ?3, ?4 FROM deliveries
            WHERE event_source = ?1 AND event_id = ?2 AND routed_at = ?4 AND held = 0
           ON CONFLICT (event_source, event_id, agent) DO NOTHING
           RETURNING agent`,
          )
          .bind(event.source, event.id, claim, now),
      ] as const,
  );
  // An event nothing listens to is logged and listed as unrouted (a missed event, if unexpected).
  const unrouted = entries
    .filter((e) => !e.routable)
    .map(({ event }) =>
      db
        .prepare(
          `INSERT INTO unrouted_events (event_source, event_id, recorded_at)
           SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM events WHERE source = ?1 AND id = ?2 AND logged_at = ?3)
           ON CONFLICT DO NOTHING`,
        )
        .bind(event.source, event.id, now),
    );
  const plan = planEach(perEntry, (each) =>
    each.map(([logged, delivered, parkedRows, claimedRows]): Logged => {
      const deliveries = DeliveryReturns.parse(delivered.results);
      const parked = ParkedReturns.parse(parkedRows.results)[0]?.reason ?? null;
      return {
        inserted: logged.results.length > 0,
        parked,
        send: deliveries.filter((d) => !d.held).map((d) => d.agent),
        held: deliveries.filter((d) => d.held).map((d) => d.agent),
        claimed: ClaimedReturns.parse(claimedRows.results).map((r) => r.agent),
        claim,
      };
    }),
  );
  return {
    statements: [...plan.statements, ...unrouted],
    read: (results) => plan.read(results.slice(0, plan.statements.length)),
  };
}

const EventRow = z.object({
  seq: z.number(),
  envelope: z.string().transform((s) => EnvelopeSchema.parse(JSON.parse(s))),
  received_at: z.number(),
  logged_at: z.number(),
});

export function toLoggedEvent(row: unknown) {
  const r = EventRow.parse(row);
  return {
    seq: r.seq,
    receivedAt: r.received_at,
    receivedAtIso: iso(r.received_at),
    loggedAt: r.logged_at,
    loggedAtIso: iso(r.logged_at),
    event: r.envelope,
  };
}
export type LoggedEvent = ReturnType<typeof toLoggedEvent>;

const EVENT_COLUMNS = "seq, envelope, received_at, logged_at";

const DeliveryRow = z.object({ agent: z.string(), routed_at: z.number(), held: z.number() });

export const parseDeliveries = (rows: unknown) =>
  z
    .array(DeliveryRow)
    .parse(rows)
    .map((d) => ({ agent: d.agent, routedAt: d.routed_at, routedAtIso: iso(d.routed_at), held: d.held === 1 }));

/**
 * What D1 holds about an event, whether the event row itself is still there or archived: its
 * deliveries, runs, their model calls (rows, for withCalls) and violations.
 */
export async function eventRowsOf(db: D1Database, source: string, id: string) {
  const [[deliveries, runs, calls, steps], violations] = await Promise.all([
    db.batch([
      db
        .prepare("SELECT agent, routed_at, held FROM deliveries WHERE event_source = ? AND event_id = ? ORDER BY agent")
        .bind(source, id),
      db
        .prepare(
          `SELECT ${RUN_COLUMNS.join(", ")} FROM agent_runs WHERE event_source = ? AND event_id = ? ORDER BY started_at`,
        )
        .bind(source, id),
      db.prepare(MODEL_CALLS_OF_EVENT).bind(source, id),
      db.prepare(STEPS_OF_EVENT).bind(source, id),
    ]),
    listViolations(db, { source, eventId: id, limit: 100 }),
  ]);
  return {
    deliveries: parseDeliveries(deliveries?.results),
    runs: parseRuns(runs?.results),
    calls: calls?.results ?? [],
    steps: steps?.results ?? [],
    violations,
  };
}

/** One event with where it was routed and what each agent made of it. */
export async function getEvent(db: D1Database, id: string, source?: string) {
  const row = await db
    .prepare(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?1 AND (?2 IS NULL OR source = ?2) ORDER BY seq DESC LIMIT 1`,
    )
    .bind(id, source ?? null)
    .first();
  if (!row) return null;
  const logged = toLoggedEvent(row);
  const { deliveries, runs, calls, steps, violations } = await eventRowsOf(db, logged.event.source, logged.event.id);
  return {
    ...logged,
    deliveries,
    runs: withCalls(runs, calls, violations, steps),
    /** What agents tried, while handling this event, that they may not do. */
    violations,
  };
}

export interface EventQuery {
  type?: string | undefined;
  correlationid?: string | undefined;
  /** Only events logged before this sequence number: the cursor for the next (older) page. */
  before?: number | undefined;
  /** Only events logged after this sequence number, oldest first: a live stream's cursor. */
  after?: number | undefined;
  limit: number;
}

const ListedRow = z.object({ status: z.enum(["routed", "parked", "unrouted"]), duplicates: z.number() });

/** Events newest first (or oldest first after a position), each with how it was routed. */
export async function listEvents(db: D1Database, q: EventQuery) {
  const w = where([
    ["e.type = ?", q.type],
    ["e.correlation_id = ?", q.correlationid],
    ["e.seq < ?", q.before],
    ["e.seq > ?", q.after],
  ]);
  const { results } = await db
    .prepare(
      `SELECT e.seq, e.envelope, e.received_at, e.logged_at,
              CASE WHEN p.event_id IS NOT NULL THEN 'parked' WHEN u.event_id IS NOT NULL THEN 'unrouted' ELSE 'routed' END AS status,
              COALESCE(d.count, 0) AS duplicates
         FROM events e
         LEFT JOIN parked_events p ON p.event_source = e.source AND p.event_id = e.id
         LEFT JOIN unrouted_events u ON u.event_source = e.source AND u.event_id = e.id
         LEFT JOIN duplicates d ON d.kind = 'event' AND d.event_source = e.source AND d.event_id = e.id AND d.agent = ''
        ${w.sql} ORDER BY e.seq ${q.after === undefined ? "DESC" : "ASC"} LIMIT ?`,
    )
    .bind(...w.params, q.limit)
    .all();
  return results.map((row) => ({ ...toLoggedEvent(row), ...ListedRow.parse(row) }));
}
