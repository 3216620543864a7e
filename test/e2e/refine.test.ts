// Tools, steps and refine loops end to end: `wrangler dev` with the example registry and a fake
// Messages API on loopback (the real SDK on the other side). support-triage looks the customer up
// with its tool (a crash between turns costs no second call for the first), then the support-reply
// workflow loops the drafter and the policy evaluator: one ticket passes on round 2 after the code
// policy overrules a lax evaluator's pass of a leaking draft; one never passes and goes to a person.
import { afterAll, describe, expect, it } from "vitest";
import { adminGet, orderPlaced, postSigned } from "../../scripts/lib/client";
import { serveModel } from "../../scripts/lib/model-server";
import { type FakeRequest, type FakeReply, fakeMessagesApi } from "../support/fake-anthropic";
import { useDevServer } from "./support";

const agentOf = (req: FakeRequest) => /^You are "([^"]+)"/.exec(req.system)?.[1] ?? "";
const ticketOf = (req: FakeRequest) => /"ticketId": "([^"]+)"/.exec(req.user)?.[1] ?? "";
const roundOf = (req: FakeRequest) => Number(/"round": (\d+)/.exec(req.user)?.[1] ?? 0);
const answer = (decision: unknown, confidence = 0.92): FakeReply => ({
  answer: { decision, confidence, escalate: false, rationale: "e2e" },
});
const CLEAN =
  "Hello, thank you for writing. Our billing team is checking the double charge and will write to you again soon.";

let crashOnce = true;
const fake = fakeMessagesApi((req) => {
  const agent = agentOf(req);
  const ticket = ticketOf(req);
  if (agent === "fraud-screen") return answer({ risk: "low", score: 5, reasons: ["e2e"] });
  if (agent === "support-triage") {
    if (req.toolResults.length === 0) {
      const customerId = /"customerId": "([^"]+)"/.exec(req.user)?.[1] ?? "";
      return { toolUses: [{ name: "customer_history", input: { customerId } }] };
    }
    if (ticket === "tkt_crash" && crashOnce) {
      crashOnce = false;
      return { status: 529, error: { type: "overloaded_error", message: "Overloaded" } };
    }
    return answer({
      category: "billing",
      priority: "normal",
      summary: "Charged twice",
      suggestedReply: "We are on it.",
    });
  }
  if (agent === "reply-drafter") {
    if (ticket === "tkt_never") return answer({ reply: "We will refund you in full by Monday." });
    return answer({ reply: roundOf(req) === 1 ? "Write to me at jo@shop.example and I will sort it." : CLEAN });
  }
  if (agent === "reply-policy") {
    // A lax evaluator for tkt_pass2 (it passes the leak); a strict one for tkt_never.
    if (ticket === "tkt_never")
      return answer({ pass: false, score: 0.2, feedback: ["do not promise a refund or a date"] });
    return answer({ pass: true, score: 0.95, feedback: [] }, 0.95);
  }
  return { status: 400, error: { type: "invalid_request_error", message: `e2e: no script for ${agent}` } };
});
const model = await serveModel(fake.fetch);
afterAll(() => model.close());

const target = useDevServer({
  ANTHROPIC_API_KEY: "sk-ant-e2e",
  ANTHROPIC_BASE_URL: model.baseUrl,
});

const ticketEvent = (ticketId: string, customerId: string) => ({
  specversion: "1.0",
  id: `evt_${ticketId}`,
  source: "/helpdesk",
  type: "support.ticket.opened",
  correlationid: `corr_${ticketId}`,
  datacontenttype: "application/json",
  data: { ticketId, customerId, subject: "Charged twice", body: "My card was charged twice for one order." },
});

