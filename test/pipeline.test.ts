import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminGet, orderPlaced, postEvents, runsOf, waitFor } from "./support/helpers";

describe("the event spine", () => {
  it("fans an order out to its three agents and logs what they publish", async () => {
    const order = orderPlaced();
    const res = await postEvents(order);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: [{ id: order.id, duplicate: false }] });

    const runs = await waitFor(async () => {
      const r = await runsOf(order.id);
      return r.length === 3 && r.every((x) => x.status === "succeeded") && r;
    });
    expect(runs.map((r) => r.agent)).toEqual(["fraud-screen", "inventory", "shipping-quote"]);

    const emitted = await waitFor(async () => {
      const { results } = await env.DB.prepare(
        "SELECT type, causation_id, correlation_id, hop_count FROM events WHERE causation_id = ? ORDER BY type",
      )
        .bind(order.id)
        .all();
      return results.length === 3 && results;
    });
    expect(emitted).toEqual([
      { type: "fraud.assessed", causation_id: order.id, correlation_id: order.correlationid, hop_count: 1 },
      { type: "inventory.reserved", causation_id: order.id, correlation_id: order.correlationid, hop_count: 1 },
      { type: "shipping.quoted", causation_id: order.id, correlation_id: order.correlationid, hop_count: 1 },
    ]);

    const detail = await (await adminGet(`/v1/events/${order.id}`)).json<any>();
    expect(detail.event).toMatchObject({ id: order.id, type: "order.placed", hopcount: 0 });
    expect(detail.deliveries.map((d: { agent: string }) => d.agent)).toEqual([
      "fraud-screen",
      "inventory",
      "shipping-quote",
    ]);
    expect(detail.runs).toHaveLength(3);
  });
});

describe("coordinator hand-off", () => {
  it("hands every event of a correlation to that correlation's coordinator", async () => {
    const order = orderPlaced();
    expect((await postEvents(order)).status).toBe(202);
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName(order.correlationid));
    const types = await waitFor(async () => {
      const seen = await stub.observedTypes();
      return seen.length === 4 && seen;
    });
    expect([...types].sort()).toEqual(["fraud.assessed", "inventory.reserved", "order.placed", "shipping.quoted"]);
  });
});
