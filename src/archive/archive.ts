// The archive run (cron after the sweep, or POST /v1/archive): events past the hot window whose
// work is over move to R2 with every row keyed by them, then finished workflows. Each batch writes
// its objects first and then, in one D1 transaction, indexes them and deletes the rows: a crash
// between the two leaves the rows in D1 and an object nothing lists (a duplicate, never a loss).
// Work per run is bounded: events (ARCHIVE_LIMIT), D1 statements and R2 puts.
import { z } from "zod";
import { eventKey } from "../bus/envelope";
import { settings } from "../config";
import {
  archiveCursors,
  type Candidate,
  candidateWindow,
  type CandidateWindow,
  commitEvents,
  commitWorkflows,
  CURSORS,
  EVENT_TABLES,
  type EventRow,
  type EventTable,
  finishedWorkflows,
  moveCursor,
  type ObjectEntry,
  rowsOf,
  type WorkflowRow,
} from "../db/archive";
import { log } from "../log";
import { batchId, type EventLine, FORMAT_VERSION, hourOf, objectKey, type WorkflowLine } from "./format";
import { putLines } from "./store";

export const ArchiveOptions = z.object({
  /** At most this many events (and as many workflows) this run; default ARCHIVE_LIMIT. */
  limit: z.number().int().min(1).max(50_000).optional(),
});
export type ArchiveOptions = z.infer<typeof ArchiveOptions>;

/** Log rows examined per batch, and the envelope bytes a batch may hold (its memory, its object sizes). */
const WINDOW_ROWS = 1000;
const WINDOW_BYTES = 4_000_000;
/** Events re-examined per run among those left behind because their work was not over yet. */
const RECHECK_ROWS = 200;
/** A sparse log spreads a batch over many hours: each hour is one object, one R2 put. */
const MAX_HOURS_PER_BATCH = 24;
/** What one run may use: D1 statements (the cron's invocation shares its 1,000 with the sweep) and R2 puts. */
export const STATEMENT_BUDGET = 500;
export const PUT_BUDGET = 200;
/** Statements per batch: read the window, the rows of each table, then the commit (manifest, index, correlations, count, a delete per table, the events, the cursor). */
const EVENT_BATCH_STATEMENTS = 1 + EVENT_TABLES.length + 4 + EVENT_TABLES.length + 2;
/** Read, then the commit (manifest, correlations, delete). */
const WORKFLOW_BATCH_STATEMENTS = 1 + 3;

interface Tally {
  examined: number;
  archived: number;
  leftBehind: number;
  objects: number;
  bytes: number;
}
const tally = (): Tally => ({ examined: 0, archived: 0, leftBehind: 0, objects: 0, bytes: 0 });

export interface ArchiveReport {
  startedAt: number;
  durationMs: number;
  /** Events received before this (ms since epoch) were old enough. */
  cutoff: number;
  events: Tally;
  workflows: Omit<Tally, "examined" | "leftBehind">;
  statements: number;
  puts: number;
  /** A budget or the limit ended the run: more may be ready now. */
  more: boolean;
}

