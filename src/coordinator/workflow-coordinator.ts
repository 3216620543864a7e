// WorkflowCoordinator: one Durable Object per correlation id, the single owner of its workflows'
// state. Every change is written to SQLite storage together with its outbox (events to publish, D1
// records to write) in one transaction; the outbox is then flushed, and an alarm retries what failed.
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { validateData } from "../bus/catalog";
import { deriveEvent } from "../bus/publish";
import { type Envelope, EnvelopeSchema, type EventMessage, eventKey } from "../bus/envelope";
import { eventIdKey } from "../bus/publish";
import { screenPublishers, workflowSource } from "../bus/catalog";
import { sendAll } from "../bus/publish";
import { recordViolations } from "../db/violations";
import type { WorkflowRecord } from "../db/workflows";
import { HealInput, type HealReport } from "./heal";
import { flushOutbox } from "./outbox";
import { parseState, prepareStorage } from "./storage";
import { traceIdOf } from "../bus/envelope";
import { log, logError, setLogLevel } from "../log";
import type { Registry } from "../registry";
import { listensTo, type Workflow } from "./define";
import { WorkflowEventIds } from "./event-ids";
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

const toResult = (e: Envelope): Result => ({
  id: e.id,
  type: e.type,
  source: e.source,
  data: e.data,
  hopcount: e.hopcount,
  ...(e.traceparent === undefined ? {} : { traceparent: e.traceparent }),
  ...(e.budgetlimited === true ? { budgetLimited: true } : {}),
});

