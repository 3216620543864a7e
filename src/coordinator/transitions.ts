// The workflow state machine, as pure functions: (definition, state, input, now) → (state, emits).
// The Durable Object only stores what these return and publishes the emits; it decides nothing.
import { alternatives, type Verdict, type Workflow } from "./define";
import { refineResult, roundRequest } from "./refine";
import {
  askHuman,
  type Emit,
  finish,
  hopAfter,
  type InstanceState,
  type Result,
  sameEvent,
  type Status,
  type Transition,
  unchanged,
} from "./state";
import { joined, missingSlots, weigh } from "./weigh";

export type { Emit, EmitKey, InstanceState, Result, Status, Transition } from "./state";
export { filledSlots, joined, weigh } from "./weigh";

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

/** The join is satisfied (or the deadline says decide): ask a human, or decide. */
function conclude(
  w: Workflow,
  state: InstanceState,
  cause: Result,
  now: number,
  missing: string[],
  forceReview = false,
): Transition {
  // A refine loop reaches here only at its deadline: no draft has passed, so nothing approves it.
  const weighed = w.refine
    ? {
        decision: "reject" as const,
        by: "deadline" as const,
        conflict: false,
        reasons: [`no draft passed before the deadline (round ${state.round ?? 1})`],
      }
    : weigh(w, state.results);
  const needsHuman = forceReview || weighed.decision === "review";
  if (needsHuman && w.approval) return askHuman(w, state, cause, now, missing, weighed.reasons, weighed.conflict);
  // Without an approval step, "ask a human" cannot happen: the cautious reading is a rejection.
  const decision = weighed.decision === "approve" ? "approve" : "reject";
  const verdict: Verdict = { ...weighed, decision, by: missing.length > 0 ? "deadline" : weighed.by };
  return finish(w, state, verdict, { eventId: cause.id }, hopAfter(state, cause), now, missing);
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

function dedupe(results: readonly Result[]): Result[] {
  const seen = new Set<string>();
  return results.filter((r) => {
    const key = `${r.source} ${r.id}`;
    return !seen.has(key) && seen.add(key);
  });
}