export async function archive(env: Env, options: ArchiveOptions = {}): Promise<ArchiveReport> {
  const config = settings(env, "archive");
  const startedAt = Date.now();
  const cutoff = startedAt - config.ARCHIVE_AFTER_HOURS * 3_600_000;
  const limit = options.limit ?? config.ARCHIVE_LIMIT;
  const run = { env, cutoff, now: startedAt, statements: 1, puts: 0 };
  const events = tally();
  const cursors = await archiveCursors(env.DB);
  const fits = (statements: number) =>
    run.statements + statements <= STATEMENT_BUDGET && run.puts + MAX_HOURS_PER_BATCH <= PUT_BUDGET;

  // Events left behind by earlier runs (a run, a delivery or a workflow still open then), a few per run;
  // the re-check cursor starts over once it has gone through them all.
  if (fits(EVENT_BATCH_STATEMENTS)) {
    const window = { after: cursors.recheck, upTo: cursors.forward, rows: RECHECK_ROWS, bytes: WINDOW_BYTES, cutoff };
    const batch = await archiveEvents(run, window, CURSORS.recheck, limit, false);
    add(events, batch);
    if (batch.end === cursors.recheck && cursors.recheck !== 0) await cursorTo(run, CURSORS.recheck, 0);
  }
  // Then onwards from where the last run stopped, up to the hot window and what the sweep has seen.
  let after = cursors.forward;
  let more = false;
  for (;;) {
    if (events.archived >= limit || !fits(EVENT_BATCH_STATEMENTS)) {
      more = true;
      break;
    }
    const window = { after, upTo: cursors.swept, rows: WINDOW_ROWS, bytes: WINDOW_BYTES, cutoff };
    const batch = await archiveEvents(run, window, CURSORS.forward, limit - events.archived, true);
    add(events, batch);
    if (batch.end === after || batch.reachedHot) break;
    after = batch.end;
  }

  const workflows = { archived: 0, objects: 0, bytes: 0 };
  for (;;) {
    if (workflows.archived >= limit || !fits(WORKFLOW_BATCH_STATEMENTS)) {
      more = true;
      break;
    }
    const batch = await archiveWorkflows(run, Math.min(WINDOW_ROWS, limit - workflows.archived));
    workflows.archived += batch.archived;
    workflows.objects += batch.objects;
    workflows.bytes += batch.bytes;
    if (batch.archived === 0 || batch.selected < WINDOW_ROWS) break;
  }

  const durationMs = Date.now() - startedAt;
  log("archive", {
    status: "done",
    durationMs,
    cutoff,
    events: events.archived,
    examined: events.examined,
    leftBehind: events.leftBehind,
    workflows: workflows.archived,
    objects: events.objects + workflows.objects,
    bytes: events.bytes + workflows.bytes,
    statements: run.statements,
    more,
  });
  return { startedAt, durationMs, cutoff, events, workflows, statements: run.statements, puts: run.puts, more };
}

interface Run {
  env: Env;
  cutoff: number;
  now: number;
  statements: number;
  puts: number;
}

const add = (total: Tally, batch: Tally) => {
  for (const k of Object.keys(total) as (keyof Tally)[]) total[k] += batch[k];
};

async function cursorTo(run: Run, name: string, seq: number) {
  run.statements++;
  await moveCursor(run.env.DB, name, seq);
}

/**
 * One batch: a window of the log, its ready events (up to `max`, in at most MAX_HOURS_PER_BATCH hours)
 * with their rows, one object per hour, then the commit, which also moves `cursor` to the window's end.
 */
