// A coordinator's outbox, flushed: the workflow rows and the events its workflows published go to D1
// in one batch and are routed from there. Written in the coordinator's transactions, emptied here.
import { type EventMessage, EnvelopeSchema } from "../bus/envelope";
import { logEntry, logRoutes, routeLogged } from "../bus/dispatch";
import { sendAll } from "../bus/publish";
import { settings } from "../config";
import { runPlans } from "../db/batch";
import { logPlan } from "../db/events";
import { type WorkflowRecord, workflowsPlan } from "../db/workflows";
import type { Registry } from "../registry";
import { OutboxRecord } from "./storage";

/**
 * How long a running workflow's D1 row may wait for the next change: a workflow that decides sooner
 * writes one row (its outcome, with the outcome event), not one per step. Readers see a running
 * workflow this much later; an outcome, an approval request and every event are written at once.
 */
export const RUNNING_ROW_DELAY_MS = 1_000;

/**
 * Writes the workflow rows and logs the events the workflows published, in one D1 batch, then routes
 * those events from here (tasks for their agents); an event a workflow listens to goes through the
 * events queue instead, so that no coordinator calls itself. Runs again (from the alarm) until all of
 * it succeeds: logging is idempotent, and the events are routed again. An outbox holding only running
 * rows waits until the oldest is RUNNING_ROW_DELAY_MS old (unless forced): returns when it is due.
 */
export async function flushOutbox(
  env: Env,
  registry: Registry,
  sql: SqlStorage,
  force: boolean,
): Promise<number | undefined> {
  const rows = sql
    .exec<{ seq: number; kind: string; body: string }>("SELECT seq, kind, body FROM outbox ORDER BY seq")
    .toArray();
  if (rows.length === 0) return undefined;
  const started = Date.now();
  // Only the newest record of each instance matters; D1 ignores older versions anyway.
  const records = new Map<string, WorkflowRecord>();
  let oldest = Infinity;
  let deferrable = true;
  for (const r of rows) {
    if (r.kind !== "record") {
      deferrable = false;
      continue;
    }
    const record = OutboxRecord.parse(JSON.parse(r.body));
    records.set(record.state.workflow, record);
    oldest = Math.min(oldest, record.updatedAt);
    if (record.state.status !== "running") deferrable = false;
  }
  const due = oldest + RUNNING_ROW_DELAY_MS;
  if (deferrable && !force && due > started) return due;

  const config = settings(env, "runs");
  const limits = { maxHops: config.MAX_HOPS, maxEventsPerCorrelation: config.MAX_EVENTS_PER_CORRELATION };
  const entries = rows
    .filter((r) => r.kind === "event")
    .map((r) => logEntry(registry, EnvelopeSchema.parse(JSON.parse(r.body)), started, true));
  const [logged] = await runPlans(env.DB, [
    logPlan(env.DB, entries, started, limits),
    workflowsPlan(env.DB, [...records.values()]),
  ]);
  const heard = entries.filter((e) => registry.coordinates(e.event.type));
  const direct = entries.flatMap((e, i) => (registry.coordinates(e.event.type) ? [] : [[e, logged[i]!] as const]));
  const [routed] = await Promise.all([
    routeLogged(
      env,
      registry,
      direct.map(([e]) => e),
      direct.map(([, l]) => l),
    ),
    sendAll(
      env.EVENTS_QUEUE,
      heard.map((e): EventMessage => ({ kind: "event", event: e.event, receivedAt: started, reroute: true })),
    ),
  ]);
  if (!routed) throw new Error("the workflow's events are logged but could not be routed");
  // The workflow's line names each event it published (id and type).
  logRoutes(registry, entries, logged, Date.now() - started, true);
  const last = rows.at(-1)?.seq ?? 0;
  sql.exec("DELETE FROM outbox WHERE seq <= ?", last);
  return undefined;
}
