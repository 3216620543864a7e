// The tasks queue consumer: claims the batch's runs in one D1 batch and runs the agents concurrently;
// each run, as soon as it finishes, publishes what it emitted, records its outcome and is acked or
// retried on its own, so a slow model call in one delivery holds back no other.
import { traceIdOf } from "../bus/envelope";
import { type Envelope, type TaskMessage, TaskMessageSchema } from "../bus/envelope";
import { eventIdKey } from "../bus/publish";
import { sendAll } from "../bus/publish";
import { settings } from "../config";
import {
  CLAIM_LEASE_MS,
  type Claim,
  type ModelRecord,
  type RunRecord,
  type Violation,
  claimRuns,
  finishRuns,
} from "../db/runs";
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

/** Model calls in flight per tasks batch: a Worker invocation holds about six connections open. */
const MODEL_CALLS_AT_ONCE = 6;

interface Task {
  message: Message;
  body: TaskMessage;
  claim: Claim;
}

/** A failed run keeps the policy violations it committed before failing. */
type Outcome = { startedAt: number; finishedAt: number; model?: ModelRecord; violations: Violation[] } & (
  | { ok: true; events: Envelope[] }
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
      claim: { source: event.source, id: event.id, agent, attempt: message.attempts, claim: message.id },
    });
  }

  const claims = await claimRuns(
    env.DB,
    tasks.map((t) => t.claim),
    Date.now(),
    CLAIM_LEASE_MS,
  );
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
  const held = await holdDeliveries(
    env.DB,
    paused.map((t) => t.claim),
  );
  paused.forEach((task, i) => {
    log("agent.run", { ...logFields(task), status: held[i] ? "held" : "resumed" });
    if (held[i]) task.message.ack();
    else retry(task, 0);
  });

  const deps: TierDeps = {
    client: modelClient(env),
    setup: () => modelSetup(env),
    budget: ledgerBudget(env.BUDGET),
    gate: limiter(MODEL_CALLS_AT_ONCE),
  };
  const idKey = await eventIdKey(env);
  const lent = registry.capabilities(env);
  await Promise.all(
    claimed.map(async (task) => {
      const outcome = await runOne(task, registry, deps, idKey, lent);
      try {
        await completeRun(task, outcome, env, retry);
      } catch (error) {
        // Recording failed (D1): the delivery runs again; its claim and derived ids make that safe.
        logError("run.record_failed", logFields(task), error);
        retry(task);
      }
    }),
  );
}

/** Publishes one run's events, records its outcome, then acks, retries or dead-letters its message. */
async function completeRun(task: Task, outcome: Outcome, env: Env, retry: Retry): Promise<void> {
  let publishError: string | undefined;
  if (outcome.ok && outcome.events.length > 0) {
    try {
      await sendAll(
        env.EVENTS_QUEUE,
        outcome.events.map((event) => ({ kind: "event" as const, event, receivedAt: Date.now() })),
      );
    } catch (error) {
      publishError = `publishing emitted events failed: ${errorMessage(error)}`;
    }
  }
  const base = {
    ...task.claim,
    startedAt: outcome.startedAt,
    finishedAt: outcome.finishedAt,
    violations: outcome.violations,
    ...(outcome.model ? { model: outcome.model } : {}),
  };
  let record: RunRecord;
  if (outcome.ok && publishError === undefined) {
    const output = { events: outcome.events.map((e) => ({ id: e.id, type: e.type, data: e.data })) };
    record = { ...base, status: "succeeded", output };
  } else {
    const error = outcome.ok
      ? { message: publishError ?? "", retryable: true }
      : {
          message: outcome.message,
          retryable: outcome.retryable,
          ...(outcome.delaySeconds === undefined ? {} : { delaySeconds: outcome.delaySeconds }),
        };
    record = { ...base, status: "failed", error };
  }
  await finishRuns(env.DB, [record]);

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
  // The registry's capabilities, and the attempt (which no capability may shadow).
  const ctx = { ...lent, attempt: task.message.attempts };
  const event = task.body.event;
  try {
    const decision = agent.model ? await decideWithModel(agent, event, deps) : undefined;
    const model = decision ? accounting(decision) : undefined;
    violations.push(...(decision?.violations ?? []));
    const emits = await agent.handle({ event, decision: decision?.decision, ctx });
    const flags = { budgetLimited: decision?.budgetLimited ?? false };
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
