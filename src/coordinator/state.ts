// A workflow instance's state and what a transition returns, and the steps every path shares: the
// input a workflow's functions see, the hop an emit gets, asking a person, and deciding.
import type { Erased, ResultEvent, Verdict, Workflow } from "./define";

export type Status = "running" | "awaiting_approval" | "completed" | "rejected" | "timed_out";

export interface Result extends ResultEvent {
  hopcount: number;
  /** The W3C trace context, carried onto the workflow's own events. */
  traceparent?: string;
}

export interface InstanceState {
  workflow: string;
  /** The correlation id. */
  id: string;
  status: Status;
  /** Bumped on every change; D1 keeps only the newest. */
  version: number;
  start: Result;
  /** Results counted by the join, in arrival order. */
  results: Result[];
  /** Ids of results that came after the decision: attached, but they change nothing. */
  late: string[];
  startedAt: number;
  deadlineAt: number;
  approvalDeadlineAt?: number;
  completedAt?: number;
  /** The verdict once decided, or the pending one while a human is asked. */
  verdict?: Verdict;
  outcome?: string;
  /** A refine workflow's current round, from 1. */
  round?: number;
}

/** An event to publish. `key` makes its id deterministic; `cause` is an event id or an earlier emit's key. */
export type EmitKey = "outcome" | "review" | "approval" | "timeout" | `round.${number}`;
export interface Emit {
  key: EmitKey;
  type: string;
  data: unknown;
  cause: { eventId: string } | { emitKey: EmitKey };
  hopcount: number;
}

export interface Transition {
  state: InstanceState;
  emits: Emit[];
  changed: boolean;
}

export const unchanged = (state: InstanceState): Transition => ({ state, emits: [], changed: false });
export const sameEvent = (a: ResultEvent, b: ResultEvent) => a.source === b.source && a.id === b.id;

export function input(w: Workflow, state: InstanceState, verdict: Verdict, missing: string[]): Erased {
  const results: Record<string, ResultEvent | undefined> = {};
  // A join sees the first result of each type; a refine loop, the latest round's.
  for (const r of state.results) {
    const view = { id: r.id, type: r.type, source: r.source, data: r.data };
    if (w.refine) results[r.type] = view;
    else results[r.type] ??= view;
  }
  const { id, type, source, data } = state.start;
  const round = state.round === undefined ? {} : { round: state.round };
  return { id: state.id, start: { id, type, source, data }, results, verdict, missing, ...round };
}

export const hopAfter = (state: InstanceState, cause?: Result) =>
  Math.max(state.start.hopcount, cause?.hopcount ?? 0, ...state.results.map((r) => r.hopcount)) + 1;

/** Waits for a person: the pending verdict is a rejection until someone grants it. */
export function askHuman(
  w: Workflow,
  state: InstanceState,
  cause: Result,
  now: number,
  missing: string[],
  reasons: string[],
  conflict: boolean,
): Transition {
  const approval = w.approval!;
  const pending: Verdict = { decision: "reject", by: "human", conflict, reasons };
  const request = approval.request(input(w, state, pending, missing));
  return {
    state: {
      ...state,
      status: "awaiting_approval",
      verdict: pending,
      approvalDeadlineAt: now + approval.deadlineMs,
      version: state.version + 1,
    },
    emits: [{ key: "review", ...request, cause: { eventId: cause.id }, hopcount: hopAfter(state, cause) }],
    changed: true,
  };
}

export function finish(
  w: Workflow,
  state: InstanceState,
  verdict: Verdict,
  cause: Emit["cause"],
  hopcount: number,
  now: number,
  missing: string[],
  before: Emit[] = [],
): Transition {
  const outcome = w.decide(input(w, state, verdict, missing));
  return {
    state: {
      ...state,
      status: verdict.decision === "approve" ? "completed" : "rejected",
      verdict,
      outcome: outcome.type,
      completedAt: now,
      version: state.version + 1,
    },
    emits: [...before, { key: "outcome", ...outcome, cause, hopcount }],
    changed: true,
  };
}
