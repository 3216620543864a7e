// Arranges a correlation's events into the tree their causationids describe, each with its runs
// and timings, children in log order.
import type { LoggedEvent } from "../db/events";
import type { RunWithCalls } from "../db/runs";

export interface TreeNode {
  id: string;
  source: string;
  type: string;
  time: string | null;
  receivedAt: number;
  receivedAtIso: string | null;
  loggedAt: number;
  loggedAtIso: string | null;
  late: boolean;
  data: unknown;
  runs: Omit<RunWithCalls, "eventSource" | "eventId">[];
  children: TreeNode[];
}

export function causalTree(
  events: readonly LoggedEvent[],
  runs: readonly RunWithCalls[],
  late: ReadonlySet<string>,
): TreeNode[] {
  const nodes = new Map<string, TreeNode>();
  for (const { event, receivedAt, receivedAtIso, loggedAt, loggedAtIso } of events) {
    nodes.set(event.id, {
      id: event.id,
      source: event.source,
      type: event.type,
      time: event.time ?? null,
      receivedAt,
      receivedAtIso,
      loggedAt,
      loggedAtIso,
      late: late.has(event.id),
      data: event.data,
      runs: runs
        .filter((r) => r.eventId === event.id && r.eventSource === event.source)
        .map(({ eventSource: _s, eventId: _i, ...run }) => run),
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
