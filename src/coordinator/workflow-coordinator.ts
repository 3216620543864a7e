// WorkflowCoordinator: one Durable Object per correlation id, the single owner of its workflows'
// state. Every change is written to SQLite storage together with its outbox (events to publish, D1
// records to write) in one transaction; the outbox is then flushed, and an alarm retries what failed.
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { validateData } from "../bus/catalog";
import { type Envelope, EnvelopeSchema, type EventMessage } from "../bus/envelope";
import { sendAll } from "../bus/publish";
import { recordWorkflows, type WorkflowRecord } from "../db/workflows";
import { log, logError } from "../log";
import type { Registry } from "../registry";
import type { Workflow } from "./define";
import {
  type Emit,
  type InstanceState,
  type Result,
  type Transition,
  addResult,
  approval,
  onAlarm,
  start,
  wakeAt,
} from "./transitions";

const ObserveInput = z.array(EnvelopeSchema).max(1000);
export const ApprovalInput = z.object({
  workflow: z.string().optional(),
  decision: z.enum(["granted", "denied"]),
  by: z.string().min(1).max(200),
  reason: z.string().max(2000).default(""),
});
export type ApprovalAnswer =
  | { ok: true; workflow: string; status: string; outcome?: string }
  | { ok: false; code: "not_found" | "not_waiting"; message: string; status?: string };

/** How soon a failed outbox flush is retried. */
const FLUSH_RETRY_MS = 5_000;

/** A stable, synchronous 128-bit id (FNV-1a, two seeds) for events the coordinator publishes. */
export function workflowEventId(workflow: string, id: string, key: string): string {
  const text = `${workflow}\u0000${id}\u0000${key}`;
  const hash = (seed: bigint) => {
    let h = seed;
    for (let i = 0; i < text.length; i++) {
      h ^= BigInt(text.charCodeAt(i));
      h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
    }
    return h.toString(16).padStart(16, "0");
  };
  return `wf_${hash(0xcbf29ce484222325n)}${hash(0x84222325cbf29ce4n)}`;
}

const toResult = (e: Envelope): Result => ({
  id: e.id,
  type: e.type,
  source: e.source,
  data: e.data,
  hopcount: e.hopcount,
  ...(e.budgetlimited === true ? { budgetLimited: true } : {}),
});

