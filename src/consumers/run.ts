// The tasks queue consumer: claims the batch's runs in one D1 batch and runs the agents concurrently.
// Runs that finish together are committed together (a group commit: whatever finished while the
// previous group was being written): one D1 batch records the runs and logs the events they emitted
// with their routing, one sendBatch fans those events out to their subscribers, and one call per
// correlation hands them to its coordinator — no second trip through the events queue. Each run is
// then acked, retried or dead-lettered on its own, so a slow model call holds back no other.
import { traceIdOf } from "../bus/envelope";
import { type Envelope, type TaskMessage, TaskMessageSchema } from "../bus/envelope";
import { derivedId, eventIdKey } from "../bus/publish";
import { settings } from "../config";
import { runPlans } from "../db/batch";
import { type Logged, logPlan } from "../db/events";
import {
  CLAIM_LEASE_MS,
  type Claim,
  type ModelRecord,
  type RunRecord,
  type Violation,
  claimRunsReading,
  finishPlan,
} from "../db/runs";
import { parseSteps, recordStep, type Step, stepsStatement } from "../db/steps";
import type { Agent } from "../runtime/define";
import { StepLog } from "../runtime/steps";
import { recordDuplicates } from "../db/anomalies";
import { holdDeliveries } from "../db/recovery";
import { errorMessage, log, logError } from "../log";
import type { Registry } from "../registry";
import { backoffSeconds } from "../retry";
import { ledgerBudget } from "../models/budget-ledger";
import { modelSetup } from "../models/lineup";
import { modelClient } from "../models/client";
import { emittedEvents } from "../runtime/emit";
import { limiter } from "../runtime/limit";
import { DeadLetter, RetryAfter } from "../runtime/errors";
import { accounting, decideWithModel, ModelRunError, type TierDeps } from "../runtime/tiers";
import { logEntry, logRoutes, routeLogged } from "../bus/dispatch";
import { type DeliveryRecord, deliverOne } from "./delivery";

/** Model calls in flight per tasks batch: a Worker invocation holds about six connections open. */
const MODEL_CALLS_AT_ONCE = 6;

/**
 * A task sent at most this long ago, on its first delivery, runs under the claim routing recorded
 * without claiming again; later or again, it claims as any delivery does (and meets a pause).
 */
export const PROMPT_MS = 1000;

interface Task {
  message: Message;
  body: TaskMessage;
  claim: Claim;
  /** A model-backed run's steps recorded by earlier attempts (read with the claim). */
  steps: Step[];
  /** The re-run generation the claimed run belongs to, or null (read with the claim). */
  generation: string | null;
  /**
   * A model-backed run whose steps are read and recorded: only calls that cost something are (a
   * model client is set), or a replay asks for the recorded outputs.
   */
  recording: boolean;
}

/** A failed run keeps the policy violations it committed before failing. */
type Outcome = { startedAt: number; finishedAt: number; model?: ModelRecord; violations: Violation[] } & (
  | { ok: true; events: Envelope[]; delivery?: DeliveryRecord }
  | { ok: false; message: string; retryable: boolean; delaySeconds?: number; stack?: string }
);
type Retry = (task: Task, delaySeconds?: number) => void;

