// The events queue consumer: one D1 batch logs the queue batch's events with their routing, one
// sendBatch fans out a task per (event, subscribed agent), and correlated events reach their coordinator.
import { settings } from "../config";
import { type LogEntry, logEvents } from "../db/events";
import { log, logError } from "../log";
import { backoffSeconds } from "../retry";
import type { Registry } from "../registry";
import { type Envelope, EventMessageSchema, type TaskMessage, eventKey } from "./envelope";
import { sendAll } from "./publish";
import { subscribersOf } from "./subscriptions";

export async function routeEvents(batch: MessageBatch, env: Env, registry: Registry): Promise<void> {
  const started = Date.now();
  const entries = new Map<string, LogEntry>();
  for (const message of batch.messages) {
    const parsed = EventMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      // Only a bug can put this here; ack it so it cannot block the batch, and say so loudly.
      logError("route.malformed", { messageId: message.id }, parsed.error);
      message.ack();
      continue;
    }
    const { event, receivedAt } = parsed.data;
    const key = eventKey(event);
    if (entries.has(key)) continue; // the same event twice in one batch: log and route it once
    const agents = subscribersOf(registry.agents, event).map((a) => a.name);
    entries.set(key, { event, receivedAt, agents });
  }

  // A first delivery routes only what it logged itself; a redelivery routes everything again
  // (tasks are deduplicated by their runs) because its first try may have logged but not routed.
  const reroute = batch.messages.some((m) => m.attempts > 1);
  const attempt = Math.max(...batch.messages.map((m) => m.attempts));
  try {
    const routed = await logEvents(env.DB, [...entries.values()], reroute, Date.now());
    const toRoute = [...entries.values()].filter((e) => routed.has(eventKey(e.event)));
    const tasks = toRoute.flatMap(({ event, receivedAt, agents }) =>
      agents.map((agent): TaskMessage => ({ kind: "task", agent, event, receivedAt })),
    );
    await Promise.all([
      sendAll(env.TASKS_QUEUE, tasks),
      notifyCoordinators(
        env,
        toRoute.map((e) => e.event).filter((e) => registry.coordinates(e.type)),
      ),
    ]);
    const latencyMs = Date.now() - started;
    for (const { event, agents } of entries.values()) {
      log("route", {
        eventId: event.id,
        source: event.source,
        type: event.type,
        correlationid: event.correlationid,
        status: routed.has(eventKey(event)) ? "routed" : "duplicate",
        agents,
        latencyMs,
      });
    }
    batch.ackAll();
  } catch (error) {
    logError("route.failed", { events: entries.size, attempt }, error);
    const { RETRY_BASE_DELAY_SECONDS, RETRY_MAX_DELAY_SECONDS } = settings(env);
    batch.retryAll({ delaySeconds: backoffSeconds(attempt, RETRY_BASE_DELAY_SECONDS, RETRY_MAX_DELAY_SECONDS) });
  }
}

/** Hands events a workflow listens to to their coordinator: one call per correlation id. */
async function notifyCoordinators(env: Env, events: readonly Envelope[]): Promise<void> {
  const byCorrelation = new Map<string, Envelope[]>();
  for (const event of events) {
    const group = byCorrelation.get(event.correlationid) ?? [];
    group.push(event);
    byCorrelation.set(event.correlationid, group);
  }
  await Promise.all(
    [...byCorrelation].map(([correlationId, group]) =>
      env.COORDINATOR.get(env.COORDINATOR.idFromName(correlationId)).observe(group),
    ),
  );
}