export function coordinatorClass(registry: Registry) {
  return class WorkflowCoordinator extends DurableObject<Env> {
    private readonly sql: SqlStorage;

    constructor(ctx: DurableObjectState, env: Env) {
      super(ctx, env);
      this.sql = ctx.storage.sql;
      this.sql.exec(`
        CREATE TABLE IF NOT EXISTS observed (
          seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
          envelope TEXT NOT NULL, observed_at INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS instances (workflow TEXT PRIMARY KEY, state TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, body TEXT NOT NULL);`);
    }

    /** Records each event once (by id) and applies it to the workflows it starts or feeds. */
    async observe(events: Envelope[]): Promise<number> {
      const input = ObserveInput.parse(events);
      const now = Date.now();
      let added = 0;
      this.ctx.storage.transactionSync(() => {
        for (const event of input) {
          const inserted = this.sql.exec(
            "INSERT INTO observed (event_id, type, envelope, observed_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            event.id,
            event.type,
            JSON.stringify(event),
            now,
          ).rowsWritten;
          if (inserted === 0) continue; // a duplicate: already counted
          added++;
          for (const w of registry.workflows) this.applyEvent(w, event, now);
        }
      });
      await this.settle();
      return added;
    }

    /** A human's answer to a workflow waiting for approval. */
    async answer(raw: z.input<typeof ApprovalInput>): Promise<ApprovalAnswer> {
      const { workflow, decision, by, reason } = ApprovalInput.parse(raw);
      const candidates = this.instances().filter((s) => !workflow || s.workflow === workflow);
      const target = candidates.find((s) => s.status === "awaiting_approval") ?? candidates[0];
      const w = target && registry.workflow(target.workflow);
      if (!target || !w) return { ok: false, code: "not_found", message: "no such workflow" };
      const result = approval(w, target, { decision, by, reason }, Date.now());
      if (!result.ok) {
        return {
          ok: false,
          code: "not_waiting",
          message: `workflow is ${result.status}, not awaiting approval`,
          status: result.status,
        };
      }
      this.ctx.storage.transactionSync(() => this.apply(w, result.transition, Date.now()));
      await this.settle();
      return {
        ok: true,
        workflow: w.name,
        status: result.transition.state.status,
        outcome: result.transition.state.outcome,
      };
    }

    /** Deadlines and outbox retries. Idempotent: alarms fire at least once. */
    override async alarm(): Promise<void> {
      const now = Date.now();
      this.ctx.storage.transactionSync(() => {
        for (const state of this.instances()) {
          const w = registry.workflow(state.workflow);
          if (w) this.apply(w, onAlarm(w, state, now), now);
        }
      });
      await this.settle();
    }

    instances(): InstanceState[] {
      return this.sql
        .exec<{ state: string }>("SELECT state FROM instances ORDER BY workflow")
        .toArray()
        .map((r) => JSON.parse(r.state) as InstanceState);
    }

    observedTypes(): string[] {
      return this.sql
        .exec<{ type: string }>("SELECT type FROM observed ORDER BY seq")
        .toArray()
        .map((r) => r.type);
    }

    private instance(workflow: string): InstanceState | undefined {
      const row = this.sql
        .exec<{ state: string }>("SELECT state FROM instances WHERE workflow = ?", workflow)
        .toArray()[0];
      return row ? (JSON.parse(row.state) as InstanceState) : undefined;
    }

    private applyEvent(w: Workflow, event: Envelope, now: number): void {
      const state = this.instance(w.name);
      if (state) return this.apply(w, addResult(w, state, toResult(event), now), now);
      if (event.type !== w.startsOn) return; // a result before its start: kept in `observed`
      const prior = this.sql
        .exec<{ envelope: string }>("SELECT envelope FROM observed WHERE event_id != ? ORDER BY seq", event.id)
        .toArray()
        .map((r) => toResult(EnvelopeSchema.parse(JSON.parse(r.envelope))));
      this.apply(w, start(w, event.correlationid, toResult(event), prior, now), now);
    }

    /** Stores a transition and queues its effects, inside the caller's transaction. */
    private apply(w: Workflow, t: Transition, now: number): void {
      if (!t.changed) return;
      const s = t.state;
      this.sql.exec(
        "INSERT INTO instances (workflow, state) VALUES (?, ?) ON CONFLICT (workflow) DO UPDATE SET state = excluded.state",
        w.name,
        JSON.stringify(s),
      );
      const ids = new Map<string, string>();
      for (const emit of t.emits) {
        const event = this.envelope(w, s, emit, ids);
        this.sql.exec("INSERT INTO outbox (kind, body) VALUES ('event', ?)", JSON.stringify(event));
      }
      const outcomeKey = s.status === "timed_out" ? "timeout" : "outcome";
      const record: WorkflowRecord = {
        state: s,
        ...(s.outcome ? { outcomeEventId: workflowEventId(w.name, s.id, outcomeKey) } : {}),
        updatedAt: now,
      };
      this.sql.exec("INSERT INTO outbox (kind, body) VALUES ('record', ?)", JSON.stringify(record));
      log("workflow", {
        workflow: w.name,
        correlationid: s.id,
        status: s.status,
        version: s.version,
        emitted: t.emits.map((e) => e.type),
      });
    }

    private envelope(w: Workflow, s: InstanceState, emit: Emit, ids: Map<string, string>): Envelope {
      const valid = validateData(registry.catalog, emit.type, emit.data);
      if (!valid.ok) throw new Error(`workflow "${w.name}" produced an invalid ${emit.type}: ${valid.message}`);
      const id = workflowEventId(w.name, s.id, emit.key);
      ids.set(emit.key, id);
      const causationid =
        "eventId" in emit.cause
          ? emit.cause.eventId
          : (ids.get(emit.cause.emitKey) ?? workflowEventId(w.name, s.id, emit.cause.emitKey));
      return {
        specversion: "1.0",
        id,
        source: `/agentwire/workflows/${w.name}`,
        type: emit.type,
        time: new Date().toISOString(),
        datacontenttype: "application/json",
        data: emit.data,
        correlationid: s.id,
        causationid,
        hopcount: emit.hopcount,
      };
    }

    /** Flushes the outbox, then sets the alarm for the next deadline (or a retry of the flush). */
    private async settle(): Promise<void> {
      let retry = false;
      try {
        await this.flush();
      } catch (error) {
        retry = true;
        logError("workflow.flush_failed", { correlationid: this.instances()[0]?.id ?? null }, error);
      }
      const wakes = this.instances()
        .map(wakeAt)
        .filter((t): t is number => t !== undefined);
      if (retry) wakes.push(Date.now() + FLUSH_RETRY_MS);
      if (wakes.length > 0) await this.ctx.storage.setAlarm(Math.min(...wakes));
      else await this.ctx.storage.deleteAlarm();
    }

    private async flush(): Promise<void> {
      const rows = this.sql
        .exec<{ seq: number; kind: string; body: string }>("SELECT seq, kind, body FROM outbox ORDER BY seq")
        .toArray();
      if (rows.length === 0) return;
      const now = Date.now();
      const messages: EventMessage[] = rows
        .filter((r) => r.kind === "event")
        .map((r) => ({ kind: "event", event: JSON.parse(r.body) as Envelope, receivedAt: now }));
      // Only the newest record of each instance matters; D1 ignores older versions anyway.
      const records = new Map<string, WorkflowRecord>();
      for (const r of rows.filter((x) => x.kind === "record")) {
        const record = JSON.parse(r.body) as WorkflowRecord;
        records.set(record.state.workflow, record);
      }
      await Promise.all([
        sendAll(this.env.EVENTS_QUEUE, messages),
        recordWorkflows(this.env.DB, [...records.values()]),
      ]);
      const last = rows.at(-1)?.seq ?? 0;
      this.sql.exec("DELETE FROM outbox WHERE seq <= ?", last);
    }
  };
}
