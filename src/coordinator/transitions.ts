// The workflow state machine, as pure functions: (definition, state, input, now) → (state, emits).
// The Durable Object only stores what these return and publishes the emits; it decides nothing.
import { alternatives, type Erased, type ResultEvent, type Verdict, type Workflow } from "./define";
import { joined, missingSlots, weigh } from "./weigh";

export { filledSlots, joined, weigh } from "./weigh";

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

const unchanged = (state: InstanceState): Transition => ({ state, emits: [], changed: false });
const slotTypes = (w: Workflow) => new Set(w.join.slots.flatMap(alternatives));

/**
 * Starts an instance. Results that arrived before the start are counted, in arrival order; a refine
 * workflow instead asks for round 1 (a result cannot precede the request it answers).
 */
export function start(w: Workflow, id: string, startEvent: Result, prior: readonly Result[], now: number): Transition {
  let state: InstanceState = {
    workflow: w.name,
    id,
    status: "running",
    version: 1,
    start: startEvent,
    results: [],
    late: [],
    startedAt: now,
    deadlineAt: now + w.deadlineMs,
  };
  if (w.refine) {
    state = { ...state, round: 1 };
    return { state, emits: [roundRequest(w, state, 1, startEvent)], changed: true };
  }
  const types = slotTypes(w);
  const counted = prior.filter((r) => types.has(r.type));
  // "first" counts only the earliest; the other join modes count everything that has arrived.
  const accepted = w.join.mode === "first" ? counted.slice(0, 1) : counted;
  state = { ...state, results: dedupe(accepted), late: counted.slice(accepted.length).map((r) => r.id) };
  const last = state.results.at(-1);
  if (last && joined(w, state.results)) return conclude(w, state, last, now, []);
  return { state, emits: [], changed: true };
}

export function addResult(w: Workflow, state: InstanceState, result: Result, now: number): Transition {
  if (w.refine) return refineResult(w, state, result, now);
  if (!slotTypes(w).has(result.type)) return unchanged(state);
  // Identity is (source, id): an id alone could be another publisher's. `late` lists ids for display;
  // the coordinator's `observed` table has already let each (source, id) through once.
  if (state.results.some((r) => sameEvent(r, result)) || state.late.includes(result.id)) return unchanged(state);
  if (state.status !== "running") {
    return {
      state: { ...state, late: [...state.late, result.id], version: state.version + 1 },
      emits: [],
      changed: true,
    };
  }
  const next = { ...state, results: [...state.results, result], version: state.version + 1 };
  if (!joined(w, next.results)) return { state: next, emits: [], changed: true };
  return conclude(w, next, result, now, []);
}

