// Arranges a correlation's events into the tree their causationids describe, each with its runs
// and timings, children in log order.
import type { LoggedEvent } from "../db/events";

interface RunRow {
  event_source: string;
  event_id: string;
  agent: string;
  status: string;
  attempt: number;
  started_at: number;
  finished_at: number | null;
  latency_ms: number | null;
  error: string | null;
}

export interface TreeNode {
  id: string;
  source: string;
  type: string;
  time: string | null;
  receivedAt: number;
  loggedAt: number;
  late: boolean;
  data: unknown;
  runs: {
    agent: string;
    status: string;
    attempt: number;
    startedAt: number;
    finishedAt: number | null;
    latencyMs: number | null;
    error: unknown;
  }[];
  children: TreeNode[];
}

export function causalTree(
  events: readonly LoggedEvent[],
  runs: readonly RunRow[],
  late: ReadonlySet<string>,
): TreeNode[] {
  const nodes = new Map<string, TreeNode>();
  for (const { event, receivedAt, loggedAt } of events) {
    nodes.set(event.id, {
      id: event.id,
      source: event.source,
      type: event.type,
      time: event.time ?? null,
      receivedAt,
      loggedAt,
      late: late.has(event.id),
      data: event.data,
      runs: runs
        .filter((r) => r.event_id === event.id && r.event_source === event.source)
        .map((r) => ({
          agent: r.agent,
          status: r.status,
          attempt: r.attempt,
          startedAt: r.started_at,
          finishedAt: r.finished_at,
          latencyMs: r.latency_ms,
          error: r.error === null ? null : (JSON.parse(r.error) as unknown),
        })),
      children: [],
    });
  }
  const roots: TreeNode[] = [];
  for (const { event } of events) {
    const node = nodes.get(event.id);
    const parent = event.causationid === undefined ? undefined : nodes.get(event.causationid);
    if (!node) continue;
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  return roots;
}