export function coordinatorClass(registry: Registry) {
  // The workflows each event type can start or feed: an event reads no other instance.
  const listeners = new Map<string, Workflow[]>();
  for (const w of registry.workflows) {
    for (const type of new Set(listensTo(w))) listeners.set(type, [...(listeners.get(type) ?? []), w]);
  }
  return class WorkflowCoordinator extends DurableObject<Env> {
    private readonly sql: SqlStorage;
    private readonly ids = new WorkflowEventIds();
    /** Inside `transact`: each changed instance's newest state, written once when the work is done. */
    private changed: Map<string, { w: Workflow; state: InstanceState }> | undefined;

    constructor(ctx: DurableObjectState, env: Env) {
      super(ctx, env);
      setLogLevel(env.LOG_LEVEL);
      this.sql = ctx.storage.sql;
      prepareStorage(ctx.storage);
    }

    /** Records each event once (by source and id) and applies it to the workflows it starts or feeds. */
    async observe(events: Envelope[]): Promise<number> {
      const parsed = ObserveInput.parse(events);
      // Only a publisher that declares a type may feed it to a workflow; the router checks this too.
      const { allowed: input, refused } = screenPublishers(registry.mayPublish, parsed, "coordinator");
      await recordViolations(this.env.DB, refused, Date.now());
      // Ids only for the workflows these events can touch: those running here, and those they start.
      const running = new Set(
        this.sql
          .exec<{ workflow: string }>("SELECT workflow FROM instances")
          .toArray()
          .map((r) => r.workflow),
      );
      const types = new Set(input.map((e) => e.type));
      await this.prepareIds(
        input.map((e) => e.correlationid),
        registry.workflows.filter((w) => running.has(w.name) || types.has(w.startsOn)),
      );
      const now = Date.now();
      let added = 0;
      this.transact(now, () => {
        for (const event of input) {
          // `event_id` holds the event's key, (source, id): identity is never the id alone. RETURNING
          // tells an insert from a conflict (rowsWritten counts a conflicting DO NOTHING as a write).
          const inserted = this.sql
            .exec(
              "INSERT INTO observed (event_id, type, envelope, observed_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING seq",
              eventKey(event),
              event.type,
              JSON.stringify(event),
              now,
            )
            .toArray().length;
          if (inserted === 0) continue; // a duplicate: already counted
          added++;
          for (const w of listeners.get(event.type) ?? []) this.applyEvent(w, event, now);
        }
      });
      await this.flushAndRearm();
      return added;
    }

    /** A human's answer to a workflow waiting for approval. */
    async answer(raw: z.input<typeof ApprovalInput>): Promise<ApprovalAnswer> {
      const { workflow, decision, by, reason } = ApprovalInput.parse(raw);
      await this.prepareIds(this.instances().map((s) => s.id));
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
      const now = Date.now();
      this.transact(now, () => this.apply(w, result.transition));
      await this.flushAndRearm();
      return {
        ok: true,
        workflow: w.name,
        status: result.transition.state.status,
        outcome: result.transition.state.outcome,
      };
    }

    /** Deadlines and outbox retries. Idempotent: alarms fire at least once. */
    override async alarm(): Promise<void> {
      await this.wake(false);
    }

    /** Applies due deadlines and flushes the outbox; forced, it writes running rows now too. */
    private async wake(force: boolean): Promise<void> {
      await this.prepareIds(this.instances().map((s) => s.id));
      const now = Date.now();
      this.transact(now, () => {
        for (const state of this.instances()) {
          const w = registry.workflow(state.workflow);
          if (w) this.apply(w, onAlarm(w, state, now));
        }
      });
      await this.flushAndRearm(force);
    }

    /**
     * Anti-entropy: observes logged events it missed, applies due deadlines, flushes held outbox
     * entries, re-arms the alarm, and re-sends published events the log lacks (same id, so the log
     * keeps one). Idempotent, like the alarm it stands in for.
     */
    async heal(raw: z.input<typeof HealInput>): Promise<HealReport> {
      const { events, republish } = HealInput.parse(raw);
      const outboxHeld = this.outboxSize();
      const alarmMissing =
        (await this.ctx.storage.getAlarm()) === null && this.instances().some((s) => wakeAt(s) !== undefined);
      const before = new Map(this.instances().map((s) => [s.workflow, s.status]));
      const observed = events.length > 0 ? await this.observe(events) : 0;
      // A repair: applies due deadlines, writes the whole outbox now, sets the next alarm.
      await this.wake(true);
      const changed = this.instances().filter((s) => before.has(s.workflow) && before.get(s.workflow) !== s.status);
      const found = republish.flatMap((id) =>
        this.sql
          .exec<{ envelope: string }>("SELECT envelope FROM published WHERE event_id = ?", id)
          .toArray()
          .map((r) => EnvelopeSchema.parse(JSON.parse(r.envelope))),
      );
      const now = Date.now();
      await sendAll(
        this.env.EVENTS_QUEUE,
        found.map((event): EventMessage => ({ kind: "event", event, receivedAt: now })),
      );
      return {
        observed,
        outboxHeld,
        outboxLeft: this.outboxSize(),
        alarmMissing,
        changed: changed.length,
        republished: found.length,
        unknown: republish.filter((id) => !found.some((e) => e.id === id)),
      };
    }

    private outboxSize(): number {
      return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").one().n;
    }

    instances(): InstanceState[] {
      return this.sql
        .exec<{ state: string }>("SELECT state FROM instances ORDER BY workflow")
        .toArray()
        .map((r) => parseState(r.state));
    }

    observedTypes(): string[] {
      return this.sql
        .exec<{ type: string }>("SELECT type FROM observed ORDER BY seq")
        .toArray()
        .map((r) => r.type);
    }

    private instance(workflow: string): InstanceState | undefined {
      const pending = this.changed?.get(workflow);
      if (pending) return pending.state;
      const row = this.sql
        .exec<{ state: string }>("SELECT state FROM instances WHERE workflow = ?", workflow)
        .toArray()[0];
      return row ? parseState(row.state) : undefined;
    }

    private applyEvent(w: Workflow, event: Envelope, now: number): void {
      const state = this.instance(w.name);
      if (state) return this.apply(w, addResult(w, state, toResult(event), now));
      if (event.type !== w.startsOn) return; // a result before its start: kept in `observed`
      const prior = this.sql
        .exec<{ envelope: string }>("SELECT envelope FROM observed WHERE event_id != ? ORDER BY seq", eventKey(event))
        .toArray()
        .map((r) => toResult(EnvelopeSchema.parse(JSON.parse(r.envelope))));
      this.apply(w, start(w, event.correlationid, toResult(event), prior, now));
    }

    /**
     * Runs transitions in one storage transaction. Each changed instance is written once at the end,
     * with one outbox record for its D1 row (the newest state: the flush writes only that one anyway),
     * however many of the events it applied changed it: three results in one call, one write.
     */
    private transact(now: number, work: () => void): void {
      this.ctx.storage.transactionSync(() => {
        const changed = new Map<string, { w: Workflow; state: InstanceState }>();
        this.changed = changed;
        try {
          work();
          for (const { w, state } of changed.values()) this.store(w, state, now);
        } finally {
          this.changed = undefined;
        }
      });
    }

    /** An instance's state and the outbox record of its D1 row. */
    private store(w: Workflow, s: InstanceState, now: number): void {
      this.sql.exec(
        "INSERT INTO instances (workflow, state) VALUES (?, ?) ON CONFLICT (workflow) DO UPDATE SET state = excluded.state",
        w.name,
        JSON.stringify(s),
      );
      const outcomeKey = s.status === "timed_out" ? "timeout" : "outcome";
      const record: WorkflowRecord = {
        state: s,
        ...(s.outcome ? { outcomeEventId: this.eventId(w, s.id, outcomeKey) } : {}),
        updatedAt: now,
      };
      this.sql.exec("INSERT INTO outbox (kind, body) VALUES ('record', ?)", JSON.stringify(record));
    }

    /** Applies a transition inside `transact`: its events go to the outbox now, its state at the end. */
    private apply(w: Workflow, t: Transition): void {
      if (!t.changed) return;
      const s = t.state;
      if (!this.changed) throw new Error("a transition applied outside a transaction");
      this.changed.set(w.name, { w, state: s });
      const ids = new Map<string, string>();
      const published: string[] = [];
      for (const emit of t.emits) {
        const event = this.envelope(w, s, emit, ids);
        published.push(event.id);
        this.sql.exec("INSERT INTO outbox (kind, body) VALUES ('event', ?)", JSON.stringify(event));
        // Kept after the flush, so the sweep can re-send an event the log lost, with its id.
        this.sql.exec(
          "INSERT INTO published (event_id, envelope) VALUES (?, ?) ON CONFLICT DO NOTHING",
          event.id,
          JSON.stringify(event),
        );
      }
      // A line when a workflow starts, emits or leaves `running`; a result that only joins says nothing
      // its agent's run line does not.
      if (s.status === "running" && s.version > 1 && t.emits.length === 0) return;
      log("workflow", {
        workflow: w.name,
        correlationid: s.id,
        traceId: traceIdOf(s.start),
        status: s.status,
        version: s.version,
        emitted: t.emits.map((e) => e.type),
        emittedIds: published,
        ...(s.verdict
          ? {
              decision: s.verdict.decision,
              by: s.verdict.by,
              reasons: s.verdict.reasons.map((r) => r.slice(0, 200)),
              ...(s.verdict.approver ? { approver: s.verdict.approver.by } : {}),
            }
          : {}),
      });
    }

    private envelope(w: Workflow, s: InstanceState, emit: Emit, ids: Map<string, string>): Envelope {
      const valid = validateData(registry.catalog, emit.type, emit.data);
      if (!valid.ok) throw new Error(`workflow "${w.name}" produced an invalid ${emit.type}: ${valid.message}`);
      const id = this.eventId(w, s.id, emit.key);
      ids.set(emit.key, id);
      const causationid =
        "eventId" in emit.cause
          ? emit.cause.eventId
          : (ids.get(emit.cause.emitKey) ?? this.eventId(w, s.id, emit.cause.emitKey));
      return deriveEvent({
        id,
        source: workflowSource(w.name),
        type: emit.type,
        data: valid.data,
        subject: undefined,
        correlationid: s.id,
        causationid,
        hopcount: emit.hopcount,
        traceparent: s.start.traceparent,
        budgetlimited: false,
      });
    }

    /** Derives, before a transaction (which cannot await), the ids these instances may publish. */
    private async prepareIds(correlationIds: readonly string[], workflows = registry.workflows): Promise<void> {
      await this.ids.prepare(await eventIdKey(this.env), workflows, correlationIds);
    }

    private eventId(w: Workflow, id: string, emitKey: string): string {
      return this.ids.get(w.name, id, emitKey);
    }

    /**
     * Flushes the outbox, then sets the alarm for the next deadline, a running row's due write, or a
     * retry of the flush.
     */
    private async flushAndRearm(force = false): Promise<void> {
      let retry = false;
      let deferred: number | undefined;
      try {
        deferred = await flushOutbox(this.env, registry, this.sql, force);
      } catch (error) {
        retry = true;
        logError("workflow.flush_failed", { correlationid: this.instances()[0]?.id ?? null }, error);
      }
      const wakes = this.instances()
        .map(wakeAt)
        .filter((t): t is number => t !== undefined);
      if (retry) wakes.push(Date.now() + FLUSH_RETRY_MS);
      if (deferred !== undefined) wakes.push(deferred);
      if (wakes.length > 0) await this.ctx.storage.setAlarm(Math.min(...wakes));
      else await this.ctx.storage.deleteAlarm();
    }
  };
}
