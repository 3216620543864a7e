// What routing one event costs agentwire as its registry grows: one event at a time, the route
// consumer's own timing (its `route` log line), the log and dispatch times from D1, and when the
// runs and the workflow finished.
import { randomUUID } from "node:crypto";
import { adminGet, type Target } from "./client";
import type { Summary } from "./phases";
import { summarize, until } from "./stats";
import { sendEvent, type System } from "./systems";

export interface RoutingResult {
  registered: number;
  heard: number;
  /** The time routing took as logged: the route consumer's batch, or ingest's request (see routeLatency). */
  route: Summary;
  /** Which line that came from: "route", "ingest", or "" when neither was found. */
  routeLine: string;
  /** events.logged_at − received_at: the queue hop plus routing up to the log write. */
  logged: Summary;
  /** Last of the runs' start − logged_at: until every task was picked up. */
  dispatched: Summary;
  /** Last run finished − send time. */
  runsDone: Summary;
  /** Workflow completedAt − send time. */
  completed: Summary;
}

interface Logged {
  receivedAt: number;
  loggedAt: number;
  deliveries: unknown[];
  runs: { startedAt: number; finishedAt: number | null }[];
}

/**
 * The latencyMs of the line wrangler printed (console.log of an object) for routing this event: the
 * route consumer's `route` line, or, where ingest logs and routes an event itself, its `ingest` line
 * (one that lists the agents).
 */
export function routeLatency(output: string, eventId: string): { line: string; ms: number } | undefined {
  const id = eventId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  for (const line of ["route", "ingest"]) {
    const block = new RegExp(`\\{\\n\\s+msg: '${line}',\\n\\s+eventId: '${id}',[^{}]*?latencyMs: (\\d+)\\n\\}`);
    const match = block.exec(output);
    if (match && (line === "route" || /\n\s+agents: \[/.test(match[0]))) return { line, ms: Number(match[1]) };
  }
  return undefined;
}

/** Sends `repeat` events made by `event`, one at a time, each starting a workflow. */
export async function routingProbe(
  system: System & { target: Target },
  event: (id: string) => { id: string },
  repeat: number,
): Promise<RoutingResult> {
  const { body } = await adminGet<{ agents: unknown[] }>(system.target, "/v1/agents");
  const route: number[] = [];
  const lines = new Set<string>();
  const logged: number[] = [];
  const dispatched: number[] = [];
  const runsDone: number[] = [];
  const completed: number[] = [];
  let heard = 0;
  for (let r = 0; r < repeat; r++) {
    const id = `wf-${randomUUID()}`;
    const sentAt = await sendEvent(system.target, event(id));
    completed.push((await until(() => system.completedAt(id), 120_000, `workflow ${id}`)) - sentAt);
    const detail = (await adminGet<Logged>(system.target, `/v1/events/${id}`)).body;
    heard = detail.deliveries.length;
    if (detail.runs.length !== heard) throw new Error(`${id}: ${detail.runs.length} runs for ${heard} deliveries`);
    logged.push(detail.loggedAt - detail.receivedAt);
    dispatched.push(Math.max(...detail.runs.map((run) => run.startedAt)) - detail.loggedAt);
    runsDone.push(Math.max(...detail.runs.map((run) => run.finishedAt ?? Number.NaN)) - sentAt);
    const routed = routeLatency(system.server.output(), id);
    if (routed) {
      route.push(routed.ms);
      lines.add(routed.line);
    }
  }
  return {
    registered: body.agents.length,
    heard,
    route: summarize(route),
    routeLine: [...lines].join(" / "),
    logged: summarize(logged),
    dispatched: summarize(dispatched),
    runsDone: summarize(runsDone),
    completed: summarize(completed),
  };
}
