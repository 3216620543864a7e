// The WorkflowCoordinator Durable Object with real local bindings, and the order and user-screening
// workflows through the whole pipeline.
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { type Envelope, normalize } from "../src/bus/envelope";
import type { InstanceState } from "../src/coordinator/transitions";
import { RUNNING_ROW_DELAY_MS } from "../src/coordinator/outbox";
import { ADMIN, adminGet, call, count, orderPlaced, postEvents, uniqueId, waitFor } from "./support/helpers";

const coordinator = (id: string) => env.COORDINATOR.get(env.COORDINATOR.idFromName(id));
/** RPC types cannot express `unknown` event data; the state is plain JSON. */
const instancesOf = (stub: ReturnType<typeof coordinator>) => stub.instances() as unknown as Promise<InstanceState[]>;

/** Each result type from the agent that declares it: the coordinator counts no other publisher. */
const PUBLISHER: Record<string, string> = {
  "fraud.assessed": "/agentwire/agents/fraud-screen",
  "inventory.reserved": "/agentwire/agents/inventory",
  "shipping.quoted": "/agentwire/agents/shipping-quote",
};

function result(correlationid: string, type: string, data: unknown): Envelope {
  return normalize({
    specversion: "1.0",
    id: uniqueId(type),
    source: PUBLISHER[type] ?? "/tests",
    type,
    data,
    correlationid,
    hopcount: 1,
  });
}

function orderResults(orderId: string, risk: "low" | "medium" | "high" = "low") {
  return {
    fraud: result(orderId, "fraud.assessed", { orderId, risk, score: 10, reasons: [] }),
    reserved: result(orderId, "inventory.reserved", {
      orderId,
      reservationId: orderId,
      items: [{ sku: "SKU-1", qty: 1 }],
    }),
    quoted: result(orderId, "shipping.quoted", { orderId, carrier: "UPS", costCents: 649, etaDays: 3 }),
  };
}

const placedEnvelope = (orderId: string, overrides: Record<string, unknown> = {}) =>
  normalize(orderPlaced(orderId, overrides));

async function workflowRow(id: string) {
  return env.DB.prepare("SELECT status, outcome, outcome_event_id, verdict FROM workflows WHERE id = ?")
    .bind(id)
    .first<{ status: string; outcome: string | null; outcome_event_id: string | null; verdict: string | null }>();
}
const waitForStatus = (id: string, status: string) =>
  waitFor(async () => ((await workflowRow(id))?.status === status ? workflowRow(id) : undefined));
const outcomesLogged = (id: string, type: string) =>
  count("SELECT COUNT(*) AS n FROM events WHERE correlation_id = ? AND type = ?", id, type);