export async function runTasks(batch: MessageBatch, env: Env, registry: Registry): Promise<void> {
  const tasks: Task[] = [];
  for (const message of batch.messages) {
    const parsed = TaskMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      logError("run.malformed", { messageId: message.id }, parsed.error);
      message.ack();
      continue;
    }
    const { event, agent } = parsed.data;
    tasks.push({
      message,
      body: parsed.data,
      claim: {
        source: event.source,
        id: event.id,
        agent,
        attempt: message.attempts,
        // Routing's claim of a new run, or this message's: a redelivery of it may take over its own.
        claim: parsed.data.claim ?? message.id,
        ...(parsed.data.rerun ? { generation: parsed.data.rerun } : {}),
      },
      steps: [],
      generation: null,
      recording: false,
    });
  }

  const client = modelClient(env);
  for (const t of tasks) {
    t.recording = Boolean(registry.agent(t.body.agent)?.model) && (client !== null || t.body.models === "recorded");
  }
  // A first delivery of a run that routing claimed, arriving promptly, is the run's: it has no steps,
  // no generation, and a pause that came after its routing by less than PROMPT_MS lets it run.
  const now = Date.now();
  const prompt = (t: Task) =>
    t.body.claim !== undefined && t.message.attempts === 1 && now - t.message.timestamp.getTime() < PROMPT_MS;
  const toClaim = tasks.filter((t) => !prompt(t));
  const {
    outcomes: claimedNow,
    reads,
    generations,
  } = await claimRunsReading(
    env.DB,
    toClaim.map((t) => t.claim),
    now,
    CLAIM_LEASE_MS,
    (c, i) => (toClaim[i]?.recording ? stepsStatement(env.DB, c) : undefined),
  );
  toClaim.forEach((task, i) => {
    if (reads[i]) task.steps = parseSteps(reads[i].results);
    task.generation = generations[i] ?? null;
  });
  const outcomeOf = new Map(toClaim.map((t, i) => [t, claimedNow[i]]));
  const claims = tasks.map((t) => outcomeOf.get(t) ?? "claimed");
  const { RETRY_BASE_DELAY_SECONDS, RETRY_MAX_DELAY_SECONDS } = settings(env, "runs");
  const retry: Retry = (task, delaySeconds) =>
    task.message.retry({
      delaySeconds:
        delaySeconds ?? backoffSeconds(task.message.attempts, RETRY_BASE_DELAY_SECONDS, RETRY_MAX_DELAY_SECONDS),
    });

  const claimed: Task[] = [];
  const paused: Task[] = [];
  tasks.forEach((task, i) => {
    const outcome = claims[i];
    if (outcome === "claimed") return claimed.push(task);
    if (outcome === "paused") return paused.push(task);
    // "done": a duplicate delivery of a finished run. "busy": another delivery is running it now.
    log("agent.run", { ...logFields(task), status: outcome === "done" ? "duplicate" : "busy" });
    if (outcome === "done") task.message.ack();
    // Busy: look again once the other claim's lease could have run out, so that a duplicate never
    // exhausts its retries (and lands in the dead letters) while the first delivery is still working.
    else retry(task, CLAIM_LEASE_MS / 1000);
  });
  // A paused agent's deliveries are held in D1 until it resumes (unless it just did: then retry).
  // Duplicate deliveries are counted for the read API; failing to count one costs nothing else.
  const duplicates = tasks.filter((_, i) => claims[i] === "done").map((t) => t.claim);
  const [held] = await Promise.all([
    holdDeliveries(
      env.DB,
      paused.map((t) => t.claim),
    ),
    recordDuplicates(env.DB, "delivery", duplicates, Date.now()).catch((error: unknown) =>
      logError("run.duplicates_unrecorded", { duplicates: duplicates.length }, error),
    ),
  ]);
  paused.forEach((task, i) => {
    log("agent.run", { ...logFields(task), status: held[i] ? "held" : "resumed" });
    if (held[i]) task.message.ack();
    else retry(task, 0);
  });

  const deps: TierDeps = {
    client,
    setup: () => modelSetup(env),
    budget: ledgerBudget(env.BUDGET),
    gate: limiter(MODEL_CALLS_AT_ONCE),
  };
  const idKey = await eventIdKey(env);
  const lent = registry.capabilities(env);
  const commit = committer(env, registry);
  await Promise.all(
    claimed.map(async (task) => {
      const outcome = await runOne(task, env, registry, deps, idKey, lent);
      const committed = await commit(task, outcome);
      if (!committed.ok) {
        // Recording failed (D1): the delivery runs again; its claim and derived ids make that safe.
        logError("run.record_failed", logFields(task), committed.error);
        return retry(task);
      }
      try {
        await settle(task, outcome, committed.record, env, retry);
      } catch (error) {
        // Dead-lettering failed: the queue tries again (the run is recorded failed, so it runs again).
        logError("run.dead_letter_failed", logFields(task), error);
        retry(task);
      }
    }),
  );
}

type Committed = { ok: true; record: RunRecord } | { ok: false; error: unknown };
interface Finished {
  task: Task;
  outcome: Outcome;
  done: (committed: Committed) => void;
}

