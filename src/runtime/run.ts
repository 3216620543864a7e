// The tasks queue consumer: claims the batch's runs in one D1 batch, runs the agents concurrently,
// publishes what they emit in one sendBatch, records every outcome in one D1 batch, then acks or
// retries each message on its own.
import { type Envelope, type TaskMessage, TaskMessageSchema } from "../bus/envelope";
import { sendAll } from "../bus/publish";
import { settings } from "../config";
import { type Claim, type RunRecord, claimRuns, finishRuns } from "../db/runs";
import { holdDeliveries } from "../db/recovery";
import { release, reserve } from "../db/stock";
import { errorMessage, log, logError } from "../log";
import type { Registry } from "../registry";
import { backoffSeconds } from "../retry";
import { ledgerBudget } from "../models/budget-ledger";
import { tierModels } from "../models/catalog";
import { modelClient } from "../models/client";
import type { AgentContext } from "./define";
import { AgentError, emittedEvents } from "./emit";
import { type ModelAccounting, accounting, decideWithModel, ModelRunError, type TierDeps } from "./tiers";

/** A run whose worker vanished is taken over after this long. */
const CLAIM_LEASE_MS = 5 * 60_000;

interface Task {
  message: Message;
  body: TaskMessage;
  claim: Claim;
}

type Outcome = { startedAt: number; finishedAt: number; model?: ModelAccounting } & (
  | { ok: true; events: Envelope[]; violations: { kind: string; detail: string }[] }
  | { ok: false; message: string; retryable: boolean; delaySeconds?: number }
);

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
  const { RETRY_BASE_DELAY_SECONDS, RETRY_MAX_DELAY_SECONDS } = settings(env);
  const retry = (task: Task, delaySeconds?: number) =>
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
    else retry(task);
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

  const deps: TierDeps = { client: modelClient(env), models: tierModels(env), budget: ledgerBudget(env.BUDGET) };
  const outcomes = await Promise.all(claimed.map((task) => runOne(task, env, registry, deps)));

  // Publish every emitted event at once; if that fails, the runs that emitted are retried.
  const emitted = outcomes.flatMap((o) => (o.ok ? o.events : []));
  let publishError: string | undefined;
  try {
    await sendAll(
      env.EVENTS_QUEUE,
      emitted.map((event) => ({ kind: "event" as const, event, receivedAt: Date.now() })),
    );
  } catch (error) {
    publishError = `publishing emitted events failed: ${errorMessage(error)}`;
  }

  const results = claimed.map((task, i) => {
    const outcome = outcomes[i] as Outcome;
    const base = {
      ...task.claim,
      startedAt: outcome.startedAt,
      finishedAt: outcome.finishedAt,
      ...(outcome.model ? { model: outcome.model } : {}),
    };
    let record: RunRecord;
    if (outcome.ok && (publishError === undefined || outcome.events.length === 0)) {
      const output = { events: outcome.events.map((e) => ({ id: e.id, type: e.type, data: e.data })) };
      record = { ...base, status: "succeeded", output, violations: outcome.violations };
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
    return { task, outcome, record };
  });
  await finishRuns(
    env.DB,
    results.map((r) => r.record),
  );

  await Promise.all(
    results.map(async ({ task, outcome, record }) => {
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
        log("agent.run", { ...fields, error: record.error.message, ...modelFields(record.model) });
        retry(task, record.error.delaySeconds);
      } else {
        // A permanent failure goes straight to the dead-letter queue, whose consumer records it.
        log("agent.run", { ...fields, status: "dead_lettered", error: record.error.message });
        await env.DEAD_LETTERS.send(task.body, { contentType: "json" });
        task.message.ack();
      }
    }),
  );
}

async function runOne(task: Task, env: Env, registry: Registry, deps: TierDeps): Promise<Outcome> {
  const startedAt = Date.now();
  const timed = <T extends object>(o: T) => ({ ...o, startedAt, finishedAt: Date.now() });
  const agent = registry.agent(task.body.agent);
  if (!agent)
    return timed({ ok: false, message: `no agent named "${task.body.agent}" is registered`, retryable: false });
  const ctx: AgentContext = {
    attempt: task.message.attempts,
    stock: {
      reserve: (reservationId, items) => reserve(env.DB, reservationId, items, Date.now()),
      release: (reservationId) => release(env.DB, reservationId, Date.now()),
    },
  };
  const event = task.body.event;
  try {
    const decision = agent.model ? await decideWithModel(agent, event, deps) : undefined;
    const model = decision ? accounting(decision, deps.models.escalation) : undefined;
    const emits = await agent.handle(event, ctx, decision?.decision);
    const flags = { budgetLimited: decision?.budgetLimited ?? false };
    const { events, violations } = await emittedEvents(registry.catalog, agent, event, emits, flags);
    return timed({
      ok: true,
      events,
      violations: [...(decision?.violations ?? []), ...violations],
      ...(model ? { model } : {}),
    });
  } catch (error) {
    if (error instanceof ModelRunError) {
      const { failure } = error;
      return timed({
        ok: false,
        message: failure.message,
        retryable: failure.action !== "dead_letter",
        ...(failure.action === "retry_after" ? { delaySeconds: failure.delaySeconds } : {}),
        model: accounting({ calls: error.calls }, deps.models.escalation),
      });
    }
    const retryable = !(error instanceof AgentError && !error.retryable);
    return timed({ ok: false, message: errorMessage(error), retryable });
  }
}

function modelFields(model: ModelAccounting | undefined) {
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
    agent,
    attempt: task.message.attempts,
  };
}