interface Logged {
  event: { type: string; hopcount: number; data: { round?: number } & Record<string, unknown> };
}
/** Waits for the correlation's support-reply workflow to reach `status`; answers its events, oldest first. */
async function workflowUntil(id: string, status: string, timeoutMs = 40_000): Promise<Logged[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status: code, body } = await adminGet<{ instances: { workflow: string; status: string }[] }>(
      target,
      `/v1/workflows/${id}`,
    );
    if (code === 200 && body.instances.some((i) => i.workflow === "support-reply" && i.status === status)) {
      const page = await adminGet<{ events: Logged[] }>(target, `/v1/events?correlationid=${id}&limit=100`);
      return page.body.events.reverse();
    }
    if (Date.now() > deadline) throw new Error(`workflow ${id} never reached ${status}: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const typesOf = (events: Logged[]) =>
  events.map((e) => `${e.event.type}${e.event.data.round ? `#${e.event.data.round}` : ""}`);
const requestsOf = (agent: string, ticket: string) =>
  fake.requests.filter((r) => agentOf(r) === agent && ticketOf(r) === ticket);

describe("tools, steps and refine loops against wrangler dev", () => {
  it("loops a draft back once: the code policy overrules a lax evaluator, round 2 passes", async () => {
    const res = await postSigned(target, JSON.stringify(ticketEvent("tkt_pass2", "cus_b")));
    expect(res.status).toBe(202);
    const w = await workflowUntil("corr_tkt_pass2", "completed");
    const types = typesOf(w);
    for (const t of ["support.reply.requested", "support.reply.drafted", "support.reply.evaluated"]) {
      expect(types.filter((x) => x.startsWith(`${t}#`))).toEqual([`${t}#1`, `${t}#2`]);
    }
    const approved = w.find((e) => e.event.type === "support.reply.approved");
    expect(approved?.event.data).toMatchObject({ reply: CLEAN, rounds: 2 });
    const round1 = w.find((e) => e.event.type === "support.reply.evaluated" && e.event.data.round === 1);
    expect(round1?.event.data).toMatchObject({ pass: false, violations: ["the reply contains an email address"] });
    // The draft request of round 2 carried the evaluation back to the drafter.
    expect(requestsOf("reply-drafter", "tkt_pass2")[1]?.user).toContain("the reply contains an email address");
  });

  it("ends a loop that never passes after three rounds, the last drafted by the stronger model, with a person", async () => {
    await postSigned(target, JSON.stringify(ticketEvent("tkt_never", "cus_n")));
    const w = await workflowUntil("corr_tkt_never", "awaiting_approval");
    expect(typesOf(w).filter((t) => t.startsWith("support.reply.drafted"))).toHaveLength(3);
    expect(requestsOf("reply-drafter", "tkt_never").map((r) => r.model)).toEqual([
      "claude-haiku-5-5",
      "claude-haiku-5-5",
      "claude-sonnet-5-5",
    ]);
    const review = w.find((e) => e.event.type === "support.reply.review_requested");
    expect(review?.event.hopcount).toBe(11);
  });

  it("looks the customer up with its tool; a crash between turns is retried without paying again", async () => {
    await postSigned(target, JSON.stringify(orderPlaced({ orderId: "ord_c1", customerId: "cus_c" })));
    await new Promise((r) => setTimeout(r, 500));
    await postSigned(target, JSON.stringify(ticketEvent("tkt_crash", "cus_c")));
    await workflowUntil("corr_tkt_crash", "completed");
    const triage = requestsOf("support-triage", "tkt_crash");
    // turn 1 (tool call), turn 2 (529), turn 2 again: never turn 1 twice
    expect(triage).toHaveLength(3);
    expect(triage[2]?.toolResults[0]?.content).toContain("ord_c1");
    const { body } = await adminGet<{
      runs: { agent: string; attempt: number; steps: { kind: string; attempt: number; tool?: string }[] }[];
    }>(target, "/v1/events/evt_tkt_crash");
    const run = body.runs.find((r) => r.agent === "support-triage");
    expect(run?.attempt).toBe(2);
    expect(run?.steps.map((s) => `${s.tool ?? s.kind}@${s.attempt}`)).toEqual([
      "model@1",
      "customer_history@1",
      "model@2",
    ]);
  });
});
