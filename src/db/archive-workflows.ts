// The archive's writes for workflows: finished instances past the hot window, and the commit that
// indexes their R2 objects by correlation and deletes the rows in one transaction, unless a newer
// version was recorded since they were read.
import { z } from "zod";
import { dropUnindexed, droppedKeys, insertObjects, type ObjectEntry } from "./archive";

const WorkflowRow = z.looseObject({
  id: z.string(),
  workflow: z.string(),
  version: z.number(),
  started_at: z.number(),
});
export type WorkflowRow = z.infer<typeof WorkflowRow>;

/** Finished workflows (completed, rejected, timed out) whose last change is past the hot window. */
export async function finishedWorkflows(db: D1Database, cutoff: number, limit: number): Promise<WorkflowRow[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM workflows
        WHERE status IN ('completed', 'rejected', 'timed_out') AND started_at < ?1
          AND completed_at < ?1 AND updated_at < ?1
        ORDER BY started_at
        LIMIT ?2`,
    )
    .bind(cutoff, limit)
    .all();
  return z.array(WorkflowRow).parse(results);
}

export interface WorkflowMembers {
  key: string;
  members: readonly (readonly [id: string, workflow: string, version: number])[];
}

/** Statements a commit of workflows sends (the manifest, correlations, count, drop, delete). */
export const WORKFLOW_COMMIT_STATEMENTS = 5;

/**
 * Records workflow objects and deletes the rows still at the version written; an object none of
 * whose rows were still at it leaves the manifest (its key is answered, to delete from R2).
 */
export async function commitWorkflows(
  db: D1Database,
  objects: readonly ObjectEntry[],
  members: readonly WorkflowMembers[],
  now: number,
): Promise<{ archived: number; dropped: string[] }> {
  const param = JSON.stringify(members.map((m) => [m.key, m.members]));
  const rows = `w AS (SELECT g.value ->> '$[0]' AS key, x.value ->> '$[0]' AS id, x.value ->> '$[1]' AS workflow,
                             x.value ->> '$[2]' AS version
                        FROM json_each(?1) g, json_each(g.value, '$[1]') x),
                current AS (SELECT w.* FROM w WHERE EXISTS (
                  SELECT 1 FROM workflows f WHERE f.id = w.id AND f.workflow = w.workflow AND f.version = w.version))`;
  const [, , , dropped, deleted] = await db.batch([
    insertObjects(db, "workflows", objects, now),
    db
      .prepare(
        `WITH ${rows}
         INSERT INTO archived_correlations (correlation_id, object)
         SELECT DISTINCT c.id, o.seq FROM current c JOIN archive_objects o ON o.key = c.key WHERE true
         ON CONFLICT DO NOTHING`,
      )
      .bind(param),
    db
      .prepare(
        `WITH ${rows}
         UPDATE archive_objects SET indexed = (SELECT COUNT(*) FROM current c WHERE c.key = archive_objects.key)
          WHERE key IN (SELECT key FROM w)`,
      )
      .bind(param),
    dropUnindexed(
      db,
      objects.map((o) => o.key),
    ),
    db
      .prepare(
        `WITH ${rows} DELETE FROM workflows WHERE (id, workflow, version) IN (SELECT id, workflow, version FROM w)`,
      )
      .bind(param),
  ]);
  return { archived: deleted?.meta.changes ?? 0, dropped: droppedKeys(dropped) };
}