/**
 * Group commit: runs that finish while a group is being written wait for the next one, so a batch
 * of runs finishing together costs one D1 batch, one sendBatch and one coordinator call per
 * correlation, and a run finishing alone waits for nothing but its own write.
 */
function committer(env: Env, registry: Registry) {
  const config = settings(env, "runs");
  const limits = { maxHops: config.MAX_HOPS, maxEventsPerCorrelation: config.MAX_EVENTS_PER_CORRELATION };
  let pending: Finished[] = [];
  let draining: Promise<void> | undefined;
  const drain = async () => {
    while (pending.length > 0) {
      const group = pending;
      pending = [];
      await commitGroup(env, registry, limits, group);
    }
    draining = undefined;
  };
  return (task: Task, outcome: Outcome) =>
    new Promise<Committed>((done) => {
      pending.push({ task, outcome, done });
      // A macrotask later, so that runs finishing in the same moment share the group.
      draining ??= new Promise<void>((r) => setTimeout(r, 0)).then(drain);
    });
}

async function commitGroup(
  env: Env,
  registry: Registry,
  limits: { maxHops: number; maxEventsPerCorrelation: number },
  group: readonly Finished[],
): Promise<void> {
  const started = Date.now();
  const records = group.map(({ task, outcome }) => recordOf(task, outcome));
  const entries = group.flatMap(({ outcome }) =>
    outcome.ok ? outcome.events.map((event) => logEntry(registry, event, outcome.finishedAt)) : [],
  );
  let logged: Logged[];
  try {
    [logged] = await runPlans(env.DB, [logPlan(env.DB, entries, started, limits), finishPlan(env.DB, records)]);
  } catch (error) {
    for (const f of group) f.done({ ok: false, error });
    return;
  }
  try {
    await routeLogged(env, registry, entries, logged);
    logRoutes(registry, entries, logged, Date.now() - started);
  } catch (error) {
    // Only a bug gets here (routing catches its own failures): the runs are recorded and their
    // events logged, so they are done; the sweep routes what the log holds.
    logError("run.route_failed", { events: entries.map((e) => e.event.id), repairedBy: "sweep" }, error);
  }
  group.forEach((f, i) => f.done({ ok: true, record: records[i]! }));
}

function recordOf(task: Task, outcome: Outcome): RunRecord {
  const base = {
    ...task.claim,
    startedAt: outcome.startedAt,
    finishedAt: outcome.finishedAt,
    violations: outcome.violations,
    ...(outcome.model ? { model: outcome.model } : {}),
  };
  if (outcome.ok) {
    const events = outcome.events.map((e) => ({ id: e.id, type: e.type, data: e.data }));
    const output = outcome.delivery ? { events, delivery: outcome.delivery } : { events };
    return { ...base, status: "succeeded", output };
  }
  const error = {
    message: outcome.message,
    retryable: outcome.retryable,
    ...(outcome.delaySeconds === undefined ? {} : { delaySeconds: outcome.delaySeconds }),
  };
  return { ...base, status: "failed", error };
}

/** Acks, retries or dead-letters a recorded run's message, with its log line. */
async function settle(task: Task, outcome: Outcome, record: RunRecord, env: Env, retry: Retry): Promise<void> {
  const fields = { ...logFields(task), status: record.status, latencyMs: record.finishedAt - record.startedAt };
  if (record.status === "succeeded") {
    const emittedTypes = outcome.ok ? outcome.events.map((e) => e.type) : [];
    log("agent.run", {
      ...fields,
      emitted: emittedTypes,
      violations: record.violations.length,
      ...modelFields(record.model),
    });
    task.message.ack();
  } else if (record.error.retryable) {
    log("agent.run", { ...fields, error: record.error.message, stack: stackOf(outcome), ...modelFields(record.model) });
    retry(task, record.error.delaySeconds);
  } else {
    // A permanent failure goes straight to the dead-letter queue, whose consumer records it.
    log("agent.run", { ...fields, status: "dead_lettered", error: record.error.message, stack: stackOf(outcome) });
    await env.DEAD_LETTERS.send(task.body, { contentType: "json" });
    task.message.ack();
  }
}

