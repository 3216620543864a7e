// `defineWorkflow`: a workflow is data — the event that starts it, the results it joins, how it
// weighs them, what it decides, and what happens at its deadline. The coordinator applies it.
import type { Catalog, DataOf } from "../bus/catalog";

/** One awaited result: an event type, or alternatives written "a.done | a.failed". */
export type Slot = string;

export type Join =
  | { mode: "all"; slots: readonly Slot[] }
  | { mode: "any"; slots: readonly Slot[] }
  | { mode: "quorum"; k: number; slots: readonly Slot[] }
  | { mode: "first"; slots: readonly Slot[] };

/** Every slot must be filled. */
export const all = (...slots: Slot[]): Join => ({ mode: "all", slots });
/** Any one slot; the decision sees every result received by then. */
export const any = (...slots: Slot[]): Join => ({ mode: "any", slots });
/** k of the slots. */
export const quorum = (k: number, ...slots: Slot[]): Join => ({ mode: "quorum", k, slots });
/** The first result to arrive wins; the rest are late. */
export const first = (...slots: Slot[]): Join => ({ mode: "first", slots });

export const alternatives = (slot: Slot): string[] => slot.split("|").map((s) => s.trim());

/** What one result says about the outcome. `review` asks for a human. */
export type Vote = { vote: "approve" | "reject" | "review"; reason?: string };
export const approve = (reason?: string): Vote => ({ vote: "approve", ...(reason ? { reason } : {}) });
export const reject = (reason: string): Vote => ({ vote: "reject", reason });
export const review = (reason: string): Vote => ({ vote: "review", reason });

/**
 * How disagreeing results are settled: `veto` (any reject wins), `{ priority }` (the vote of the
 * highest-ranked result type wins), or `escalate` (a human decides).
 */
export type ConflictPolicy = "veto" | "escalate" | { priority: readonly string[] };

export interface Verdict {
  decision: "approve" | "reject";
  reasons: string[];
  /** How the decision was reached. */
  by: "votes" | "veto" | "priority" | "human" | "approval_timeout" | "deadline";
  conflict: boolean;
  approver?: { by: string; reason: string };
}

export interface ResultEvent<T extends string = string, D = unknown> {
  id: string;
  type: T;
  source: string;
  data: D;
  /** The agent wanted its expensive tier but the budget refused: a cheaper decision stands. */
  budgetLimited?: boolean;
}

export type ResultsOf<C extends Catalog> = { [T in keyof C & string]?: ResultEvent<T, DataOf<C, T>> };

export interface DecideInput<C extends Catalog, S extends keyof C & string> {
  /** The workflow instance id: the correlation id. */
  id: string;
  start: ResultEvent<S, DataOf<C, S>>;
  results: ResultsOf<C>;
  verdict: Verdict;
  /** Slots without a result (non-empty only on a deadline). */
  missing: string[];
  /** A refine workflow's current round, from 1. */
  round?: number;
}

export type OutcomeOf<C extends Catalog, O extends keyof C & string> = {
  [T in O]: { type: T; data: DataOf<C, T> };
}[O];