async function archiveEvents(run: Run, w: CandidateWindow, cursor: string, max: number, stopAtHot: boolean) {
  const result = { ...tally(), end: w.after, reachedHot: false };
  run.statements++;
  let rows = await candidateWindow(run.env.DB, w);
  const hot = stopAtHot ? rows.findIndex((r) => r.received_at >= w.cutoff) : -1;
  if (hot >= 0) {
    rows = rows.slice(0, hot);
    result.reachedHot = true;
  }
  const ready: (Candidate & { envelope: NonNullable<Candidate["envelope"]>; version: string })[] = [];
  const hours = new Set<number>();
  for (const [i, row] of rows.entries()) {
    if (!row.ready || row.envelope === null || row.version === null) continue;
    const hour = hourOf(row.received_at);
    if (ready.length >= max || (!hours.has(hour) && hours.size >= MAX_HOURS_PER_BATCH)) {
      rows = rows.slice(0, i);
      result.reachedHot = false;
      break;
    }
    hours.add(hour);
    ready.push({ ...row, envelope: row.envelope, version: row.version });
  }
  result.examined = rows.length;
  result.leftBehind = rows.length - ready.length;
  result.end = rows.at(-1)?.seq ?? w.after;
  if (ready.length === 0) {
    if (result.end !== w.after) await cursorTo(run, cursor, result.end);
    return result;
  }

  run.statements += EVENT_TABLES.length;
  const rowsByTable = await rowsOf(
    run.env.DB,
    ready.map((r) => r.seq),
  );
  const byEvent = groupRows(rowsByTable);
  const byHour = Map.groupBy(ready, (r) => hourOf(r.received_at));
  const written = await Promise.all(
    [...byHour].map(async ([hour, group]) => {
      const seqs = group.map((r) => r.seq);
      const first = Math.min(...seqs);
      const last = Math.max(...seqs);
      const key = objectKey("events", hour, batchId(`s${first}-${last}`));
      const lines = group.map((r): EventLine => {
        const of = (table: EventTable) => byEvent.get(`${table} ${eventKey(r)}`) ?? [];
        return {
          v: FORMAT_VERSION,
          seq: r.seq,
          receivedAt: r.received_at,
          loggedAt: r.logged_at,
          event: r.envelope,
          deliveries: of("deliveries"),
          runs: of("agent_runs"),
          modelCalls: of("model_calls"),
          violations: of("policy_violations"),
          parked: of("parked_events"),
          archivedAt: run.now,
        };
      });
      const bytes = await putLines(run.env.ARCHIVE, key, lines);
      const logged = group.map((r) => r.logged_at);
      const entry: ObjectEntry = {
        key,
        hour,
        lines: lines.length,
        bytes,
        firstSeq: first,
        lastSeq: last,
        minLoggedAt: Math.min(...logged),
        maxLoggedAt: Math.max(...logged),
        types: [...new Set(group.map((r) => r.type))].sort(),
      };
      return { entry, members: group.map((r) => [r.seq, r.version] as const) };
    }),
  );
  run.puts += written.length;
  run.statements += EVENT_BATCH_STATEMENTS - 1 - EVENT_TABLES.length;
  const archived = await commitEvents(
    run.env.DB,
    written.map((w) => w.entry),
    written.map((w) => ({ key: w.entry.key, members: w.members })),
    { name: cursor, seq: result.end },
    w.cutoff,
    run.now,
  );
  result.archived = archived;
  result.leftBehind += ready.length - archived;
  result.objects = written.length;
  result.bytes = written.reduce((sum, w) => sum + w.entry.bytes, 0);
  return result;
}

/** Rows by `table source id`. */
function groupRows(rows: Record<EventTable, EventRow[]>) {
  const byEvent = new Map<string, EventRow[]>();
  for (const table of EVENT_TABLES) {
    for (const row of rows[table]) {
      const key = `${table} ${eventKey({ source: row.event_source, id: row.event_id })}`;
      const list = byEvent.get(key) ?? [];
      list.push(row);
      byEvent.set(key, list);
    }
  }
  return byEvent;
}

/** Finished workflows past the hot window, one object per hour of their start. */
async function archiveWorkflows(run: Run, max: number) {
  run.statements++;
  const rows = await finishedWorkflows(run.env.DB, run.cutoff, max);
  if (rows.length === 0) return { selected: 0, archived: 0, objects: 0, bytes: 0 };
  // Oldest first, at most MAX_HOURS_PER_BATCH objects (puts) per batch: the rest wait for the next.
  const byHour = [...Map.groupBy(rows, (r: WorkflowRow) => hourOf(r.started_at))].slice(0, MAX_HOURS_PER_BATCH);
  const written = await Promise.all(
    byHour.map(async ([hour, group]) => {
      const key = objectKey("workflows", hour, batchId(`w${run.now.toString(36)}`));
      const lines = group.map((workflow): WorkflowLine => ({ v: FORMAT_VERSION, workflow, archivedAt: run.now }));
      const bytes = await putLines(run.env.ARCHIVE, key, lines);
      const entry: ObjectEntry = { key, hour, lines: lines.length, bytes };
      return { entry, members: group.map((r) => [r.id, r.workflow, r.version] as const) };
    }),
  );
  run.puts += written.length;
  run.statements += WORKFLOW_BATCH_STATEMENTS - 1;
  const archived = await commitWorkflows(
    run.env.DB,
    written.map((w) => w.entry),
    written.map((w) => ({ key: w.entry.key, members: w.members })),
    run.now,
  );
  const bytes = written.reduce((sum, w) => sum + w.entry.bytes, 0);
  return { selected: rows.length, archived, objects: written.length, bytes };
}
