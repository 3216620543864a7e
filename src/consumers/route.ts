// The events queue consumer: one D1 batch logs the queue batch's events with their routing, one
// sendBatch fans out a task per (event, subscribed agent), and events a workflow listens to reach
// their coordinator. Events over the hop limit or a correlation's event cap are parked, not routed.
// An event whose publisher does not declare its type is neither logged nor routed: it is recorded
// as a policy violation.
import { traceIdOf } from "../bus/envelope";
import { settings } from "../config";
import { type LogEntry, logEvents } from "../db/events";
import { recordViolations } from "../db/violations";
import { log, logError } from "../log";
import type { Registry } from "../registry";
import { backoffSeconds } from "../retry";
import { type Envelope, EventMessageSchema, type TaskMessage, eventKey } from "../bus/envelope";
import { type PublisherViolation, screenPublishers } from "../bus/catalog";
import { sendAll } from "../bus/publish";
import { subscribersOf } from "../bus/subscriptions";

export async function routeEvents(batch: MessageBatch, env: Env, registry: Registry): Promise<void> {
  const started = Date.now();
  const config = settings(env, "runs");
  const entries = new Map<string, LogEntry>();
  const refused: PublisherViolation[] = [];
  const correlationOf = new Map<Message, string>();
  for (const message of batch.messages) {
    const parsed = EventMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      // Only a bug can put this here; ack it so it cannot block the batch, and say so loudly.
      logError("route.malformed", { messageId: message.id }, parsed.error);
      message.ack();
      continue;
    }
    const { event, receivedAt } = parsed.data;
    correlationOf.set(message, event.correlationid);
    const key = eventKey(event);
    if (entries.has(key)) continue; // the same event twice in one batch: log and route it once
    const screened = screenPublishers(registry.mayPublish, [event], "router");
    refused.push(...screened.refused);
    if (screened.refused.length > 0) continue;
    const agents = subscribersOf(registry.agents, event).map((a) => a.name);
    entries.set(key, { event, receivedAt, agents, routable: agents.length > 0 || registry.coordinates(event.type) });
  }

  // A first delivery routes only what it logged itself; a redelivery routes everything again
  // (tasks are deduplicated by their runs) because its first try may have logged but not routed.
  const reroute = batch.messages.some((m) => m.attempts > 1);
  const attempt = Math.max(...batch.messages.map((m) => m.attempts));
  const list = [...entries.values()];
  try {
    const [logged] = await Promise.all([
      list.length === 0
        ? []
        : logEvents(env.DB, list, reroute, Date.now(), {
            maxHops: config.MAX_HOPS,
            maxEventsPerCorrelation: config.MAX_EVENTS_PER_CORRELATION,
          }),
      recordViolations(env.DB, refused, Date.now()),
    ]);
    const routed = list.filter((_, i) => (logged[i]?.inserted || reroute) && !logged[i]?.parked);
    const tasks = list.flatMap(({ event, receivedAt }, i) =>
      (logged[i]?.send ?? []).map((agent): TaskMessage => ({ kind: "task", agent, event, receivedAt })),
    );
    const [, failedCorrelations] = await Promise.all([
      sendAll(env.TASKS_QUEUE, tasks),
      notifyCoordinators(
        env,
        routed.map((e) => e.event).filter((e) => registry.coordinates(e.type)),
      ),
    ]);
    const latencyMs = Date.now() - started;
    list.forEach(({ event, agents }, i) => {
      const l = logged[i];
      const status = l?.parked ? "parked" : l?.inserted || reroute ? "routed" : "duplicate";
      // A result only a workflow hears says nothing here that its coordinator's line does not.
      if (status === "routed" && agents.length === 0 && registry.coordinates(event.type)) return;
      log("route", {
        eventId: event.id,
        source: event.source,
        type: event.type,
        correlationid: event.correlationid,
        traceId: traceIdOf(event),
        hopcount: event.hopcount,
        status,
        ...(l?.parked ? { reason: l.parked } : {}),
        agents,
        held: l?.held ?? [],
        latencyMs,
      });
    });
    for (const v of refused) {
      log("route", {
        eventId: v.id,
        source: v.source,
        type: v.type,
        correlationid: v.correlationId,
        status: "refused",
        reason: v.kind,
        detail: v.detail,
      });
    }
    // A coordinator that failed retries only its own correlation's messages: the rest of the batch is
    // logged, routed and done (a redelivery re-notifies, and coordinators count each event once).
    if (failedCorrelations.size === 0) batch.ackAll();
    else {
      const delaySeconds = backoffSeconds(attempt, config.RETRY_BASE_DELAY_SECONDS, config.RETRY_MAX_DELAY_SECONDS);
      for (const [message, correlationId] of correlationOf) {
        if (failedCorrelations.has(correlationId)) message.retry({ delaySeconds });
        else message.ack();
      }
    }
  } catch (error) {
    logError("route.failed", { events: entries.size + refused.length, attempt }, error);
    batch.retryAll({
      delaySeconds: backoffSeconds(attempt, config.RETRY_BASE_DELAY_SECONDS, config.RETRY_MAX_DELAY_SECONDS),
    });
  }
}

/** Hands events to their coordinators; returns the correlations whose coordinator failed. */
async function notifyCoordinators(env: Env, events: readonly Envelope[]): Promise<Set<string>> {
  const byCorrelation = new Map<string, Envelope[]>();
  for (const event of events) {
    const group = byCorrelation.get(event.correlationid) ?? [];
    group.push(event);
    byCorrelation.set(event.correlationid, group);
  }
  const settled = await Promise.allSettled(
    [...byCorrelation].map(([correlationId, group]) =>
      env.COORDINATOR.get(env.COORDINATOR.idFromName(correlationId)).observe(group),
    ),
  );
  const failed = new Set<string>();
  [...byCorrelation.keys()].forEach((correlationId, i) => {
    const result = settled[i];
    if (result?.status !== "rejected") return;
    failed.add(correlationId);
    logError("route.coordinator_failed", { correlationid: correlationId }, result.reason);
  });
  return failed;
}
