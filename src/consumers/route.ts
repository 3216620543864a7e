// The events queue consumer: one D1 batch logs the queue batch's events with their routing, one
// sendBatch fans out a task per (event, subscribed agent), and events a workflow listens to reach
// their coordinator. Events over the hop limit or a correlation's event cap are parked, not routed.
// An event whose publisher does not declare its type is neither logged nor routed: it is recorded
// as a policy violation.
import { settings } from "../config";
import { type LogEntry, logEvents } from "../db/events";
import { recordViolations } from "../db/violations";
import { log, logError } from "../log";
import type { Registry } from "../registry";
import { backoffSeconds } from "../retry";
import { EventMessageSchema, eventKey } from "../bus/envelope";
import { type PublisherViolation, screenPublishers } from "../bus/catalog";
import { sendTasks } from "../bus/publish";
import { dispatchOf, logEntry, logRoutes, notifyCoordinators } from "../bus/dispatch";

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
    // A redelivery routes its event again (tasks are deduplicated by their runs) because its first
    // try may have logged but not routed; so does an event a run logged but could not route itself.
    const reroute = message.attempts > 1 || parsed.data.reroute === true;
    const key = eventKey(event);
    const seen = entries.get(key);
    if (seen) {
      // The same event twice in one batch: log and route it once.
      if (reroute) entries.set(key, { ...seen, reroute: true });
      continue;
    }
    const screened = screenPublishers(registry.mayPublish, [event], "router");
    refused.push(...screened.refused);
    if (screened.refused.length > 0) continue;
    entries.set(key, logEntry(registry, event, receivedAt, reroute));
  }

  const attempt = Math.max(...batch.messages.map((m) => m.attempts));
  const list = [...entries.values()];
  try {
    const [logged] = await Promise.all([
      list.length === 0
        ? []
        : logEvents(env.DB, list, Date.now(), {
            maxHops: config.MAX_HOPS,
            maxEventsPerCorrelation: config.MAX_EVENTS_PER_CORRELATION,
          }),
      recordViolations(env.DB, refused, Date.now()),
    ]);
    const { tasks, coordinated } = dispatchOf(registry, list, logged);
    const [, failedCorrelations] = await Promise.all([
      sendTasks(env, registry, tasks),
      notifyCoordinators(env, coordinated),
    ]);
    logRoutes(registry, list, logged, Date.now() - started);
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
