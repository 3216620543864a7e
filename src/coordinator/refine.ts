// A refine loop's transitions: ask for a round's draft, keep the draft, judge the round's evaluation —
// decide, ask for the next round, or ask a person. Pure, like src/coordinator/transitions.ts.
import type { ResultEvent, Verdict, Workflow } from "./define";
import {
  askHuman,
  type Emit,
  finish,
  hopAfter,
  input,
  type InstanceState,
  type Result,
  sameEvent,
  type Transition,
  unchanged,
} from "./state";

const PENDING: Verdict = { decision: "reject", by: "votes", conflict: false, reasons: [] };
const roundOf = (r: ResultEvent) => {
  const n = (r.data as { round?: unknown } | null)?.round;
  return typeof n === "number" ? n : undefined;
};

/** The event asking for round `round`'s draft, caused by the start or the last evaluation. */
export function roundRequest(w: Workflow, state: InstanceState, round: number, cause: Result): Emit {
  const request = w.refine!.request({ ...input(w, state, PENDING, []), round });
  return { key: `round.${round}`, ...request, cause: { eventId: cause.id }, hopcount: hopAfter(state, cause) };
}

/**
 * A refine loop's result: a draft is kept; the current round's evaluation is judged — approve
 * decides, reject asks for the next round (or, after the last, a human), review asks a human. A
 * result of another round (a redelivery, or one that arrives after the loop moved on) is late.
 */
export function refineResult(w: Workflow, state: InstanceState, result: Result, now: number): Transition {
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
