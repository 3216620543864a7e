// The anti-entropy sweep healing each kind of lost work, with real local D1, Queues and Durable
// Objects: the lost state is made as a crash would leave it, then POST /v1/sweep repairs it.
import { createScheduledController, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Envelope, normalize } from "../src/bus/envelope";
import { agentSource } from "../src/bus/subscriptions";
import { logEvents } from "../src/db/events";
import { recordWorkflows } from "../src/db/workflows";
import type { SweepReport } from "../src/sweep/sweep";
import { switches } from "./support/fixtures";
import { ADMIN, call, count, orderPlaced, postEvents, runsOf, uniqueId, waitFor } from "./support/helpers";
import worker from "./support/worker";

afterEach(() => {
  switches.repaired = false;
});

/** Results must come from the agents that declare them. */
const PUBLISHER: Record<string, string> = {
  "fraud.assessed": agentSource("fraud-screen"),
  "inventory.reserved": agentSource("inventory"),
  "shipping.quoted": agentSource("shipping-quote"),
};
const TEN_MINUTES_AGO = () => Date.now() - 10 * 60_000;
const coordinator = (id: string) => env.COORDINATOR.get(env.COORDINATOR.idFromName(id));

async function sweepNow(body: unknown = {}, headers: Record<string, string> = ADMIN) {
  return call(
    new Request("https://agentwire.test/v1/sweep", {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}
async function sweepCounts(body: unknown = {}) {
  const res = await sweepNow(body);
  expect(res.status).toBe(200);
  return res.json<SweepReport>();
}

/** Writes an event and its deliveries as the route consumer does, at `at`, without sending anything. */
async function logAsRouted(event: Envelope, agents: string[], at: number) {
  await logEvents(env.DB, [{ event, receivedAt: at, agents, routable: true }], at, {
    maxHops: 8,
    maxEventsPerCorrelation: 1000,
  });
}
const repairable = () =>
  normalize({ specversion: "1.0", id: uniqueId("evt"), source: "/tests", type: "test.repairable", data: { n: 1 } });

const workflowRow = (id: string) =>
  env.DB.prepare("SELECT status, outcome, outcome_event_id, completed_at FROM workflows WHERE id = ?")
    .bind(id)
    .first<{ status: string; outcome: string | null; outcome_event_id: string | null; completed_at: number | null }>();
const logged = (id: string) => count("SELECT COUNT(*) AS n FROM events WHERE id = ?", id);

/** A workflow started straight at its coordinator (no agent answers), its deadline moved into the past. */
async function overdueWorkflow(opts: { dropAlarm: boolean }) {
  const order = orderPlaced();
  const id = order.correlationid;
  const stub = coordinator(id);
  await stub.observe([normalize(order)]);
  const past = TEN_MINUTES_AGO();
  // Long past its deadline, with its running row written (a coordinator writes it within a second).
  await runInDurableObject(stub, async (_instance, state) => {
    const s = JSON.parse(state.storage.sql.exec<{ state: string }>("SELECT state FROM instances").one().state);
    state.storage.sql.exec("UPDATE instances SET state = ?", JSON.stringify({ ...s, deadlineAt: past }));
    state.storage.sql.exec("DELETE FROM outbox");
    await recordWorkflows(env.DB, [{ state: { ...s, deadlineAt: past }, updatedAt: past }]);
    if (opts.dropAlarm) await state.storage.deleteAlarm();
  });
  return { id, stub };
}

describe("the anti-entropy sweep", () => {
  it("re-sends deliveries whose queue message was lost: never claimed, abandoned, failed without a retry", async () => {
    switches.repaired = true;
    const at = TEN_MINUTES_AGO();
    const [unclaimed, abandoned, failed] = [repairable(), repairable(), repairable()];
    for (const event of [unclaimed, abandoned, failed]) await logAsRouted(event, ["mendable"], at);
    // Routing claimed each run for a task that never arrived (unclaimed keeps just that). The others
    // as a crashed consumer left them: one claimed by a message that died, one failed whose retry died.
    expect(await runsOf(unclaimed.id)).toMatchObject([{ status: "running", attempt: 0 }]);
    const run = (event: Envelope, status: string, finishedAt: number | null, error: string | null) =>
      env.DB.prepare(
        `INSERT OR REPLACE INTO agent_runs (event_source, event_id, agent, status, attempt, claim, started_at, finished_at, error)
         VALUES (?, ?, 'mendable', ?, 1, 'lost-message', ?, ?, ?)`,
      )
        .bind(event.source, event.id, status, at, finishedAt, error)
        .run();
    await run(abandoned, "running", null, null);
    await run(failed, "failed", at + 10, JSON.stringify({ message: "boom", retryable: true }));

    const { counts } = await sweepCounts();
    expect(counts.deliveries).toEqual({ repaired: 3, unrepairable: 0 });
    for (const event of [unclaimed, abandoned, failed]) {
      await waitFor(async () => (await runsOf(event.id))[0]?.status === "succeeded");
    }
    expect(await runsOf(unclaimed.id)).toMatchObject([{ agent: "mendable", status: "succeeded", attempt: 1 }]);
  });

  it("does not re-send in-flight work: young deliveries, held ones, and runs still within their lease", async () => {
    const young = repairable();
    await logAsRouted(young, ["mendable"], Date.now());
    const running = repairable();
    await logAsRouted(running, ["mendable"], TEN_MINUTES_AGO());
    await env.DB.prepare(
      `INSERT OR REPLACE INTO agent_runs (event_source, event_id, agent, status, attempt, claim, started_at)
       VALUES (?, ?, 'mendable', 'running', 1, 'live-message', ?)`,
    )
      .bind(running.source, running.id, Date.now() - 1000)
      .run();
    const held = repairable();
    await logAsRouted(held, ["mendable"], TEN_MINUTES_AGO());
    // Held as the run consumer holds it for a paused agent: the delivery marked, the run routing claimed for it gone.
    await env.DB.prepare("UPDATE deliveries SET held = 1 WHERE event_id = ?").bind(held.id).run();
    await env.DB.prepare("DELETE FROM agent_runs WHERE event_id = ? AND attempt = 0").bind(held.id).run();

    const { counts } = await sweepCounts();
    expect(counts.deliveries.repaired).toBe(0);
    // The young delivery's task is in flight under the claim routing recorded, which nothing took over.
    expect(await runsOf(young.id)).toMatchObject([{ status: "running", attempt: 0 }]);
    expect(await runsOf(held.id)).toEqual([]);
    // Leave nothing behind for the test that sweeps with no grace period.
    for (const table of ["events", "deliveries", "agent_runs"]) {
      const column = table === "events" ? "id" : "event_id";
      for (const e of [young, running, held]) {
        await env.DB.prepare(`DELETE FROM ${table} WHERE ${column} = ?`).bind(e.id).run();
      }
    }
  });

  it("times out a running workflow past its deadline whose alarm was lost", async () => {
    const { id, stub } = await overdueWorkflow({ dropAlarm: true });
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeNull();

    const report = await sweepCounts();
    expect(report.counts.overdue_workflows).toEqual({ repaired: 1, unrepairable: 0 });
    expect(report.alarmsMissing).toBe(1);
    expect(await workflowRow(id)).toMatchObject({ status: "timed_out", outcome: "order.timed_out" });
    await waitFor(async () => (await count("SELECT COUNT(*) AS n FROM events WHERE correlation_id = ?", id)) >= 1);
    expect(
      await count("SELECT COUNT(*) AS n FROM events WHERE correlation_id = ? AND type = 'order.timed_out'", id),
    ).toBe(1);
  });

  it("re-publishes a decided workflow's outcome event missing from the log, with the same id", async () => {
    const order = orderPlaced();
    const id = order.correlationid;
    expect((await postEvents(order)).status).toBe(202);
    const row = await waitFor(async () => {
      const r = await workflowRow(id);
      const done = r?.status === "completed" && r.outcome_event_id !== null && (await logged(r.outcome_event_id)) === 1;
      return done ? r : undefined;
    });
    const outcomeId = row.outcome_event_id as string;
    const original = await env.DB.prepare("SELECT envelope FROM events WHERE id = ?")
      .bind(outcomeId)
      .first<{ envelope: string }>();
    // The log lost the outcome (its queue message died), and the decision is older than the grace period.
    await env.DB.prepare("DELETE FROM events WHERE id = ?").bind(outcomeId).run();
    await env.DB.prepare("UPDATE workflows SET completed_at = ? WHERE id = ?").bind(TEN_MINUTES_AGO(), id).run();

    const { counts } = await sweepCounts();
    expect(counts.missing_outcomes).toEqual({ repaired: 1, unrepairable: 0 });
    await waitFor(async () => (await logged(outcomeId)) === 1);
    const back = await env.DB.prepare("SELECT source, type, envelope FROM events WHERE id = ?")
      .bind(outcomeId)
      .first<{ source: string; type: string; envelope: string }>();
    expect(back).toMatchObject({ source: "/agentwire/workflows/order", type: "order.confirmed" });
    expect(JSON.parse(back?.envelope ?? "{}")).toEqual(JSON.parse(original?.envelope ?? "{}"));
  });

  it("flushes a coordinator's held outbox and re-publishes what it held", async () => {
    const id = uniqueId("ord");
    const result = (type: string, data: object) =>
      normalize({
        specversion: "1.0",
        id: uniqueId(type),
        source: PUBLISHER[type] ?? "/tests",
        type,
        data,
        correlationid: id,
        hopcount: 1,
      });
    const events = [
      normalize(orderPlaced(id)),
      result("fraud.assessed", { orderId: id, risk: "low", score: 10, reasons: [] }),
      result("inventory.reserved", { orderId: id, reservationId: id, items: [{ sku: "SKU-1", qty: 1 }] }),
      result("shipping.quoted", { orderId: id, carrier: "UPS", costCents: 649, etaDays: 3 }),
    ];
    // The pipeline logged the events, but the coordinator could not write its outcome: D1 refused
    // its batch, so the outcome is held in the outbox, and the alarm that would retry it is lost too.
    for (const event of events) await logAsRouted(event, [], TEN_MINUTES_AGO());
    const stub = coordinator(id);
    await runInDurableObject(stub, async (instance, state) => {
      const bindings = (instance as unknown as { env: Env }).env;
      const spy = vi.spyOn(bindings.DB, "batch").mockRejectedValue(new Error("D1 down"));
      try {
        await instance.observe(events);
      } finally {
        spy.mockRestore();
      }
      expect(state.storage.sql.exec("SELECT COUNT(*) AS n FROM outbox").one().n).toBeGreaterThan(0);
      await state.storage.deleteAlarm();
    });
    expect(await workflowRow(id)).toBeNull();

    // The sweep finds the started workflow D1 has no row for, and heals its coordinator. Grace 0: the
    // scan of the log reaches these events even though younger events precede them.
    const { counts } = await sweepCounts({ graceSeconds: 0 });
    expect(counts.outbox.repaired).toBeGreaterThanOrEqual(1);
    expect(counts.outbox.unrepairable).toBe(0);
    const outbox = await runInDurableObject(stub, (_i, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").one(),
    );
    expect(outbox.n).toBe(0);
    const outcomeId = (await workflowRow(id))?.outcome_event_id as string;
    expect(await logged(outcomeId)).toBe(1);
    expect(
      await count("SELECT COUNT(*) AS n FROM events WHERE correlation_id = ? AND type = 'order.confirmed'", id),
    ).toBe(1);
  });

  it("is idempotent: a second sweep after the repairs landed repairs nothing", async () => {
    switches.repaired = true;
    const event = repairable();
    await logAsRouted(event, ["mendable"], TEN_MINUTES_AGO());
    const { id } = await overdueWorkflow({ dropAlarm: true });

    const first = await sweepCounts();
    expect(first.counts.deliveries.repaired).toBe(1);
    expect(first.counts.overdue_workflows.repaired).toBe(1);
    await waitFor(async () => (await runsOf(event.id))[0]?.status === "succeeded");
    // order.timed_out, and inventory's answer to it.
    await waitFor(async () => (await count("SELECT COUNT(*) AS n FROM events WHERE correlation_id = ?", id)) === 2);

    const second = await sweepCounts();
    for (const c of Object.values(second.counts)) expect(c).toEqual({ repaired: 0, unrepairable: 0 });
    expect(second.alarmsMissing).toBe(0);
  });

  it("routes a logged event whose routing never happened, and starts its workflow", async () => {
    const order = normalize(orderPlaced());
    await logAsRouted(order, [], TEN_MINUTES_AGO()); // logged, but no delivery and no coordinator
    // Grace 0: the scan of the log reaches this event even though younger events precede it.
    const { counts } = await sweepCounts({ graceSeconds: 0 });
    expect(counts.unrouted_events.repaired).toBeGreaterThanOrEqual(1);
    expect(counts.unstarted_workflows.repaired).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await runsOf(order.id)).filter((r) => r.status === "succeeded").length === 3);
    await waitFor(async () => (await workflowRow(order.correlationid))?.status === "completed");
  });
});

describe("POST /v1/sweep and the cron trigger", () => {
  it("needs the admin token", async () => {
    expect((await sweepNow({}, {})).status).toBe(401);
    expect((await sweepNow({}, { authorization: "Bearer wrong-token" })).status).toBe(401);
    expect((await call(new Request("https://agentwire.test/v1/sweep"))).status).toBe(401);
  });

  it("refuses an invalid body", async () => {
    const res = await sweepNow({ limit: 0 });
    expect(res.status).toBe(400);
    expect((await sweepNow({ nonsense: true })).status).toBe(400);
  });

  it("answers counts per kind, and keeps running totals that the cron trigger adds to", async () => {
    const report = await sweepCounts();
    expect(Object.keys(report.counts).sort()).toEqual([
      "deliveries",
      "missing_outcomes",
      "outbox",
      "overdue_workflows",
      "unrouted_events",
      "unstarted_workflows",
    ]);
    const before = await (await call(new Request("https://agentwire.test/v1/sweep", { headers: ADMIN }))).json<any>();
    await worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), env);
    const after = await (await call(new Request("https://agentwire.test/v1/sweep", { headers: ADMIN }))).json<any>();
    expect(after.totals.deliveries.runs).toBe(before.totals.deliveries.runs + 1);
    expect(after.totals.deliveries.repaired).toBeGreaterThanOrEqual(before.totals.deliveries.repaired);
  });
});
