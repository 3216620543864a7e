// policy_violations: attempts to say what one may not. Agent runs record theirs with the run
// (src/db/runs.ts); the router and the coordinators record events whose publisher does not declare
// them, which are never logged, so the violation keeps their type and correlation.
import { z } from "zod";
import { iso } from "./runs";
import { where } from "./where";

/** An event refused because its publisher may not publish its type; it is never logged. */
export const PublisherViolationSchema = z.object({
  source: z.string(),
  id: z.string(),
  type: z.string(),
  correlationId: z.string(),
  kind: z.string(),
  detail: z.string(),
  detectedBy: z.enum(["router", "coordinator"]),
});
export type PublisherViolation = z.infer<typeof PublisherViolationSchema>;

export async function recordViolations(
  db: D1Database,
  violations: readonly PublisherViolation[],
  now: number,
): Promise<void> {
  if (violations.length === 0) return;
  await db.batch(
    violations.map((v) =>
      db
        .prepare(
          `INSERT INTO policy_violations
             (event_source, event_id, agent, kind, detail, recorded_at, detected_by, event_type, correlation_id)
           VALUES (?, ?, '', ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        )
        .bind(v.source, v.id, v.kind, v.detail, now, v.detectedBy, v.type, v.correlationId),
    ),
  );
}

const ViolationRow = z
  .object({
    seq: z.number(),
    event_source: z.string(),
    event_id: z.string(),
    agent: z.string(),
    kind: z.string(),
    detail: z.string(),
    recorded_at: z.number(),
    detected_by: z.string(),
    event_type: z.string().nullable(),
    correlation_id: z.string().nullable(),
  })
  .transform((r) => ({
    seq: r.seq,
    eventSource: r.event_source,
    eventId: r.event_id,
    eventType: r.event_type,
    correlationId: r.correlation_id,
    agent: r.agent || null,
    detectedBy: r.detected_by,
    kind: r.kind,
    detail: r.detail,
    recordedAt: r.recorded_at,
    recordedAtIso: iso(r.recorded_at),
  }));
export type ViolationView = z.output<typeof ViolationRow>;

/** Parses policy_violations rows with the event's type and correlation (the archive holds them so). */
export const parseViolations = (rows: unknown): ViolationView[] => z.array(ViolationRow).parse(rows);

// A run's violations have no type or correlation of their own: they are the cause event's, in the log.
const COLUMNS = `v.seq, v.event_source, v.event_id, v.agent, v.kind, v.detail, v.recorded_at, v.detected_by,
  COALESCE(v.event_type, e.type) AS event_type, COALESCE(v.correlation_id, e.correlation_id) AS correlation_id`;
const FROM = "policy_violations v LEFT JOIN events e ON e.source = v.event_source AND e.id = v.event_id";

export interface ViolationQuery {
  kind?: string | undefined;
  correlationid?: string | undefined;
  eventId?: string | undefined;
  source?: string | undefined;
  agent?: string | undefined;
  before?: number | undefined;
  limit: number;
}

export async function listViolations(db: D1Database, q: ViolationQuery): Promise<ViolationView[]> {
  const w = where([
    ["v.kind = ?", q.kind],
    [
      "(v.correlation_id = ? OR e.correlation_id = ?)",
      q.correlationid === undefined ? undefined : [q.correlationid, q.correlationid],
    ],
    ["v.event_id = ?", q.eventId],
    ["v.event_source = ?", q.source],
    ["v.agent = ?", q.agent],
    ["v.seq < ?", q.before],
  ]);
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM ${FROM} ${w.sql} ORDER BY v.seq DESC LIMIT ?`)
    .bind(...w.params, q.limit)
    .all();
  return z.array(ViolationRow).parse(results);
}
