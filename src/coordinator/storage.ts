// The coordinator's storage outlives deploys (a workflow waits up to 15 minutes for a person), so it
// has a schema, a version, and migrations forward; every state read is parsed with zod.
//   v1: the first release (observed.event_id held the event id alone).
//   v2: identity is (source, id): observed.event_id holds "source id"; a meta table keeps the version.
import { z } from "zod";
import type { InstanceState } from "./state";

export const STORAGE_VERSION = 2;

const ResultSchema = z.object({
  id: z.string(),
  type: z.string(),
  source: z.string(),
  data: z.unknown(),
  hopcount: z.number().int().nonnegative(),
  traceparent: z.string().optional(),
  budgetLimited: z.boolean().optional(),
});

const VerdictSchema = z.object({
  decision: z.enum(["approve", "reject"]),
  reasons: z.array(z.string()),
  by: z.enum(["votes", "veto", "priority", "human", "approval_timeout", "deadline"]),
  conflict: z.boolean(),
  approver: z.object({ by: z.string(), reason: z.string() }).optional(),
});

/** A workflow instance as stored; fields added after v1 have defaults, so older rows still parse. */
export const InstanceStateSchema = z.object({
  workflow: z.string(),
  id: z.string(),
  status: z.enum(["running", "awaiting_approval", "completed", "rejected", "timed_out"]),
  version: z.number().int().nonnegative(),
  start: ResultSchema,
  results: z.array(ResultSchema),
  late: z.array(z.string()).default([]),
  startedAt: z.number(),
  deadlineAt: z.number(),
  approvalDeadlineAt: z.number().optional(),
  completedAt: z.number().optional(),
  verdict: VerdictSchema.optional(),
  outcome: z.string().optional(),
  round: z.number().int().positive().optional(),
}) satisfies z.ZodType<InstanceState, unknown>;

export const parseState = (json: string): InstanceState => InstanceStateSchema.parse(JSON.parse(json));

/** An outbox entry for the D1 audit copy of an instance. */
export const OutboxRecord = z.object({
  state: InstanceStateSchema,
  outcomeEventId: z.string().optional(),
  updatedAt: z.number(),
});

/**
 * The current schema's tables. Text-keyed tables are WITHOUT ROWID (their key is the table, no second
 * b-tree); `observed` and `outbox` keep AUTOINCREMENT, so a seq is never reused (a flush deletes up to
 * the last seq it read, and must not take a row written meanwhile).
 */
const TABLES = [
  `observed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
    envelope TEXT NOT NULL, observed_at INTEGER NOT NULL)`,
  "instances (workflow TEXT PRIMARY KEY, state TEXT NOT NULL) WITHOUT ROWID",
  "outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, body TEXT NOT NULL)",
  "published (event_id TEXT PRIMARY KEY, envelope TEXT NOT NULL) WITHOUT ROWID",
  "meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
];
const createTables = (ifNotExists: boolean) =>
  TABLES.map((t) => `CREATE TABLE ${ifNotExists ? "IF NOT EXISTS " : ""}${t};`).join("\n");
/** What a new object runs: the schema and its version, in one call. */
const NEW_SCHEMA = `${createTables(false)}
  INSERT INTO meta (key, value) VALUES ('schema_version', '${STORAGE_VERSION}');`;

/**
 * Creates the tables of a new object, or migrates an older one forward, in one transaction.
 * Idempotent. Runs in every constructor: a new object (one per workflow) creates its schema in one
 * call, a current one reads its version and stops.
 */
export function prepareStorage(storage: DurableObjectStorage): void {
  storage.transactionSync(() => {
    const sql = storage.sql;
    const tables = new Set(
      sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .toArray()
        .map((r) => r.name),
    );
    if (!tables.has("observed")) {
      sql.exec(NEW_SCHEMA);
      return;
    }
    const version = tables.has("meta")
      ? Number(
          sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").toArray()[0]?.value ?? 1,
        )
      : 1;
    if (version === STORAGE_VERSION) return;
    sql.exec(createTables(true)); // an older object may lack the tables added since
    if (version < 2) {
      // v1 → v2: observed rows keyed by the id alone are re-keyed "source id", so a result delivered
      // again after the upgrade is still recognised as one already counted.
      sql.exec(
        `UPDATE observed SET event_id = json_extract(envelope, '$.source') || ' ' || json_extract(envelope, '$.id')
          WHERE event_id = json_extract(envelope, '$.id')`,
      );
      // Every stored state must parse under the current schema (defaults fill what v1 lacked).
      for (const r of sql.exec<{ workflow: string; state: string }>("SELECT workflow, state FROM instances")) {
        sql.exec("UPDATE instances SET state = ? WHERE workflow = ?", JSON.stringify(parseState(r.state)), r.workflow);
      }
    }
    sql.exec(
      "INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      String(STORAGE_VERSION),
    );
  });
}
