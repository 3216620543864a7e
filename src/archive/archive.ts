// The archive run (cron after the sweep, or POST /v1/archive): rows written for archived events since
// they left D1, then events past the hot window whose work is over, with every row keyed by them, then
// finished workflows, move to R2. Each batch writes
// its objects first and then, in one D1 transaction, indexes them and deletes the rows: a crash
// between the two leaves the rows in D1 and an object nothing lists (a duplicate, never a loss).
// Work per run is bounded: events (ARCHIVE_LIMIT), D1 statements and R2 puts.
import { z } from "zod";
import { settings } from "../config";
import { archiveCursors, CURSORS, moveCursor } from "../db/archive";
import { log, logError } from "../log";
import { archiveEvents, archiveReopened, EVENT_BATCH_STATEMENTS, MAX_HOURS_PER_BATCH } from "./events";
import { add, type Run, tally, type Tally } from "./run";
import { archiveWorkflows, WORKFLOW_BATCH_STATEMENTS } from "./workflows";

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
/** Archived events with rows written since, moved per batch. */
const REOPENED_ROWS = 200;
/** What one run may use: D1 statements (the cron's invocation shares its 1,000 with the sweep) and R2 puts. */
export const STATEMENT_BUDGET = 500;
export const PUT_BUDGET = 200;

export interface ArchiveReport {
  startedAt: number;
  durationMs: number;
  /** Events received before this (ms since epoch) were old enough. */
  cutoff: number;
  events: Tally;
  workflows: Omit<Tally, "examined" | "leftBehind">;
  /** Archived events whose rows written since (a replay's, a replayed dead letter's) moved too. */
  reopened: Omit<Tally, "examined" | "leftBehind">;
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
  const run: Run = { env, cutoff, now: startedAt, statements: 1, puts: 0 };
  const events = tally();
  const cursors = await archiveCursors(env.DB);
  const fits = (statements: number) =>
    run.statements + statements <= STATEMENT_BUDGET && run.puts + MAX_HOURS_PER_BATCH <= PUT_BUDGET;

  // Rows written for archived events since they left D1 (few): before the log's backlog takes the budget.
  const late = await reopened(run, fits);

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
    reopened: late.total.archived,
    objects: events.objects + workflows.objects + late.total.objects,
    bytes: events.bytes + workflows.bytes + late.total.bytes,
    statements: run.statements,
    more,
  });
  if (late.error !== undefined) throw late.error;
  return {
    startedAt,
    durationMs,
    cutoff,
    events,
    workflows,
    reopened: late.total,
    statements: run.statements,
    puts: run.puts,
    more,
  };
}

async function cursorTo(run: Run, name: string, seq: number) {
  run.statements++;
  await moveCursor(run.env.DB, name, seq);
}

/**
 * Archived events with rows written since, batch after batch while some move. A failure here (an
 * object the index lists that R2 lacks) is logged and thrown after the rest of the run: it must not
 * hold back the log's archiving, nor go unnoticed.
 */
async function reopened(run: Run, fits: (statements: number) => boolean) {
  const total = { archived: 0, objects: 0, bytes: 0 };
  try {
    while (fits(EVENT_BATCH_STATEMENTS)) {
      const batch = await archiveReopened(run, REOPENED_ROWS);
      total.archived += batch.archived;
      total.objects += batch.objects;
      total.bytes += batch.bytes;
      if (batch.archived === 0 || batch.selected < REOPENED_ROWS) break;
    }
    return { total, error: undefined };
  } catch (error) {
    logError("archive", { status: "reopened_failed" }, error);
    return { total, error: error instanceof Error ? error : new Error(String(error)) };
  }
}
