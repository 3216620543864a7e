// The workflow state machine alone: pure functions, no bindings.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineCatalog, external, internal } from "../src/bus/catalog";
import {
  all,
  any,
  approve,
  first,
  type Join,
  quorum,
  reject,
  review,
  workflowDefiner,
} from "../src/coordinator/define";
import {
  addResult,
  approval,
  type InstanceState,
  onAlarm,
  type Result,
  start,
  type Transition,
  wakeAt,
} from "../src/coordinator/transitions";
import orderWorkflow from "../agents/order-workflow";

const catalog = defineCatalog({
  "job.started": external(z.object({ n: z.number() })),
  "a.done": internal(z.object({ ok: z.boolean() })),
  "a.failed": internal(z.object({ why: z.string() })),
  "b.done": internal(z.object({ ok: z.boolean() })),
  "c.done": internal(z.object({ ok: z.boolean() })),
  "c.needs_review": internal(z.object({ why: z.string() })),
  "job.finished": internal(z.object({ seen: z.array(z.string()), decision: z.string(), reasons: z.array(z.string()) })),
  "job.review": internal(z.object({ reasons: z.array(z.string()) })),
  "job.timed_out": internal(z.object({})),
  "approval.granted": internal(z.object({})),
  "approval.denied": internal(z.object({})),
});
const defineWorkflow = workflowDefiner(catalog);

function jobWorkflow(join: Join, extra: Partial<Parameters<typeof defineWorkflow>[0]> = {}) {
  return defineWorkflow({
    name: "job",
    description: "test",
    startsOn: "job.started",
    join,
    deadlineMs: 1000,
    onTimeout: "timed_out",
    votes: {
      "a.done": ({ data }) => (data.ok ? approve("a ok") : reject("a not ok")),
      "a.failed": ({ data }) => reject(data.why),
      "b.done": ({ data }) => (data.ok ? approve("b ok") : reject("b not ok")),
      "c.needs_review": ({ data }) => review(data.why),
    },
    emits: ["job.finished", "job.review"],
    decide: ({ results, verdict }) => ({
      type: "job.finished",
      data: { seen: Object.keys(results).sort(), decision: verdict.decision, reasons: verdict.reasons },
    }),
    ...extra,
  });
}

let seq = 0;
const ev = (type: string, data: unknown, id = `e${seq++}`): Result => ({ id, type, source: "/t", data, hopcount: 1 });
const startEvent = ev("job.started", { n: 1 }, "start");
const T0 = 1_000_000;

/** Feeds results one by one from a fresh start, returning every transition. */
function run(w: ReturnType<typeof jobWorkflow>, results: Result[], prior: Result[] = []) {
  const transitions: Transition[] = [start(w, "corr-1", { ...startEvent, hopcount: 0 }, prior, T0)];
  for (const r of results) {
    const last = transitions.at(-1) as Transition;
    transitions.push(addResult(w, last.state, r, T0 + 10));
  }
  const emits = transitions.flatMap((t) => t.emits);
  return { state: (transitions.at(-1) as Transition).state, emits, transitions };
}

