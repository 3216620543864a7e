// workflows: the coordinators' audit copy of each instance, and the reads behind /v1/workflows.
import { z } from "zod";
import { type Plan, runPlans } from "./batch";
import { toLoggedEvent } from "./events";
import { iso, MODEL_CALLS_OF_CORRELATION, parseRuns, parseRunViolations, RUN_COLUMNS, withCalls } from "./runs";
import { STEPS_OF_CORRELATION } from "./steps";
import { where } from "./where";

/** What the audit copy keeps of an instance (the coordinator's state has this shape and more). */
export const WorkflowSnapshotSchema = z.object({
  id: z.string(),
  workflow: z.string(),
  status: z.string(),
  version: z.number(),
  start: z.object({ id: z.string() }),
  startedAt: z.number(),
  deadlineAt: z.number(),
  approvalDeadlineAt: z.number().optional(),
  completedAt: z.number().optional(),
  outcome: z.string().optional(),
  verdict: z.unknown().optional(),
  results: z.array(z.object({ id: z.string() })).readonly(),
  late: z.array(z.string()).readonly(),
});
export type WorkflowSnapshot = z.infer<typeof WorkflowSnapshotSchema>;

export interface WorkflowRecord {
  state: WorkflowSnapshot;
  outcomeEventId?: string;
  updatedAt: number;
}

/** Upserts instance snapshots in one batch; an older version never overwrites a newer one. */
export async function recordWorkflows(db: D1Database, records: readonly WorkflowRecord[]): Promise<void> {
  await runPlans(db, [workflowsPlan(db, records)]);
}

/** recordWorkflows as a plan: a coordinator writes its workflow rows and logs its events in one batch. */
export function workflowsPlan(db: D1Database, records: readonly WorkflowRecord[]): Plan<void> {
  const statements = records.map(({ state: s, outcomeEventId, updatedAt }) =>
    db
      .prepare(
        `INSERT INTO workflows (id, workflow, status, version, start_event_id, started_at, deadline_at,
             approval_deadline_at, completed_at, outcome, outcome_event_id, verdict, results, late, updated_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
           ON CONFLICT (id, workflow) DO UPDATE SET
             status = excluded.status, version = excluded.version, approval_deadline_at = excluded.approval_deadline_at,
             completed_at = excluded.completed_at, outcome = excluded.outcome, outcome_event_id = excluded.outcome_event_id,
             verdict = excluded.verdict, results = excluded.results, late = excluded.late, updated_at = excluded.updated_at
           WHERE excluded.version > workflows.version`,
      )
      .bind(
        s.id,
        s.workflow,
        s.status,
        s.version,
        s.start.id,
        s.startedAt,
        s.deadlineAt,
        s.approvalDeadlineAt ?? null,
        s.completedAt ?? null,
        s.outcome ?? null,
        outcomeEventId ?? null,
        s.verdict ? JSON.stringify(s.verdict) : null,
        JSON.stringify(s.results.map((r) => r.id)),
        JSON.stringify(s.late),
        updatedAt,
      ),
  );
  return { statements, read: () => undefined };
}

const jsonText = z.string().transform((s) => JSON.parse(s) as unknown);
const WorkflowRow = z.object({
  id: z.string(),
  workflow: z.string(),
  status: z.string(),
  version: z.number(),
  start_event_id: z.string(),
  started_at: z.number(),
  deadline_at: z.number(),
  approval_deadline_at: z.number().nullable(),
  completed_at: z.number().nullable(),
  outcome: z.string().nullable(),
  outcome_event_id: z.string().nullable(),
  verdict: jsonText.nullable(),
  results: jsonText.pipe(z.array(z.string())),
  late: jsonText.pipe(z.array(z.string())),
  updated_at: z.number(),
});

const toWorkflow = (row: unknown) => {
  const r = WorkflowRow.parse(row);
  return {
    id: r.id,
    workflow: r.workflow,
    status: r.status,
    version: r.version,
    startEventId: r.start_event_id,
    startedAt: r.started_at,
    startedAtIso: iso(r.started_at),
    deadlineAt: r.deadline_at,
    deadlineAtIso: iso(r.deadline_at),
    approvalDeadlineAt: r.approval_deadline_at,
    approvalDeadlineAtIso: iso(r.approval_deadline_at),
    completedAt: r.completed_at,
    completedAtIso: iso(r.completed_at),
    durationMs: r.completed_at === null ? null : r.completed_at - r.started_at,
    outcome: r.outcome,
    outcomeEventId: r.outcome_event_id,
    verdict: r.verdict,
    results: r.results,
    late: r.late,
    updatedAt: r.updated_at,
  };
};
export type WorkflowSummary = ReturnType<typeof toWorkflow>;

/** Parses workflows rows (the archive holds them as D1 did). */
export const parseWorkflows = (rows: readonly unknown[]): WorkflowSummary[] => rows.map(toWorkflow);

/** Where a page ends: (started_at, id, workflow) is unique, so instances started in the same ms are not skipped. */
export interface WorkflowCursor {
  startedAt: number;
  id: string;
  workflow: string;
}

export async function listWorkflows(
  db: D1Database,
  q: { status?: string | undefined; workflow?: string | undefined; before?: WorkflowCursor | undefined; limit: number },
): Promise<WorkflowSummary[]> {
  const c = q.before;
  const w = where([
    ["status = ?", q.status],
    ["workflow = ?", q.workflow],
    ["(started_at, id, workflow) < (?, ?, ?)", c && [c.startedAt, c.id, c.workflow]],
  ]);
  const { results } = await db
    .prepare(`SELECT * FROM workflows ${w.sql} ORDER BY started_at DESC, id DESC, workflow DESC LIMIT ?`)
    .bind(...w.params, q.limit)
    .all();
  return results.map(toWorkflow);
}

/** A workflow's instances plus every event of its correlation id and the agent runs on them. */
export async function getWorkflow(db: D1Database, id: string) {
  const [instances, events, runs, calls, steps, violations] = await db.batch([
    db.prepare("SELECT * FROM workflows WHERE id = ? ORDER BY started_at").bind(id),
    db
      .prepare("SELECT seq, envelope, received_at, logged_at FROM events WHERE correlation_id = ? ORDER BY seq")
      .bind(id),
    db
      .prepare(
        `SELECT ${RUN_COLUMNS.map((c) => `r.${c}`).join(", ")}
           FROM agent_runs r JOIN events e ON e.source = r.event_source AND e.id = r.event_id
          WHERE e.correlation_id = ? ORDER BY r.started_at`,
      )
      .bind(id),
    db.prepare(MODEL_CALLS_OF_CORRELATION).bind(id),
    db.prepare(STEPS_OF_CORRELATION).bind(id),
    db
      .prepare(
        `SELECT v.event_source, v.event_id, v.agent, v.kind, v.detail, v.recorded_at
           FROM policy_violations v JOIN events e ON e.source = v.event_source AND e.id = v.event_id
          WHERE e.correlation_id = ? AND v.agent <> '' ORDER BY v.seq`,
      )
      .bind(id),
  ]);
  return {
    instances: (instances?.results ?? []).map(toWorkflow),
    events: (events?.results ?? []).map(toLoggedEvent),
    runs: withCalls(
      parseRuns(runs?.results ?? []),
      calls?.results,
      parseRunViolations(violations?.results),
      steps?.results,
    ),
  };
}
