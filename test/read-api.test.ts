// The read API shows, for every run, which model decided on which tier, whether it escalated, what
// it cost and each model call it made; times come as ISO 8601 next to milliseconds.
import { describe, expect, it } from "vitest";
import { adminGet, orderPlaced, postEvents, runsOf, waitFor } from "./support/helpers";

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

interface Call {
  attempt: number;
  tier: string;
  model: string;
  tokens: { input: number; output: number };
  costMicros: number;
  latencyMs: number;
  outcome: string;
  confidence: number | null;
}
interface Run {
  agent: string;
  status: string;
  startedAt: number;
  startedAtIso: string;
  finishedAtIso: string | null;
  model: { model: string; tier: string | null; escalated: boolean; budgetLimited: boolean; costMicros: number } | null;
  calls: Call[];
}

describe("runs in the read API", () => {
  it("carry the deciding model, tier, escalation, cost and each model call, with ISO times", async () => {
    const order = orderPlaced();
    expect((await postEvents(order)).status).toBe(202);
    await waitFor(async () => (await runsOf(order.id)).filter((r) => r.status === "succeeded").length === 3);

    const res = await adminGet(`/v1/events/${order.id}`);
    expect(res.status).toBe(200);
    const view = await res.json<{
      receivedAtIso: string;
      loggedAtIso: string;
      deliveries: { routedAtIso: string }[];
      runs: Run[];
    }>();
    expect(view.receivedAtIso).toMatch(ISO);
    expect(view.loggedAtIso).toMatch(ISO);
    for (const d of view.deliveries) expect(d.routedAtIso).toMatch(ISO);

    const fraud = view.runs.find((r) => r.agent === "fraud-screen");
    // Offline, the deterministic local model decides: a model-backed run all the same.
    expect(fraud?.model).toMatchObject({ model: "local", tier: "local", escalated: false, budgetLimited: false });
    expect(fraud?.calls.length).toBeGreaterThanOrEqual(1);
    expect(fraud?.calls[0]).toMatchObject({ attempt: 1, tier: "local", model: "local", latencyMs: expect.any(Number) });
    expect(fraud?.startedAtIso).toBe(new Date(fraud?.startedAt ?? 0).toISOString());
    expect(fraud?.finishedAtIso).toMatch(ISO);

    // A rules-only agent decides without a model.
    const shipping = view.runs.find((r) => r.agent === "shipping-quote");
    expect(shipping).toMatchObject({ model: null, calls: [] });

    // The workflow's tree carries the same runs, under the event they ran on.
    interface Node {
      id: string;
      receivedAtIso: string;
      runs: Run[];
      children: Node[];
    }
    const tree = await waitFor(async () => {
      const w = await adminGet(`/v1/workflows/${order.correlationid}`);
      return w.status === 200 && (await w.json<{ events: Node[] }>());
    });
    const root = tree.events.find((n) => n.id === order.id);
    expect(root?.receivedAtIso).toMatch(ISO);
    expect(root?.runs.find((r) => r.agent === "fraud-screen")?.calls).toEqual(fraud?.calls);
  });
});
