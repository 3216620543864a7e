// Routing, done wherever an event is logged: at ingest, in the run consumer (the events its agents
// emit) and in the events consumer (what coordinators publish, and what must be routed again), so
// that no event takes an extra trip through a queue: who hears an event, the tasks to send once it
// is logged, the hand-off to the correlation's coordinator, and the route log line.
import { type Envelope, type EventMessage, type TaskMessage, traceIdOf } from "./envelope";
import { type Lanes, sendAll, sendTasks } from "./publish";
import { type Subscriber, subscribersOf } from "./subscriptions";
import { recordDuplicates } from "../db/anomalies";
import type { LogEntry, Logged } from "../db/events";
import { log, logError } from "../log";

/** What routing needs of the registry. */
export interface Routing extends Lanes {
  agents: readonly Subscriber[];
  /** Whether a workflow listens to this type. */
  coordinates(type: string): boolean;
}

/** An event about to be logged, with the agents that subscribe to it. */
export function logEntry(registry: Routing, event: Envelope, receivedAt: number, reroute = false): LogEntry {
  const agents = subscribersOf(registry.agents, event).map((a) => a.name);
  return {
    event,
    receivedAt,
    agents,
    routable: agents.length > 0 || registry.coordinates(event.type),
    ...(reroute ? { reroute: true } : {}),
  };
}

/** Whether a logged entry is routed now: new in the log (or rerouted) and not parked. */
const routedNow = (entry: LogEntry, logged: Logged | undefined) =>
  Boolean((logged?.inserted || entry.reroute) && !logged?.parked);

/** What logging decided: the tasks to send, and the events to hand to coordinators. */
export function dispatchOf(registry: Routing, entries: readonly LogEntry[], logged: readonly Logged[]) {
  const tasks = entries.flatMap(({ event, receivedAt }, i) => {
    const l = logged[i];
    return (l?.send ?? []).map((agent): TaskMessage => ({
      kind: "task",
      agent,
      event,
      receivedAt,
      ...(l?.claimed.includes(agent) ? { claim: l.claim } : {}),
    }));
  });
  const coordinated = entries
    .filter((e, i) => routedNow(e, logged[i]) && registry.coordinates(e.event.type))
    .map((e) => e.event);
  return { tasks, coordinated };
}

/** Hands events to their coordinators; returns the correlations whose coordinator failed. */
export async function notifyCoordinators(env: Env, events: readonly Envelope[]): Promise<Set<string>> {
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

/**
 * One `route` line per logged event: routed, parked or duplicate. An event only a workflow hears says
 * nothing here that its coordinator's line does not, so it has none; nor does an event no agent hears
 * when its publisher's own line names it (`namedByPublisher`: a coordinator's `workflow` line).
 */
export function logRoutes(
  registry: Routing,
  entries: readonly LogEntry[],
  logged: readonly Logged[],
  latencyMs: number,
  namedByPublisher = false,
): void {
  entries.forEach((entry, i) => {
    const { event, agents } = entry;
    const l = logged[i];
    const status = l?.parked ? "parked" : l?.inserted || entry.reroute ? "routed" : "duplicate";
    if (agents.length === 0 && status !== "parked" && namedByPublisher) return;
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
}

/** Entries the log already held (not rerouted): suppressed duplicates, counted for the read API. */
export const duplicatesOf = (entries: readonly LogEntry[], logged: readonly Logged[]) =>
  entries.filter((e, i) => logged[i]?.inserted === false && !e.reroute).map((e) => e.event);

/** Counts them; failing to count costs nothing else (the duplicate is suppressed either way). */
export async function countDuplicates(env: Env, entries: readonly LogEntry[], logged: readonly Logged[]) {
  const duplicates = duplicatesOf(entries, logged);
  await recordDuplicates(env.DB, "event", duplicates, Date.now()).catch((error: unknown) =>
    logError("route.duplicates_unrecorded", { events: duplicates.map((d) => d.id) }, error),
  );
}

/**
 * Fans logged events out and hands them to their coordinators. Whatever of that fails goes to the
 * events queue marked for rerouting, whose consumer routes it again (tasks are deduplicated by their
 * runs, coordinators count each event once). Returns false when even that failed: the events are in
 * the log but not routed, and the caller says so (ingest answers 503 so that the sender retries; the
 * sweep routes what the log holds in any case).
 */
export async function routeLogged(
  env: Env,
  registry: Routing,
  entries: readonly LogEntry[],
  logged: readonly Logged[],
): Promise<boolean> {
  const { tasks, coordinated } = dispatchOf(registry, entries, logged);
  const [sent, failedCorrelations] = await Promise.all([
    sendTasks(env, registry, tasks).then(
      () => true,
      (error: unknown) => {
        logError("route.fan_out_failed", { tasks: tasks.length }, error);
        return false;
      },
    ),
    notifyCoordinators(env, coordinated),
    countDuplicates(env, entries, logged),
  ]);
  const again = entries.filter(
    (e, i) => (!sent && (logged[i]?.send.length ?? 0) > 0) || failedCorrelations.has(e.event.correlationid),
  );
  if (again.length === 0) return true;
  try {
    await sendAll(
      env.EVENTS_QUEUE,
      again.map((e): EventMessage => ({ kind: "event", event: e.event, receivedAt: e.receivedAt, reroute: true })),
    );
    return true;
  } catch (error) {
    logError("route.reroute_failed", { events: again.map((e) => e.event.id), repairedBy: "sweep" }, error);
    return false;
  }
}