function input(w: Workflow, state: InstanceState, verdict: Verdict, missing: string[]): Erased {
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

const PENDING: Verdict = { decision: "reject", by: "votes", conflict: false, reasons: [] };
const roundOf = (r: ResultEvent) => {
  const n = (r.data as { round?: unknown } | null)?.round;
  return typeof n === "number" ? n : undefined;
};

/** The event asking for round `round`'s draft, caused by the start or the last evaluation. */
function roundRequest(w: Workflow, state: InstanceState, round: number, cause: Result): Emit {
  const request = w.refine!.request({ ...input(w, state, PENDING, []), round });
  return { key: `round.${round}`, ...request, cause: { eventId: cause.id }, hopcount: hopAfter(state, cause) };
}

/**
 * A refine loop's result: a draft is kept; the current round's evaluation is judged — approve
 * decides, reject asks for the next round (or, after the last, a human), review asks a human. A
 * result of another round (a redelivery, or one that arrives after the loop moved on) is late.
 */
function refineResult(w: Workflow, state: InstanceState, result: Result, now: number): Transition {
  const refine = w.refine!;
  if (result.type !== refine.draft && result.type !== refine.evaluation) return unchanged(state);
  if (state.results.some((r) => sameEvent(r, result)) || state.late.includes(result.id)) return unchanged(state);
  const round = roundOf(result);
  if (state.status !== "running" || round === undefined || round !== state.round) {
    return {
      state: { ...state, late: [...state.late, result.id], version: state.version + 1 },
      emits: [],
      changed: true,
    };
  }
  const next = { ...state, results: [...state.results, result], version: state.version + 1 };
  if (result.type !== refine.evaluation) return { state: next, emits: [], changed: true };
  const vote = refine.judge({ ...input(w, next, PENDING, []), round });
  const hop = hopAfter(next, result);
  if (vote.vote === "approve") {
    const reasons = [vote.reason ?? `passed on round ${round}`];
    return finish(
      w,
      next,
      { decision: "approve", by: "votes", conflict: false, reasons },
      { eventId: result.id },
      hop,
      now,
      [],
    );
  }
  if (vote.vote === "reject" && round < refine.maxRounds) {
    const again = { ...next, round: round + 1 };
    return { state: again, emits: [roundRequest(w, again, round + 1, result)], changed: true };
  }
  const reasons = [
    vote.vote === "review" ? `round ${round} needs a person` : `no passing draft after ${round} rounds`,
    ...(vote.reason ? [vote.reason] : []),
  ];
  if (w.approval) return askHuman(w, next, result, now, [], reasons, false);
  return finish(
    w,
    next,
    { decision: "reject", by: "votes", conflict: false, reasons },
    { eventId: result.id },
    hop,
    now,
    [],
  );
}

const hopAfter = (state: InstanceState, cause?: Result) =>
  Math.max(state.start.hopcount, cause?.hopcount ?? 0, ...state.results.map((r) => r.hopcount)) + 1;

/** The join is satisfied (or the deadline says decide): ask a human, or decide. */
function conclude(
  w: Workflow,
  state: InstanceState,
  cause: Result,
  now: number,
  missing: string[],
  forceReview = false,
): Transition {
  const weighed = weigh(w, state.results);
  const needsHuman = forceReview || weighed.decision === "review";
  if (needsHuman && w.approval) return askHuman(w, state, cause, now, missing, weighed.reasons, weighed.conflict);
  // Without an approval step, "ask a human" cannot happen: the cautious reading is a rejection.
  const decision = weighed.decision === "approve" ? "approve" : "reject";
  const verdict: Verdict = { ...weighed, decision, by: missing.length > 0 ? "deadline" : weighed.by };
  return finish(w, state, verdict, { eventId: cause.id }, hopAfter(state, cause), now, missing);
}

/** Waits for a person: the pending verdict is a rejection until someone grants it. */
function askHuman(
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

function finish(
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

/** An alarm: applies whichever deadline has passed. Firing twice, or early, changes nothing. */
export function onAlarm(w: Workflow, state: InstanceState, now: number): Transition {
  if (state.status === "running" && now >= state.deadlineAt) {
    const missing = missingSlots(w, state.results);
    const cause = state.results.at(-1) ?? state.start;
    if (w.onTimeout === "decide") return conclude(w, state, cause, now, missing);
    if (w.onTimeout === "approval") return conclude(w, state, cause, now, missing, true);
    return {
      state: {
        ...state,
        status: "timed_out",
        outcome: `${w.name}.timed_out`,
        completedAt: now,
        version: state.version + 1,
      },
      emits: [
        {
          key: "timeout",
          type: `${w.name}.timed_out`,
          data: { workflowId: state.id, workflow: w.name, missing, received: state.results.map((r) => r.type) },
          cause: { eventId: state.start.id },
          hopcount: hopAfter(state),
        },
      ],
      changed: true,
    };
  }
  if (
    state.status === "awaiting_approval" &&
    state.approvalDeadlineAt !== undefined &&
    now >= state.approvalDeadlineAt
  ) {
    const grant = w.approval?.onTimeout === "grant";
    const answer: Answer = {
      decision: grant ? "granted" : "denied",
      by: "agentwire",
      reason: "approval deadline passed",
    };
    return decideApproval(w, state, answer, now, true);
  }
  return unchanged(state);
}

export type ApprovalResult = { ok: true; transition: Transition } | { ok: false; status: Status };

/** A human's answer. Only a workflow that is waiting can take one: twice, or too late, is refused. */
export interface Answer {
  decision: "granted" | "denied";
  by: string;
  reason: string;
}

export function approval(w: Workflow, state: InstanceState, answer: Answer, now: number): ApprovalResult {
  if (state.status !== "awaiting_approval") return { ok: false, status: state.status };
  return { ok: true, transition: decideApproval(w, state, answer, now, false) };
}

function decideApproval(w: Workflow, state: InstanceState, answer: Answer, now: number, timedOut: boolean): Transition {
  const { decision, by, reason } = answer;
  const approvalEmit: Emit = {
    key: "approval",
    type: `approval.${decision}`,
    data: { workflowId: state.id, workflow: w.name, by, reason },
    cause: { emitKey: "review" },
    hopcount: hopAfter(state) + 1,
  };
  const verdict: Verdict = {
    decision: decision === "granted" ? "approve" : "reject",
    by: timedOut ? "approval_timeout" : "human",
    conflict: state.verdict?.conflict ?? false,
    reasons: [...(state.verdict?.reasons ?? []), `${decision} by ${by}: ${reason}`],
    approver: { by, reason },
  };
  const missing = missingSlots(w, state.results);
  return finish(w, state, verdict, { emitKey: "approval" }, hopAfter(state) + 2, now, missing, [approvalEmit]);
}

/** When the coordinator must next wake up for this instance, if ever. */
export function wakeAt(state: InstanceState): number | undefined {
  if (state.status === "running") return state.deadlineAt;
  if (state.status === "awaiting_approval") return state.approvalDeadlineAt;
  return undefined;
}

const sameEvent = (a: ResultEvent, b: ResultEvent) => a.source === b.source && a.id === b.id;

function dedupe(results: readonly Result[]): Result[] {
  const seen = new Set<string>();
  return results.filter((r) => {
    const key = `${r.source} ${r.id}`;
    return !seen.has(key) && seen.add(key);
  });
}
