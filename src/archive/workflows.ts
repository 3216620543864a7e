// The archive's workflow batches: finished instances past the hot window, one object per hour of
// their start, then one D1 commit that indexes them by correlation and deletes the rows.
import {
  commitWorkflows,
  finishedWorkflows,
  WORKFLOW_COMMIT_STATEMENTS,
  type WorkflowRow,
} from "../db/archive-workflows";
import type { ObjectEntry } from "../db/archive";
import { MAX_HOURS_PER_BATCH, dropObjects } from "./events";
import { batchId, FORMAT_VERSION, hourOf, objectKey, type WorkflowLine } from "./format";
import type { Run } from "./run";
import { putLines } from "./store";

/** Finished workflows past the hot window, one object per hour of their start. */
export async function archiveWorkflows(run: Run, max: number) {
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
  run.statements += WORKFLOW_COMMIT_STATEMENTS;
  const { archived, dropped } = await commitWorkflows(
    run.env.DB,
    written.map((w) => w.entry),
    written.map((w) => ({ key: w.entry.key, members: w.members })),
    run.now,
  );
  await dropObjects(run, dropped);
  const kept = written.filter((w) => !dropped.includes(w.entry.key));
  const bytes = kept.reduce((sum, w) => sum + w.entry.bytes, 0);
  return { selected: rows.length, archived, objects: kept.length, bytes };
}

/** Read, then the commit. */
export const WORKFLOW_BATCH_STATEMENTS = 1 + WORKFLOW_COMMIT_STATEMENTS;
