// How a workflow weighs what it has: which slots are filled, whether the join is satisfied, and the
// results' votes under the workflow's conflict policy. Pure.
import { alternatives, type ResultEvent, type Verdict, type Vote, type Workflow } from "./define";

/** Which slots have at least one result. */
export function filledSlots(w: Workflow, results: readonly ResultEvent[]): boolean[] {
  const have = new Set(results.map((r) => r.type));
  return w.join.slots.map((slot) => alternatives(slot).some((t) => have.has(t)));
}

export function joined(w: Workflow, results: readonly ResultEvent[]): boolean {
  const filled = filledSlots(w, results).filter(Boolean).length;
  switch (w.join.mode) {
    case "all":
      return filled === w.join.slots.length;
    case "any":
    case "first":
      return filled >= 1;
    case "quorum":
      return filled >= w.join.k;
  }
}

export const missingSlots = (w: Workflow, results: readonly ResultEvent[]) =>
  w.join.slots.filter((_, i) => !filledSlots(w, results)[i]);

/** Weighs the results' votes under the workflow's conflict policy. */
export function weigh(
  w: Workflow,
  results: readonly ResultEvent[],
): Omit<Verdict, "decision"> & {
  decision: "approve" | "reject" | "review";
} {
  const votes = results.flatMap((r) => {
    if (r.budgetLimited && w.onBudgetLimited === "review") {
      return [
        {
          vote: "review" as const,
          reason: `${r.type} was decided without the escalation it needed (budget)`,
          type: r.type,
        },
      ];
    }
    const vote = w.votes?.[r.type]?.(r);
    return vote ? [{ ...vote, type: r.type }] : [];
  });
  const reasonsOf = (v: Vote["vote"]) => votes.filter((x) => x.vote === v).flatMap((x) => (x.reason ? [x.reason] : []));
  const kinds = new Set(votes.map((v) => v.vote));
  const conflict = kinds.size > 1;
  const policy = w.conflicts ?? "veto";
  let decision: Vote["vote"];
  let by: Verdict["by"] = "votes";
  if (policy === "veto") {
    decision = kinds.has("reject") ? "reject" : kinds.has("review") ? "review" : "approve";
    if (conflict && decision === "reject") by = "veto";
  } else if (policy === "escalate") {
    decision = conflict ? "review" : (votes[0]?.vote ?? "approve");
  } else {
    const rank = (type: string) => {
      const i = policy.priority.indexOf(type);
      return i === -1 ? policy.priority.length : i;
    };
    const top = [...votes].sort((a, b) => rank(a.type) - rank(b.type))[0];
    decision = top?.vote ?? "approve";
    if (conflict) by = "priority";
    return {
      decision,
      by,
      conflict,
      reasons: top?.reason ? [top.reason, ...reasonsOf(decision).filter((r) => r !== top.reason)] : reasonsOf(decision),
    };
  }
  return { decision, by, conflict, reasons: reasonsOf(decision) };
}