async function runOne(
  task: Task,
  env: Env,
  registry: Registry,
  deps: TierDeps,
  idKey: CryptoKey,
  lent: Record<string, unknown>,
): Promise<Outcome> {
  const startedAt = Date.now();
  const violations: Violation[] = [];
  const timed = <T extends object>(o: T) => ({ ...o, violations, startedAt, finishedAt: Date.now() });
  const agent = registry.agent(task.body.agent);
  if (!agent)
    return timed({ ok: false, message: `no agent named "${task.body.agent}" is registered`, retryable: false });
  const event = task.body.event;
  if (agent.destination) {
    const delivered = await deliverOne(env, registry.catalog, agent.destination, event, task.message.attempts).catch(
      (error: unknown) => ({
        ok: false as const,
        message: errorMessage(error),
        retryable: true,
      }),
    );
    return timed(delivered.ok ? { ok: true, events: [], delivery: delivered.delivery } : delivered);
  }
  // The registry's capabilities, and the attempt (which no capability may shadow).
  const ctx = { ...lent, attempt: task.message.attempts };
  try {
    const per = task.recording ? await runDeps(task, env, idKey, ctx, agent) : undefined;
    const decision = agent.model ? await decideWithModel(agent, event, deps, per) : undefined;
    const model = decision ? accounting(decision) : undefined;
    violations.push(...(decision?.violations ?? []));
    const emits = await agent.handle({ event, decision: decision?.decision, ctx });
    const flags = {
      budgetLimited: decision?.budgetLimited ?? false,
      ...(task.generation ? { generation: task.generation } : {}),
    };
    const emitted = await emittedEvents(registry.catalog, idKey, agent, event, emits, flags);
    violations.push(...emitted.violations);
    if (!emitted.ok)
      return timed({ ok: false, message: emitted.message, retryable: false, ...(model ? { model } : {}) });
    return timed({ ok: true, events: emitted.events, ...(model ? { model } : {}) });
  } catch (error) {
    if (error instanceof ModelRunError) {
      const { failure } = error;
      return timed({
        ok: false,
        message: failure.message,
        retryable: failure.action !== "dead_letter",
        ...(failure.action === "retry_after" ? { delaySeconds: failure.delaySeconds } : {}),
        model: accounting({ calls: error.calls }),
      });
    }
    if (error instanceof DeadLetter) return timed({ ok: false, message: error.message, retryable: false });
    if (error instanceof RetryAfter) {
      return timed({ ok: false, message: error.message, retryable: true, delaySeconds: error.seconds });
    }
    const stack = error instanceof Error ? error.stack : undefined;
    return timed({ ok: false, message: errorMessage(error), retryable: true, ...(stack ? { stack } : {}) });
  }
}

/** A model-backed run's step log (recorded as each step completes) and what its tools are lent. */
async function runDeps(
  task: Task,
  env: Env,
  idKey: CryptoKey,
  ctx: Record<string, unknown> & { attempt: number },
  agent: Agent,
) {
  const { claim, body } = task;
  const mode = body.models ?? "resume";
  const steps = new StepLog(task.steps, mode, task.message.attempts, (step) =>
    recordStep(env.DB, claim, step, Date.now()),
  );
  // Unpredictable outside, the same in every attempt: a tool's idempotency key is this and the step
  // (an HMAC only for agents that have tools to give it to).
  const prefix = agent.model?.tools ? await derivedId(idKey, "idem", [claim.source, claim.id, claim.agent]) : "";
  const toolCall = (step: number) => ({ ctx, event: body.event, step, idempotencyKey: `${prefix}.${step}` });
  return { steps, toolCall };
}

const stackOf = (outcome: Outcome) => (!outcome.ok && outcome.stack ? outcome.stack : undefined);

function modelFields(model: ModelRecord | undefined) {
  if (!model) return {};
  return {
    model: model.model,
    tier: model.tier,
    escalated: model.escalated,
    escalationReason: model.escalationReason ?? null,
    budgetLimited: model.budgetLimited,
    costMicros: model.costMicros,
  };
}

function logFields(task: Task) {
  const { event, agent } = task.body;
  return {
    eventId: event.id,
    type: event.type,
    correlationid: event.correlationid,
    traceId: traceIdOf(event),
    agent,
    attempt: task.message.attempts,
  };
}