describe("join modes", () => {
  it("all: waits for every slot, alternatives fill a slot", () => {
    const w = jobWorkflow(all("a.done | a.failed", "b.done"));
    const partial = run(w, [ev("b.done", { ok: true })]);
    expect(partial.state.status).toBe("running");
    expect(partial.emits).toEqual([]);
    const done = run(w, [ev("b.done", { ok: true }), ev("a.failed", { why: "boom" })]);
    expect(done.state.status).toBe("rejected");
    expect(done.emits).toHaveLength(1);
    expect(done.emits[0]).toMatchObject({
      key: "outcome",
      type: "job.finished",
      data: { seen: ["a.failed", "b.done"], decision: "reject" },
    });
  });

  it("any: one slot is enough", () => {
    const w = jobWorkflow(any("a.done", "b.done"));
    const { state, emits } = run(w, [ev("b.done", { ok: true }), ev("a.done", { ok: false })]);
    expect(state.status).toBe("completed");
    expect(emits).toHaveLength(1);
    expect(emits[0]?.data).toMatchObject({ seen: ["b.done"], decision: "approve" });
    expect(state.late).toHaveLength(1);
  });

  it("quorum: k of n slots", () => {
    const w = jobWorkflow(quorum(2, "a.done", "b.done", "c.done"));
    expect(run(w, [ev("a.done", { ok: true })]).state.status).toBe("running");
    const { state, emits } = run(w, [
      ev("a.done", { ok: true }),
      ev("c.done", { ok: true }),
      ev("b.done", { ok: false }),
    ]);
    expect(state.status).toBe("completed");
    expect(emits[0]?.data).toMatchObject({ seen: ["a.done", "c.done"] });
    expect(state.late).toHaveLength(1);
  });

  it("first: the earliest result wins, even among results that came before the start", () => {
    const w = jobWorkflow(first("a.done", "b.done"));
    const early = [ev("b.done", { ok: false }), ev("a.done", { ok: true })];
    const { state, emits } = run(w, [], early);
    expect(emits[0]?.data).toMatchObject({ seen: ["b.done"], decision: "reject" });
    expect(state.late).toEqual([early[1]?.id]);
    // whereas "any" counts everything that arrived before the start
    const anyRun = run(jobWorkflow(any("a.done", "b.done")), [], early);
    expect(anyRun.emits[0]?.data).toMatchObject({ seen: ["a.done", "b.done"] });
  });
});

describe("arrival", () => {
  const w = jobWorkflow(all("a.done", "b.done"));

  it("counts results that arrived before the start", () => {
    const { state, emits } = run(w, [ev("b.done", { ok: true })], [ev("a.done", { ok: true })]);
    expect(state.status).toBe("completed");
    expect(emits).toHaveLength(1);
  });

  it("decides the same whatever the order of arrival", () => {
    const a = ev("a.done", { ok: true });
    const b = ev("b.done", { ok: false });
    const ab = run(w, [a, b]);
    const ba = run(w, [b, a]);
    expect(ab.state.status).toBe(ba.state.status);
    expect(ab.emits[0]?.data).toEqual(ba.emits[0]?.data);
  });

  it("ignores a duplicate result, and emits the outcome once", () => {
    const a = ev("a.done", { ok: true });
    const b = ev("b.done", { ok: true });
    const { transitions, emits } = run(w, [a, a, b, b]);
    expect(transitions[2]?.changed).toBe(false);
    expect(transitions[4]?.changed).toBe(false);
    expect(emits.filter((e) => e.key === "outcome")).toHaveLength(1);
  });

  it("attaches late results without changing the outcome", () => {
    const { state, emits } = run(w, [
      ev("a.done", { ok: true }),
      ev("b.done", { ok: true }),
      ev("a.done", { ok: false }, "late-1"),
    ]);
    expect(state.status).toBe("completed");
    expect(state.late).toEqual(["late-1"]);
    expect(emits).toHaveLength(1);
  });

  it("ignores events that are not results of the join", () => {
    const { transitions } = run(w, [ev("c.done", { ok: true })]);
    expect(transitions[1]?.changed).toBe(false);
  });
});

describe("conflicts", () => {
  const results = [ev("a.done", { ok: true }), ev("b.done", { ok: false })];

  it("veto: any rejecting result wins", () => {
    const { state } = run(jobWorkflow(all("a.done", "b.done"), { conflicts: "veto" }), results);
    expect(state.verdict).toMatchObject({ decision: "reject", by: "veto", conflict: true, reasons: ["b not ok"] });
  });

  it("priority: the highest-ranked result type decides", () => {
    const { state } = run(
      jobWorkflow(all("a.done", "b.done"), { conflicts: { priority: ["a.done", "b.done"] } }),
      results,
    );
    expect(state.verdict).toMatchObject({ decision: "approve", by: "priority", conflict: true, reasons: ["a ok"] });
    const other = run(jobWorkflow(all("a.done", "b.done"), { conflicts: { priority: ["b.done", "a.done"] } }), results);
    expect(other.state.verdict).toMatchObject({ decision: "reject", by: "priority" });
  });

  it("escalate: a disagreement goes to a human", () => {
    const w = jobWorkflow(all("a.done", "b.done"), {
      conflicts: "escalate",
      approval: {
        deadlineMs: 500,
        onTimeout: "deny",
        request: ({ verdict }) => ({ type: "job.review", data: { reasons: verdict.reasons } }),
      },
    });
    const { state, emits } = run(w, results);
    expect(state.status).toBe("awaiting_approval");
    expect(emits).toEqual([expect.objectContaining({ key: "review", type: "job.review" })]);
    const unanimous = run(w, [ev("a.done", { ok: true }), ev("b.done", { ok: true })]);
    expect(unanimous.state.status).toBe("completed");
  });

  it("a review vote without an approval step is a rejection", () => {
    const { state } = run(jobWorkflow(all("a.done", "c.needs_review")), [
      ev("a.done", { ok: true }),
      ev("c.needs_review", { why: "hmm" }),
    ]);
    expect(state.status).toBe("rejected");
  });
});

