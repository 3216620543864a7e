// The event spine through real HTTP against `wrangler dev`: a signed order reaches all three agents.
import { describe, expect, it } from "vitest";
import { adminGet, orderPlaced, postSigned, waitForRuns } from "../../scripts/lib/client";
import { useDevServer } from "./support";

const target = useDevServer();

describe("wrangler dev end to end", () => {
  it("takes a signed order and records the three agents' results in the log", async () => {
    const event = orderPlaced({ amount: 2500, country: "DE", sku: "SKU-3", qty: 2 });
    const res = await postSigned(target, JSON.stringify(event));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: [{ id: event.id, duplicate: false }] });

    const detail = await waitForRuns(target, event.id);
    expect(detail.runs.map((r) => [r.agent, r.status])).toEqual(
      [
        ["fraud-screen", "succeeded"],
        ["inventory", "succeeded"],
        ["shipping-quote", "succeeded"],
      ].sort(),
    );

    const log = await adminGet<{ events: { event: { type: string; data: Record<string, unknown> } }[] }>(
      target,
      `/v1/events?correlationid=${event.correlationid}`,
    );
    const byType = Object.fromEntries(log.body.events.map((e) => [e.event.type, e.event.data]));
    // (the order workflow may already have added its own events to the correlation)
    expect(Object.keys(byType)).toEqual(
      expect.arrayContaining(["fraud.assessed", "inventory.reserved", "order.placed", "shipping.quoted"]),
    );
    expect(byType["fraud.assessed"]).toMatchObject({ risk: "medium", score: 30 });
    expect(byType["shipping.quoted"]).toMatchObject({ carrier: "DHL", costCents: 1499 + 2 * 120, etaDays: 5 });
    expect(byType["inventory.reserved"]).toMatchObject({ items: [{ sku: "SKU-3", qty: 2 }] });

    // Hermetic: whatever the developer's .dev.vars holds (CI plants an API key and a base URL to
    // nowhere), the server under test has no key, so the local model decided.
    const stats = await adminGet<{ runs: { byTier: Record<string, number> }; models: object }>(target, "/v1/stats");
    expect(stats.body.runs.byTier).toMatchObject({ local: expect.any(Number) });
    expect(Object.keys(stats.body.runs.byTier)).not.toContain("triage");
    expect(Object.keys(stats.body.models)).toEqual(["local"]);
  });

  it("answers a repeat as a duplicate and refuses an unsigned request", async () => {
    const event = orderPlaced();
    expect((await postSigned(target, JSON.stringify(event))).status).toBe(202);
    await waitForRuns(target, event.id);
    const again = await postSigned(target, JSON.stringify(event));
    expect(await again.json()).toEqual({ accepted: [{ id: event.id, duplicate: true }] });

    const unsigned = await fetch(`${target.url}/v1/events`, {
      method: "POST",
      headers: { "content-type": "application/cloudevents+json" },
      body: JSON.stringify(orderPlaced()),
    });
    expect(unsigned.status).toBe(401);
    expect((await fetch(`${target.url}/v1/events`)).status).toBe(401);
  });
});