export interface WorkflowSpec<C extends Catalog, S extends keyof C & string, O extends keyof C & string> {
  /** kebab-case; the timed-out event is `<name>.timed_out`. */
  name: string;
  description: string;
  startsOn: S;
  /** What it waits for. A refine workflow has none: its loop decides when it is done. */
  join?: Join;
  deadlineMs: number;
  /** At the deadline: emit `<name>.timed_out`, decide on what has arrived, or ask a human. */
  onTimeout: "timed_out" | "decide" | "approval";
  votes?: { [T in keyof C & string]?: (result: ResultEvent<T, DataOf<C, T>>) => Vote };
  conflicts?: ConflictPolicy;
  /** A result decided without the escalation it needed (budget exhausted): take it, or ask a human. Default accept. */
  onBudgetLimited?: "accept" | "review";
  /** Every event type `decide` and `approval.request` may return. */
  emits: readonly O[];
  /** Pure: the collected results and the verdict → the outcome event. */
  decide: (input: DecideInput<C, S>) => OutcomeOf<C, O>;
  approval?: {
    deadlineMs: number;
    /** Applied when nobody answers in time. */
    onTimeout: "grant" | "deny";
    /** The event announcing that a human must decide (for example order.review_requested). */
    request: (input: DecideInput<C, S>) => OutcomeOf<C, O>;
  };
  /**
   * A refine loop instead of a join: the workflow asks a producer for a draft (`request`, round 1 at
   * the start), an evaluator judges each draft, and `judge` weighs the round: approve ends the loop
   * (`decide` runs), reject sends it back with the evaluation in `results` for the next `request`,
   * review — or a reject on the last round — asks a human (`approval`; without one, a rejection).
   * Every round is events in the log; each round adds hops, so MAX_HOPS bounds the rounds too.
   */
  refine?: {
    /** The producer's result and the evaluator's; each carries the `round` (from 1) in its data. */
    draft: keyof C & string;
    evaluation: keyof C & string;
    /** 1 to 10. */
    maxRounds: number;
    /** The event asking for round `round`'s draft (one of `emits`). */
    request: (input: DecideInput<C, S> & { round: number }) => OutcomeOf<C, O>;
    /** The round's verdict from its (latest) draft and evaluation in `results`. Pure. */
    judge: (input: DecideInput<C, S> & { round: number }) => Vote;
  };
}

/** The erased form the coordinator works with. */
export interface Workflow {
  kind: "workflow";
  name: string;
  description: string;
  startsOn: string;
  join: Join;
  deadlineMs: number;
  onTimeout: "timed_out" | "decide" | "approval";
  votes?: Record<string, ((result: ResultEvent) => Vote) | undefined>;
  conflicts?: ConflictPolicy;
  onBudgetLimited?: "accept" | "review";
  emits: readonly string[];
  decide: (input: Erased) => { type: string; data: unknown };
  approval?: {
    deadlineMs: number;
    onTimeout: "grant" | "deny";
    request: (input: Erased) => { type: string; data: unknown };
  };
  refine?: {
    draft: string;
    evaluation: string;
    maxRounds: number;
    request: (input: Erased & { round: number }) => { type: string; data: unknown };
    judge: (input: Erased & { round: number }) => Vote;
  };
}

export interface Erased {
  id: string;
  start: ResultEvent;
  results: Record<string, ResultEvent | undefined>;
  verdict: Verdict;
  missing: string[];
  round?: number;
}

/** Every event type a workflow listens to: its start, the alternatives of each slot, a refine loop's results. */
export const listensTo = (w: Workflow): string[] => [
  w.startsOn,
  ...w.join.slots.flatMap(alternatives),
  ...(w.refine ? [w.refine.draft, w.refine.evaluation] : []),
];

/**
 * `defineWorkflow` bound to an event catalog: a workflow is data — the event that starts it, the
 * results it joins, how it weighs them, what it decides, and what happens at its deadline.
 *
 * @example
 * export default defineWorkflow({
 *   name: "order",                       // its timeout event is order.timed_out
 *   startsOn: "order.placed",
 *   join: all("fraud.assessed", "inventory.reserved | inventory.unavailable"), // any(), quorum(k, ...), first()
 *   deadlineMs: 30_000,
 *   onTimeout: "timed_out",              // or "decide" (partial results) or "approval" (ask a human)
 *   votes: { "fraud.assessed": ({ data }) => (data.risk === "high" ? reject("high risk") : approve()) },
 *   conflicts: "veto",                   // or { priority: [types] } or "escalate"
 *   emits: ["order.confirmed", "order.rejected"],
 *   decide: ({ start, verdict }) => ({ type: verdict.decision === "approve" ? "order.confirmed" : "order.rejected", data: {} }),
 * });
 */
export function workflowDefiner<C extends Catalog>(_catalog: C) {
  return function defineWorkflow<const S extends keyof C & string, const O extends keyof C & string>(
    spec: WorkflowSpec<C, S, O>,
  ): Workflow {
    // The coordinator only hands `decide` results of the declared types, which makes the erasure sound.
    return { kind: "workflow", ...spec, join: spec.join ?? { mode: "all", slots: [] } } as unknown as Workflow;
  };
}
