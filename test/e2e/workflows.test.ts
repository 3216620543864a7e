// The order workflow end to end through `wrangler dev`: confirmation, and a human approval.
import { describe, expect, it } from "vitest";
import { adminGet, orderPlaced, postSigned, type Target } from "../../scripts/lib/client";
import { useDevServer } from "./support";

const target = useDevServer();

interface WorkflowView {
  status: string;
  outcome: string | null;
  events: { type: string; children: { type: string; children: { type: string }[] }[] }[];
}

async function waitForWorkflow(t: Target, id: string, status: string): Promise<WorkflowView> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { status: code, body } = await adminGet<WorkflowView>(t, `/v1/workflows/${id}`);
    if (code === 200 && body.status === status) return body;
    if (Date.now() > deadline) throw new Error(`workflow ${id} did not reach ${status}: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const answer = (id: string, verb: "approve" | "reject", body: unknown) =>
  fetch(`${target.url}/v1/workflows/${id}/${verb}`, {
    method: "POST",
    headers: { authorization: `Bearer ${target.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("the order workflow through wrangler dev", () => {
  it("confirms a low-risk order and shows how it got there", async () => {
    const order = orderPlaced();
    expect((await postSigned(target, JSON.stringify(order))).status).toBe(202);
    const view = await waitForWorkflow(target, order.correlationid, "completed");
    expect(view.outcome).toBe("order.confirmed");
    const [root] = view.events;
    expect(root?.type).toBe("order.placed");
    const second = root?.children.flatMap((c) => c.children.map((g) => g.type));
    expect(second).toContain("order.confirmed");
  });

  it("asks a human about a medium-risk order, and takes one answer only", async () => {
    const order = orderPlaced({ amount: 3000 });
    expect((await postSigned(target, JSON.stringify(order))).status).toBe(202);
    await waitForWorkflow(target, order.correlationid, "awaiting_approval");
    const res = await answer(order.correlationid, "approve", { by: "ops@example.com", reason: "verified by phone" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "completed", outcome: "order.confirmed" });
    expect((await answer(order.correlationid, "reject", { by: "someone", reason: "late" })).status).toBe(409);
    const view = await waitForWorkflow(target, order.correlationid, "completed");
    expect(view.outcome).toBe("order.confirmed");
  });
});