describe("deadlines", () => {
  const results = [ev("a.done", { ok: true })];

  it("timed_out: emits <workflow>.timed_out with what is missing, once", () => {
    const w = jobWorkflow(all("a.done", "b.done"));
    const { state } = run(w, results);
    expect(wakeAt(state)).toBe(T0 + 1000);
    expect(onAlarm(w, state, T0 + 999).changed).toBe(false); // early: nothing
    const fired = onAlarm(w, state, T0 + 1000);
    expect(fired.state.status).toBe("timed_out");
    expect(fired.emits).toEqual([
      expect.objectContaining({
        key: "timeout",
        type: "job.timed_out",
        data: { workflowId: "corr-1", workflow: "job", missing: ["b.done"], received: ["a.done"] },
      }),
    ]);
    // an alarm firing twice changes nothing the second time
    expect(onAlarm(w, fired.state, T0 + 2000).changed).toBe(false);
    expect(wakeAt(fired.state)).toBeUndefined();
  });

  it("decide: decides on the partial results", () => {
    const w = jobWorkflow(all("a.done", "b.done"), { onTimeout: "decide" });
    const fired = onAlarm(w, run(w, results).state, T0 + 5000);
    expect(fired.state.status).toBe("completed");
    expect(fired.state.verdict?.by).toBe("deadline");
    expect(fired.emits[0]?.data).toMatchObject({ seen: ["a.done"] });
  });

  it("approval: asks a human", () => {
    const w = jobWorkflow(all("a.done", "b.done"), {
      onTimeout: "approval",
      approval: {
        deadlineMs: 500,
        onTimeout: "grant",
        request: ({ verdict }) => ({ type: "job.review", data: { reasons: verdict.reasons } }),
      },
    });
    const fired = onAlarm(w, run(w, results).state, T0 + 5000);
    expect(fired.state.status).toBe("awaiting_approval");
    expect(wakeAt(fired.state)).toBe(T0 + 5500);
    const defaulted = onAlarm(w, fired.state, T0 + 5500);
    expect(defaulted.state.status).toBe("completed");
    expect(defaulted.state.verdict).toMatchObject({ by: "approval_timeout", decision: "approve" });
    expect(defaulted.emits.map((e) => e.type)).toEqual(["approval.granted", "job.finished"]);
  });
});

describe("approvals", () => {
  const w = jobWorkflow(all("a.done", "c.needs_review"), {
    approval: {
      deadlineMs: 500,
      onTimeout: "deny",
      request: ({ verdict }) => ({ type: "job.review", data: { reasons: verdict.reasons } }),
    },
  });
  const waiting = (): InstanceState => run(w, [ev("a.done", { ok: true }), ev("c.needs_review", { why: "odd" })]).state;

  it("waits, then a grant completes it with the approver recorded", () => {
    const state = waiting();
    expect(state.status).toBe("awaiting_approval");
    const granted = approval(w, state, { decision: "granted", by: "alice", reason: "known customer" }, T0 + 20);
    expect(granted.ok).toBe(true);
    if (!granted.ok) return;
    expect(granted.transition.state.status).toBe("completed");
    expect(granted.transition.state.verdict).toMatchObject({
      by: "human",
      approver: { by: "alice", reason: "known customer" },
    });
    expect(granted.transition.emits.map((e) => [e.key, e.type])).toEqual([
      ["approval", "approval.granted"],
      ["outcome", "job.finished"],
    ]);
    // twice: refused
    expect(approval(w, granted.transition.state, { decision: "granted", by: "bob", reason: "again" }, T0 + 30)).toEqual(
      {
        ok: false,
        status: "completed",
      },
    );
  });

  it("a denial rejects", () => {
    const denied = approval(w, waiting(), { decision: "denied", by: "bob", reason: "no" }, T0 + 20);
    expect(denied.ok && denied.transition.state.status).toBe("rejected");
  });

  it("the approval deadline applies the default", () => {
    const state = waiting();
    const defaulted = onAlarm(w, state, state.approvalDeadlineAt ?? 0);
    expect(defaulted.state.status).toBe("rejected");
    expect(defaulted.emits[0]).toMatchObject({ type: "approval.denied", data: { by: "agentwire" } });
  });

  it("refuses an answer for a workflow that is not waiting", () => {
    const running = run(w, [ev("a.done", { ok: true })]).state;
    expect(approval(w, running, { decision: "granted", by: "alice", reason: "" }, T0)).toEqual({
      ok: false,
      status: "running",
    });
  });
});