function post(path: string, body: unknown) {
  return call(
    new Request(`https://agentwire.test${path}`, {
      method: "POST",
      headers: { ...ADMIN, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}

async function stockOf(sku: string) {
  return (await env.DB.prepare("SELECT available FROM stock WHERE sku = ?").bind(sku).first<{ available: number }>())
    ?.available;
}
async function newSku(available: number) {
  const sku = uniqueId("SKU");
  await env.DB.prepare("INSERT INTO stock (sku, available) VALUES (?, ?)").bind(sku, available).run();
  return sku;
}

describe("the order workflow through the pipeline", () => {
  it("confirms a low-risk order once its three results are in, and shows the causal tree", async () => {
    const order = orderPlaced();
    expect((await postEvents(order)).status).toBe(202);
    const row = await waitForStatus(order.correlationid, "completed");
    expect(row?.outcome).toBe("order.confirmed");
    await waitFor(async () => (await outcomesLogged(order.correlationid, "order.confirmed")) === 1);

    const res = await adminGet(`/v1/workflows/${order.correlationid}`);
    expect(res.status).toBe(200);
    const body = await res.json<any>();
    expect(body).toMatchObject({
      id: order.correlationid,
      workflow: "order",
      status: "completed",
      outcome: "order.confirmed",
    });
    expect(body.events).toHaveLength(1);
    const root = body.events[0];
    expect(root).toMatchObject({ id: order.id, type: "order.placed" });
    expect(root.runs.map((r: any) => r.agent).sort()).toEqual(["fraud-screen", "inventory", "shipping-quote"]);
    expect(root.children.map((c: any) => c.type).sort()).toEqual([
      "fraud.assessed",
      "inventory.reserved",
      "shipping.quoted",
    ]);
    const confirmed = root.children.flatMap((c: any) => c.children).find((c: any) => c.type === "order.confirmed");
    expect(confirmed).toMatchObject({
      source: "/agentwire/workflows/order",
      data: { orderId: order.data.orderId, carrier: "UPS" },
    });
  });

  it("rejects a high-risk order and releases its reservation", async () => {
    const sku = await newSku(5);
    const order = orderPlaced(undefined, { amount: 15_000, items: [{ sku, qty: 2 }] });
    expect((await postEvents(order)).status).toBe(202);
    const row = await waitForStatus(order.correlationid, "rejected");
    expect(row?.outcome).toBe("order.rejected");
    expect(JSON.parse(row?.verdict ?? "{}")).toMatchObject({ decision: "reject", by: "veto", conflict: true });
    await waitFor(async () => (await outcomesLogged(order.correlationid, "inventory.released")) === 1);
    expect(await stockOf(sku)).toBe(5);
  });

  it("waits for a human at medium risk: approve once confirms, twice is a 409", async () => {
    const order = orderPlaced(undefined, { amount: 2_500 });
    expect((await postEvents(order)).status).toBe(202);
    await waitForStatus(order.correlationid, "awaiting_approval");
    await waitFor(async () => (await outcomesLogged(order.correlationid, "order.review_requested")) === 1);

    const ok = await post(`/v1/workflows/${order.correlationid}/approve`, { by: "alice", reason: "regular customer" });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: "completed", outcome: "order.confirmed" });
    const again = await post(`/v1/workflows/${order.correlationid}/approve`, { by: "alice", reason: "again" });
    expect(again.status).toBe(409);
    const reject = await post(`/v1/workflows/${order.correlationid}/reject`, { by: "bob", reason: "changed my mind" });
    expect(reject.status).toBe(409);

    await waitFor(async () => (await outcomesLogged(order.correlationid, "order.confirmed")) === 1);
    expect(await outcomesLogged(order.correlationid, "approval.granted")).toBe(1);
    expect(await outcomesLogged(order.correlationid, "approval.denied")).toBe(0);
    const confirmed = await env.DB.prepare(
      "SELECT envelope FROM events WHERE correlation_id = ? AND type = 'order.confirmed'",
    )
      .bind(order.correlationid)
      .first<{ envelope: string }>();
    expect(JSON.parse(confirmed?.envelope ?? "{}").data).toMatchObject({ approvedBy: "alice" });
  });

  it("a human rejection rejects and releases the stock", async () => {
    const sku = await newSku(3);
    const order = orderPlaced(undefined, { amount: 2_500, items: [{ sku, qty: 3 }] });
    expect((await postEvents(order)).status).toBe(202);
    await waitForStatus(order.correlationid, "awaiting_approval");
    expect(await stockOf(sku)).toBe(0);
    const res = await post(`/v1/workflows/${order.correlationid}/reject`, { by: "bob", reason: "looks fraudulent" });
    expect(await res.json()).toMatchObject({ status: "rejected", outcome: "order.rejected" });
    await waitFor(async () => (await stockOf(sku)) === 3);
    expect(await outcomesLogged(order.correlationid, "approval.denied")).toBe(1);
  });

  it("answers 404 for an unknown workflow, 400 for a bad body, 401 without the token", async () => {
    expect((await adminGet(`/v1/workflows/${uniqueId("nope")}`)).status).toBe(404);
    expect((await post(`/v1/workflows/${uniqueId("nope")}/approve`, { by: "x" })).status).toBe(404);
    expect((await post(`/v1/workflows/whatever/approve`, { reason: "no by" })).status).toBe(400);
    const unauthenticated = await call(
      new Request("https://agentwire.test/v1/workflows/x/approve", { method: "POST", body: "{}" }),
    );
    expect(unauthenticated.status).toBe(401);
  });

  it("lists workflows by status", async () => {
    const order = orderPlaced();
    expect((await postEvents(order)).status).toBe(202);
    await waitForStatus(order.correlationid, "completed");
    const res = await adminGet("/v1/workflows?status=completed&limit=500");
    const body = await res.json<any>();
    expect(body.workflows.every((w: any) => w.status === "completed")).toBe(true);
    expect(body.workflows.map((w: any) => w.id)).toContain(order.correlationid);
    expect((await adminGet("/v1/workflows?status=bogus")).status).toBe(400);
  });
});

describe("the coordinator Durable Object", () => {
  it("counts results that arrive before the start, and emits the outcome exactly once", async () => {
    const id = uniqueId("ord");
    const r = orderResults(id);
    const stub = coordinator(id);
    await stub.observe([r.quoted, r.fraud]);
    expect(await instancesOf(stub)).toEqual([]);
    await stub.observe([placedEnvelope(id)]);
    await stub.observe([r.reserved, r.reserved]);
    await stub.observe([r.fraud]); // a duplicate result
    const [state] = await instancesOf(stub);
    expect(state).toMatchObject({ status: "completed", outcome: "order.confirmed" });
    expect(state?.results).toHaveLength(3);
    await waitFor(async () => (await outcomesLogged(id, "order.confirmed")) === 1);
    expect(await outcomesLogged(id, "order.confirmed")).toBe(1);
  });

  it("records each of several concurrent results once and decides once", async () => {
    const id = uniqueId("ord");
    const r = orderResults(id);
    const stub = coordinator(id);
    await stub.observe([placedEnvelope(id)]);
    await Promise.all([
      stub.observe([r.fraud]),
      stub.observe([r.reserved]),
      stub.observe([r.quoted]),
      stub.observe([r.quoted]),
    ]);
    const [state] = await instancesOf(stub);
    expect(state).toMatchObject({ status: "completed", version: 5 });
    await waitFor(async () => (await workflowRow(id))?.status === "completed");
  });

  it("writes a running workflow's row once it has run a second, and one that decides sooner only once", async () => {
    const slow = uniqueId("ord");
    const stub = coordinator(slow);
    await stub.observe([placedEnvelope(slow), orderResults(slow).fraud]);
    // Not yet in D1: the row waits for the next change, with the alarm set for when it is due.
    expect(await workflowRow(slow)).toBeNull();
    const due = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(due).not.toBeNull();
    expect(due! - Date.now()).toBeLessThanOrEqual(RUNNING_ROW_DELAY_MS);
    await new Promise((r) => setTimeout(r, Math.max(0, due! - Date.now()) + 10));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const row = await env.DB.prepare("SELECT status, version, results FROM workflows WHERE id = ?").bind(slow).first();
    expect(row).toMatchObject({ status: "running", version: 2 });
    expect(JSON.parse(String(row?.results))).toHaveLength(1);
    // The alarm now waits for the deadline, not for another write.
    const next = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(next! - Date.now()).toBeGreaterThan(RUNNING_ROW_DELAY_MS);

    const fast = uniqueId("ord");
    const r = orderResults(fast);
    await coordinator(fast).observe([placedEnvelope(fast)]);
    expect(await workflowRow(fast)).toBeNull();
    await coordinator(fast).observe([r.fraud, r.reserved, r.quoted]);
    // Decided within the delay: one row, the outcome's, written with the outcome event.
    expect(await workflowRow(fast)).toMatchObject({ status: "completed", outcome: "order.confirmed" });
    expect(await outcomesLogged(fast, "order.confirmed")).toBe(1);
    expect(await runInDurableObject(coordinator(fast), (_i, state) => state.storage.getAlarm())).toBeNull();
  });

  it("restores a join from storage after the object is evicted mid-join", async () => {
    const id = uniqueId("ord");
    const r = orderResults(id);
    await coordinator(id).observe([placedEnvelope(id), r.fraud]);
    await abortAllDurableObjects();
    const fresh = coordinator(id);
    expect((await instancesOf(fresh))[0]).toMatchObject({ status: "running" });
    await fresh.observe([r.reserved, r.quoted]);
    expect((await instancesOf(fresh))[0]).toMatchObject({ status: "completed", outcome: "order.confirmed" });
  });

  it("attaches a late result without changing the outcome", async () => {
    const id = uniqueId("ord");
    const r = orderResults(id);
    const stub = coordinator(id);
    await stub.observe([placedEnvelope(id), r.fraud, r.reserved, r.quoted]);
    const late = result(id, "fraud.assessed", { orderId: id, risk: "high", score: 99, reasons: ["late"] });
    await stub.observe([late]);
    const [state] = await instancesOf(stub);
    expect(state).toMatchObject({ status: "completed", outcome: "order.confirmed", late: [late.id] });
    await waitFor(async () => {
      const row = await env.DB.prepare("SELECT late FROM workflows WHERE id = ?").bind(id).first<{ late: string }>();
      return row?.late === JSON.stringify([late.id]);
    });
  });

  it("times out at the deadline, once even if the alarm fires twice, and compensates", async () => {
    const sku = await newSku(4);
    const order = orderPlaced(undefined, { items: [{ sku, qty: 4 }] });
    const id = order.correlationid;
    const stub = coordinator(id);
    await stub.observe([normalize(order)]); // straight to the coordinator: no agent answers
    // Let the deadline pass without waiting 30 s: move it into the past in storage.
    await runInDurableObject(stub, (_instance, state) => {
      const row = state.storage.sql.exec<{ state: string }>("SELECT state FROM instances").one();
      const s = JSON.parse(row.state);
      state.storage.sql.exec("UPDATE instances SET state = ?", JSON.stringify({ ...s, deadlineAt: Date.now() - 1 }));
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await runInDurableObject(stub, async (instance) => instance.alarm()); // fired again
    const [state] = await instancesOf(stub);
    expect(state).toMatchObject({ status: "timed_out", outcome: "order.timed_out" });
    await waitFor(async () => (await outcomesLogged(id, "order.timed_out")) === 1);
    // The inventory agent hears order.timed_out and closes the order: a late reservation is refused.
    await waitFor(async () => (await outcomesLogged(id, "inventory.released")) === 1);
    expect(await outcomesLogged(id, "order.timed_out")).toBe(1);
    // The order itself reaches the agents only now (a very late delivery): its stock is not taken.
    expect((await postEvents(order)).status).toBe(202);
    const refused = await waitFor(() =>
      env.DB.prepare("SELECT envelope FROM events WHERE correlation_id = ? AND type = 'inventory.unavailable'")
        .bind(id)
        .first<{ envelope: string }>(),
    );
    expect(JSON.parse(refused.envelope).data).toMatchObject({ reason: "cancelled" });
    expect(await stockOf(sku)).toBe(4);
  });

  it("applies the approval deadline's default when nobody answers", async () => {
    const id = uniqueId("ord");
    const r = orderResults(id, "medium");
    const stub = coordinator(id);
    await stub.observe([placedEnvelope(id), r.fraud, r.reserved, r.quoted]);
    expect((await instancesOf(stub))[0]).toMatchObject({ status: "awaiting_approval" });
    await runInDurableObject(stub, (_instance, state) => {
      const s = JSON.parse(state.storage.sql.exec<{ state: string }>("SELECT state FROM instances").one().state);
      state.storage.sql.exec(
        "UPDATE instances SET state = ?",
        JSON.stringify({ ...s, approvalDeadlineAt: Date.now() - 1 }),
      );
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await instancesOf(stub))[0]).toMatchObject({ status: "rejected", outcome: "order.rejected" });
    await waitFor(async () => (await outcomesLogged(id, "approval.denied")) === 1);
    const late = await post(`/v1/workflows/${id}/approve`, { by: "alice", reason: "too late" });
    expect(late.status).toBe(409);
  });

  it("keeps the outbox and retries it from the alarm when logging the outcome fails", async () => {
    const id = uniqueId("ord");
    const r = orderResults(id);
    const stub = coordinator(id);
    await runInDurableObject(stub, async (instance, state) => {
      const bindings = (instance as unknown as { env: Env }).env;
      const spy = vi.spyOn(bindings.DB, "batch").mockRejectedValue(new Error("D1 down"));
      try {
        await instance.observe([placedEnvelope(id), r.fraud, r.reserved, r.quoted]);
      } finally {
        spy.mockRestore();
      }
      expect(state.storage.sql.exec("SELECT COUNT(*) AS n FROM outbox").one().n).toBeGreaterThan(0);
      expect(await state.storage.getAlarm()).not.toBeNull();
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await outcomesLogged(id, "order.confirmed")).toBe(1);
  });

  it("keeps the outbox when the outcome is logged but cannot be routed, and routes it from the alarm", async () => {
    const id = uniqueId("ord");
    const r = orderResults(id, "high"); // rejected: order.rejected goes to inventory, to release the stock
    const stub = coordinator(id);
    await runInDurableObject(stub, async (instance, state) => {
      const bindings = (instance as unknown as { env: Env }).env;
      const down = () => Promise.reject(new Error("queue down"));
      const tasks = vi.spyOn(bindings.TASKS_QUEUE, "sendBatch").mockImplementation(down);
      const events = vi.spyOn(bindings.EVENTS_QUEUE, "sendBatch").mockImplementation(down);
      try {
        await instance.observe([placedEnvelope(id), r.fraud, r.reserved, r.quoted]);
      } finally {
        tasks.mockRestore();
        events.mockRestore();
      }
      expect(state.storage.sql.exec("SELECT COUNT(*) AS n FROM outbox").one().n).toBeGreaterThan(0);
    });
    expect(await outcomesLogged(id, "order.rejected")).toBe(1); // logged once, not yet routed
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const left = await runInDurableObject(stub, (_i, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").one(),
    );
    expect(left.n).toBe(0);
    const rejected = await env.DB.prepare("SELECT id FROM events WHERE correlation_id = ? AND type = 'order.rejected'")
      .bind(id)
      .first<{ id: string }>();
    await waitFor(
      async () => (await count("SELECT COUNT(*) AS n FROM agent_runs WHERE event_id = ?", rejected?.id)) === 1,
    );
    expect(await outcomesLogged(id, "order.rejected")).toBe(1);
  });
});

describe("the user-screening workflow", () => {
  const user = (email: string, country = "US") => {
    const userId = uniqueId("usr");
    return {
      specversion: "1.0" as const,
      id: `evt-${userId}`,
      source: "/identity",
      type: "user.created",
      correlationid: userId,
      data: { userId, email, country },
    };
  };

  it("clears a user whose audit and enrichment both pass", async () => {
    const u = user("dev@acme.io");
    expect((await postEvents(u)).status).toBe(202);
    expect((await waitForStatus(u.correlationid, "completed"))?.outcome).toBe("user.cleared");
  });

  it("flags a user the security audit rejects, whatever enrichment says", async () => {
    const u = user("ceo@evil.example");
    expect((await postEvents(u)).status).toBe(202);
    expect((await waitForStatus(u.correlationid, "rejected"))?.outcome).toBe("user.flagged");
  });

  it("lets the audit outrank enrichment when they disagree (priority)", async () => {
    const u = user("someone@mailinator.com");
    expect((await postEvents(u)).status).toBe(202);
    const row = await waitForStatus(u.correlationid, "completed");
    expect(row?.outcome).toBe("user.cleared");
    expect(JSON.parse(row?.verdict ?? "{}")).toMatchObject({ by: "priority", conflict: true });
  });
});
