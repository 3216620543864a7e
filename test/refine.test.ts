// Refine loops in the workflow state machine (pure), with the example's support-reply workflow: a
// pass on round 2, rounds exhausted (then a person), a stale round, hops that count the rounds, and
// a judge whose policy check in code overrides an evaluator's pass on a leaking draft.
import { describe, expect, it } from "vitest";
import { addResult, approval, type InstanceState, onAlarm, type Result, start } from "../src/coordinator/transitions";
import { policyProblems } from "../agents/support-policy";
import supportReply from "../agents/support-reply-workflow";

const T0 = 1_000_000;
const triaged: Result = {
  id: "evt-triaged",
  type: "support.ticket.triaged",
  source: "/agents/support-triage",
  hopcount: 1,
  data: {
    ticketId: "tkt_1",
    customerId: "cus_1",
    subject: "Refund?",
    body: "I was charged twice.",
    category: "billing",
    priority: "normal",
    summary: "Charged twice",
    suggestedReply: "",
  },
};
const CLEAN =
  "Hello, thank you for telling us. Our billing team is looking at the double charge and will write again soon.";
let n = 0;
const drafted = (round: number, reply: string, hopcount: number): Result => ({
  id: `draft-${++n}`,
  type: "support.reply.drafted",
  source: "/agents/reply-drafter",
  hopcount,
  data: { ticketId: "tkt_1", customerId: "cus_1", round, reply },
});
const evaluated = (round: number, pass: boolean, hopcount: number, feedback: string[] = []): Result => ({
  id: `eval-${++n}`,
  type: "support.reply.evaluated",
  source: "/agents/reply-policy",
  hopcount,
  data: { ticketId: "tkt_1", round, pass, score: pass ? 0.9 : 0.2, feedback, violations: [] },
});

/** One round: the draft and its evaluation, each at the next hop after the last emit. */
function round(
  state: InstanceState,
  r: number,
  reply: string,
  pass: boolean,
  requestHop: number,
  feedback: string[] = [],
) {
  const a = addResult(supportReply, state, drafted(r, reply, requestHop + 1), T0 + r);
  expect(a.emits).toEqual([]);
  return addResult(supportReply, a.state, evaluated(r, pass, requestHop + 2, feedback), T0 + r);
}

describe("a refine loop", () => {
  it("asks for round 1 at the start, and finishes when round 2 passes", () => {
    const s = start(supportReply, "corr-1", triaged, [], T0);
    expect(s.state.round).toBe(1);
    expect(s.emits).toEqual([
      expect.objectContaining({
        key: "round.1",
        type: "support.reply.requested",
        hopcount: 2,
        data: expect.objectContaining({ round: 1, feedback: [], subject: "Refund?" }),
      }),
    ]);
    const r1 = round(s.state, 1, "Dear customer, we will refund you in full.", false, 2, ["do not promise a refund"]);
    expect(r1.state).toMatchObject({ status: "running", round: 2 });
    expect(r1.emits).toEqual([
      expect.objectContaining({
        key: "round.2",
        hopcount: 5,
        data: expect.objectContaining({
          round: 2,
          previousReply: "Dear customer, we will refund you in full.",
          feedback: expect.arrayContaining(["do not promise a refund"]),
        }),
      }),
    ]);
    const r2 = round(r1.state, 2, CLEAN, true, 5);
    expect(r2.state).toMatchObject({ status: "completed", outcome: "support.reply.approved" });
    expect(r2.emits).toEqual([
      expect.objectContaining({
        key: "outcome",
        type: "support.reply.approved",
        hopcount: 8,
        data: { ticketId: "tkt_1", reply: CLEAN, rounds: 2, reasons: ["passed the policy on round 2"] },
      }),
    ]);
  });

  it("after three failed rounds asks a person, who can still approve the last draft", () => {
    let state = start(supportReply, "corr-2", triaged, [], T0).state;
    let hop = 2;
    for (const r of [1, 2, 3]) {
      const t = round(state, r, "We will refund you by Monday.", false, hop, ["no promises"]);
      state = t.state;
      hop += 3;
      if (r < 3) expect(t.emits[0]).toMatchObject({ key: `round.${r + 1}` });
      else {
        expect(t.state.status).toBe("awaiting_approval");
        expect(t.emits).toEqual([
          expect.objectContaining({
            type: "support.reply.review_requested",
            hopcount: 11,
            data: expect.objectContaining({
              rounds: 3,
              reasons: expect.arrayContaining(["no passing draft after 3 rounds"]),
            }),
          }),
        ]);
      }
    }
    const answered = approval(supportReply, state, { decision: "granted", by: "ops@shop", reason: "fine" }, T0 + 10);
    expect(answered.ok && answered.transition.emits.map((e) => e.type)).toEqual([
      "approval.granted",
      "support.reply.approved",
    ]);
  });

  it("does not let an evaluator's pass ship a draft that breaks the policy: the judge checks in code", () => {
    const s = start(supportReply, "corr-3", triaged, [], T0);
    const leaky = "Write to me at jo@shop.example or call +1 415 555 0100 and I will sort it out.";
    expect(policyProblems(leaky, "cus_1")).toEqual([
      "the reply contains an email address",
      "the reply contains a phone number",
    ]);
    const r1 = round(s.state, 1, leaky, true, 2);
    expect(r1.state).toMatchObject({ status: "running", round: 2 });
    expect(r1.emits[0]?.data).toMatchObject({ feedback: [], previousReply: leaky });
  });

  it("counts a result from another round as late and changes nothing else", () => {
    const s = start(supportReply, "corr-4", triaged, [], T0);
    const r1 = round(s.state, 1, "We will refund you.", false, 2);
    const stale = addResult(supportReply, r1.state, evaluated(1, true, 4), T0 + 5);
    expect(stale.emits).toEqual([]);
    expect(stale.state).toMatchObject({ status: "running", round: 2 });
    expect(stale.state.late).toHaveLength(1);
  });

  it("sends a fraud ticket's passing reply to a person anyway", () => {
    const s = start(
      supportReply,
      "corr-5",
      { ...triaged, data: { ...(triaged.data as object), category: "fraud" } },
      [],
      T0,
    );
    const r1 = round(s.state, 1, CLEAN, true, 2);
    expect(r1.state.status).toBe("awaiting_approval");
    expect(r1.emits[0]?.type).toBe("support.reply.review_requested");
  });

  it("at its deadline asks a person (or, deciding on its own, rejects): a draft that never passed is never approved", () => {
    const s = start(supportReply, "corr-6", triaged, [], T0);
    const r1 = round(s.state, 1, "We will refund you.", false, 2);
    const late = T0 + supportReply.deadlineMs + 1;
    const asked = onAlarm(supportReply, r1.state, late);
    expect(asked.state.status).toBe("awaiting_approval");
    expect(asked.emits[0]).toMatchObject({
      type: "support.reply.review_requested",
      data: { reasons: ["no draft passed before the deadline (round 2)"] },
    });
    const deciding = { ...supportReply, onTimeout: "decide" as const };
    const decided = onAlarm(deciding, r1.state, late);
    expect(decided.state).toMatchObject({ status: "rejected", outcome: "support.reply.rejected" });
    expect(decided.state.verdict).toMatchObject({ decision: "reject", by: "deadline" });
  });
});