describe("the order workflow's decisions", () => {
  const placed = {
    ...ev(
      "order.placed",
      { orderId: "o1", amount: 10, customerId: "c", currency: "USD", items: [], shippingAddress: { country: "US" } },
      "o1-start",
    ),
    hopcount: 0,
  };
  const fraud = (risk: string) => ev("fraud.assessed", { orderId: "o1", risk, score: 10, reasons: ["r"] });
  const reserved = ev("inventory.reserved", { orderId: "o1", reservationId: "o1", items: [] });
  const unavailable = ev("inventory.unavailable", {
    orderId: "o1",
    reason: "insufficient_stock",
    message: "none left",
  });
  const quoted = ev("shipping.quoted", { orderId: "o1", carrier: "UPS", costCents: 599, etaDays: 3 });
  const decideOrder = (results: Result[]) => {
    let t = start(orderWorkflow, "o1", placed, [], T0);
    for (const r of results) t = addResult(orderWorkflow, t.state, r, T0);
    return t;
  };

  it("confirms low risk with stock reserved", () => {
    const t = decideOrder([fraud("low"), reserved, quoted]);
    expect(t.emits[0]).toMatchObject({
      type: "order.confirmed",
      data: { orderId: "o1", reservationId: "o1", carrier: "UPS" },
    });
  });

  it("rejects high risk even with stock reserved (a conflict settled by veto)", () => {
    const t = decideOrder([reserved, quoted, fraud("high")]);
    expect(t.state.verdict).toMatchObject({ decision: "reject", by: "veto", conflict: true });
    expect(t.emits[0]).toMatchObject({ type: "order.rejected", data: { reasons: ["fraud risk high (score 10)"] } });
  });

  it("rejects when stock is unavailable", () => {
    const t = decideOrder([fraud("low"), unavailable, quoted]);
    expect(t.emits[0]).toMatchObject({ type: "order.rejected", data: { reasons: ["stock unavailable: none left"] } });
  });

  it("asks for review at medium risk", () => {
    const t = decideOrder([fraud("medium"), reserved, quoted]);
    expect(t.state.status).toBe("awaiting_approval");
    expect(t.emits[0]).toMatchObject({ type: "order.review_requested", data: { orderId: "o1", risk: "medium" } });
  });
});

describe("budget-limited results", () => {
  it("send an order to a human when its fraud assessment could not escalate", () => {
    const placed = { ...ev("order.placed", { orderId: "o2" }, "o2-start"), hopcount: 0 };
    const limited = {
      ...ev("fraud.assessed", { orderId: "o2", risk: "low", score: 5, reasons: [] }),
      budgetLimited: true,
    };
    let t = start(orderWorkflow, "o2", placed, [], T0);
    for (const r of [
      limited,
      ev("inventory.reserved", { orderId: "o2", reservationId: "o2", items: [] }),
      ev("shipping.quoted", { orderId: "o2", carrier: "UPS", costCents: 1, etaDays: 1 }),
    ]) {
      t = addResult(orderWorkflow, t.state, r, T0);
    }
    expect(t.state.status).toBe("awaiting_approval");
    expect(t.emits[0]).toMatchObject({ type: "order.review_requested" });
    expect(t.state.verdict?.reasons[0]).toContain("budget");
  });
});
