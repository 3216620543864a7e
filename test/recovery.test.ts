// Recovery and protection: dead letters and replay, replay from the log, pausing agents, loop limits.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Envelope, normalize, type TaskMessage } from "../src/bus/envelope";
import { PROMPT_MS } from "../src/consumers/run";
import { logEvents } from "../src/db/events";
import { countedEnv } from "./support/d1-counter";
import { subscriptionCycles } from "../src/registry";
import { agents } from "../agents";
import { switches } from "./support/fixtures";
import { ADMIN, adminGet, call, count, orderPlaced, postEvents, runsOf, uniqueId, waitFor } from "./support/helpers";
import worker from "./support/worker";

afterEach(() => {
  switches.repaired = false;
  switches.lateJoinerAdded = false;
});

const admin = (path: string, body: unknown = {}) =>
  call(
    new Request(`https://agentwire.test${path}`, {
      method: "POST",
      headers: { ...ADMIN, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
const testEvent = (type: string, data: unknown, extra: Record<string, unknown> = {}) => ({
  specversion: "1.0" as const,
  id: uniqueId("evt"),
  source: "/tests",
  type,
  data,
  ...extra,
});
const letterOf = (eventId: string) =>
  env.DB.prepare("SELECT seq, status, replays FROM dead_letters WHERE event_id = ?")
    .bind(eventId)
    .first<{ seq: number; status: string; replays: number }>();

/** Logs and routes an event to `agents` as routing does, sending nothing: the delivery and the run's claim. */
const routeAs = (event: Envelope, agents: string[]) =>
  logEvents(env.DB, [{ event, receivedAt: Date.now(), agents, routable: true }], Date.now(), {
    maxHops: 8,
    maxEventsPerCorrelation: 1000,
  });

describe("dead letters", () => {
  it("are listed with their error and attempts, and a replay after the repair runs the agent once", async () => {
    const event = testEvent("test.repairable", { n: 1 });
    expect((await postEvents(event)).status).toBe(202);
    const letter = await waitFor(() => letterOf(event.id));
    const list = await (await adminGet(`/v1/dead-letters?agent=mendable&status=dead&limit=500`)).json<any>();
    const listed = list.deadLetters.find((d: any) => d.id === letter.seq);
    expect(listed).toMatchObject({
      kind: "task",
      agent: "mendable",
      attempts: 4,
      status: "dead",
      error: { message: "broken until repaired", retryable: true },
      event: { id: event.id, type: "test.repairable" },
    });

    switches.repaired = true;
    const first = await admin(`/v1/dead-letters/${letter.seq}/replay`);
    expect(await first.json()).toEqual({ id: letter.seq, replayed: true, status: "replayed" });
    const again = await admin(`/v1/dead-letters/${letter.seq}/replay`);
    expect(await again.json()).toEqual({ id: letter.seq, replayed: false, status: "replayed" });
    await waitFor(async () => (await runsOf(event.id))[0]?.status === "succeeded");
    expect(await runsOf(event.id)).toMatchObject([{ agent: "mendable", status: "succeeded", attempt: 1 }]);
    expect(await letterOf(event.id)).toMatchObject({ status: "replayed", replays: 1 });
  });

  it("are replayed in bulk by correlation, and answer 404, 400 and 401 as they should", async () => {
    const correlation = uniqueId("corr");
    const events = [1, 2, 3].map((n) => testEvent("test.repairable", { n }, { correlationid: correlation }));
    expect((await postEvents(events)).status).toBe(202);
    await waitFor(
      async () =>
        (await count(
          "SELECT COUNT(*) AS n FROM dead_letters WHERE json_extract(message, '$.event.correlationid') = ?",
          correlation,
        )) === 3,
    );
    switches.repaired = true;
    const res = await admin("/v1/dead-letters/replay", { correlationid: correlation });
    expect((await res.json<any>()).replayed).toHaveLength(3);
    await waitFor(
      async () =>
        (await count(
          "SELECT COUNT(*) AS n FROM agent_runs WHERE agent = 'mendable' AND status = 'succeeded' AND event_id IN (?, ?, ?)",
          ...events.map((e) => e.id),
        )) === 3,
    );
    expect(
      (await (await admin("/v1/dead-letters/replay", { correlationid: correlation })).json<any>()).replayed,
    ).toEqual([]);

    expect((await admin("/v1/dead-letters/999999999/replay")).status).toBe(404);
    expect((await admin("/v1/dead-letters/abc/replay")).status).toBe(400);
    expect((await admin("/v1/dead-letters/replay", {})).status).toBe(400);
    expect((await call(new Request("https://agentwire.test/v1/dead-letters"))).status).toBe(401);
  });
});

describe("replay from the log", () => {
  it("lets an agent added later process history, once however often it is replayed", async () => {
    const correlation = uniqueId("hist");
    const events = [1, 2].map((n) => testEvent("test.history", { n }, { correlationid: correlation }));
    expect((await postEvents(events)).status).toBe(202);
    await waitFor(
      async () => (await count("SELECT COUNT(*) AS n FROM events WHERE correlation_id = ?", correlation)) === 2,
    );
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM deliveries WHERE agent = 'late-joiner' AND event_id IN (?, ?)",
        events[0]!.id,
        events[1]!.id,
      ),
    ).toBe(0);

    switches.lateJoinerAdded = true;
    const res = await admin("/v1/replay", { correlationid: correlation, agent: "late-joiner" });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ events: 2, queued: 2, skipped: 0 });
    await waitFor(
      async () =>
        (await count(
          "SELECT COUNT(*) AS n FROM agent_runs WHERE agent = 'late-joiner' AND status = 'succeeded' AND event_id IN (?, ?)",
          events[0]!.id,
          events[1]!.id,
        )) === 2,
    );
    expect(
      await (await admin("/v1/replay", { correlationid: correlation, agent: "late-joiner" })).json(),
    ).toMatchObject({ queued: 0, skipped: 2 });

    expect((await admin("/v1/replay", { agent: "late-joiner" })).status).toBe(400); // no filter: refused
    expect((await admin("/v1/replay", { type: "test.history", agent: "no-such-agent" })).status).toBe(404);
  });

  it("lets a repaired agent catch up on what it dead-lettered", async () => {
    const event = testEvent("test.repairable", { n: 9 });
    expect((await postEvents(event)).status).toBe(202);
    await waitFor(() => letterOf(event.id));
    switches.repaired = true;
    expect(await (await admin("/v1/replay", { correlationid: event.id })).json()).toMatchObject({ queued: 1 });
    await waitFor(async () => (await runsOf(event.id))[0]?.status === "succeeded");
    expect(await letterOf(event.id)).toMatchObject({ status: "replayed" });
  });
});

describe("pausing an agent", () => {
  it("holds its deliveries, lists it as paused, and delivers on resume", async () => {
    expect(await (await admin("/v1/agents/shipping-quote/pause", { by: "ops" })).json()).toEqual({
      agent: "shipping-quote",
      state: "paused",
    });
    try {
      const order = orderPlaced();
      expect((await postEvents(order)).status).toBe(202);
      await waitFor(async () => (await runsOf(order.id)).filter((r) => r.status === "succeeded").length === 2);
      const held = await env.DB.prepare("SELECT held FROM deliveries WHERE event_id = ? AND agent = 'shipping-quote'")
        .bind(order.id)
        .first<{ held: number }>();
      expect(held?.held).toBe(1);
      const listing = await (await adminGet("/v1/agents")).json<any>();
      const shipping = listing.agents.find((a: any) => a.name === "shipping-quote");
      expect(shipping).toMatchObject({ state: "paused", subscribes: ["order.placed"], emits: ["shipping.quoted"] });
      expect(shipping.counts.held).toBeGreaterThanOrEqual(1);
      expect(listing.agents.find((a: any) => a.name === "fraud-screen")).toMatchObject({
        state: "active",
        modelBacked: true,
      });

      const resumed = await (await admin("/v1/agents/shipping-quote/resume")).json<any>();
      expect(resumed).toMatchObject({ agent: "shipping-quote", state: "active", remaining: false });
      expect(resumed.released).toBeGreaterThanOrEqual(1);
      await waitFor(async () => (await runsOf(order.id)).filter((r) => r.status === "succeeded").length === 3);
    } finally {
      await admin("/v1/agents/shipping-quote/resume");
    }
    expect((await admin("/v1/agents/nobody/pause")).status).toBe(404);
  });

  it("holds a delivery already on the queue when the agent is paused before it runs", async () => {
    // As routing left it: the event logged, its delivery written and its run claimed for the task,
    // the task sent more than PROMPT_MS before the agent was paused (so it claims, and meets the pause).
    const order = normalize(orderPlaced());
    const [routed] = await routeAs(order, ["shipping-quote"]);
    expect(await runsOf(order.id)).toMatchObject([{ status: "running", attempt: 0 }]);
    await admin("/v1/agents/shipping-quote/pause");
    try {
      const body: TaskMessage = { kind: "task", agent: "shipping-quote", event: order, receivedAt: Date.now() };
      const sentAt = new Date(Date.now() - PROMPT_MS - 1000);
      const message = { id: "p1", timestamp: sentAt, attempts: 1, body: { ...body, claim: routed?.claim } };
      const batch = createMessageBatch("agentwire-tasks", [message]);
      const ctx = createExecutionContext();
      await worker.queue(batch, env);
      expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["p1"]);
      // Held: no run left behind (the claim routing made is released), so resuming sends it at once.
      expect(await runsOf(order.id)).toEqual([]);
      expect(
        (
          await env.DB.prepare("SELECT held FROM deliveries WHERE event_id = ?")
            .bind(order.id)
            .first<{ held: number }>()
        )?.held,
      ).toBe(1);
    } finally {
      await admin("/v1/agents/shipping-quote/resume");
    }
    await waitFor(async () => (await runsOf(order.id))[0]?.status === "succeeded");
    expect(await runsOf(order.id)).toMatchObject([{ status: "succeeded", attempt: 1 }]);
  });

  it("runs a task routing claimed on its prompt first delivery without claiming again; a late one claims", async () => {
    const deliver = async (id: string, order: Envelope, claim: string | undefined, sentAgo: number) => {
      const body: TaskMessage = { kind: "task", agent: "shipping-quote", event: order, receivedAt: Date.now(), claim };
      const message = { id, timestamp: new Date(Date.now() - sentAgo), attempts: 1, body };
      const batch = createMessageBatch("agentwire-tasks", [message]);
      const { env: counted, d1 } = countedEnv(env);
      await worker.queue(batch, counted);
      expect((await getQueueResult(batch, createExecutionContext())).explicitAcks).toEqual([id]);
      return d1.calls;
    };
    const prompt = normalize(orderPlaced());
    const late = normalize(orderPlaced());
    const [[p], [l]] = [await routeAs(prompt, ["shipping-quote"]), await routeAs(late, ["shipping-quote"])];
    // The prompt one: one D1 round trip, the commit. The late one: the claim first, then the commit.
    const ran = Date.now();
    // Routed a minute ago (within the claim's lease), to tell that time from when the runs start.
    await env.DB.prepare("UPDATE agent_runs SET started_at = ? WHERE event_id IN (?, ?)")
      .bind(ran - 60_000, prompt.id, late.id)
      .run();
    expect(await deliver("prompt", prompt, p?.claim, 0)).toBe(1);
    expect(await deliver("late", late, l?.claim, PROMPT_MS + 1000)).toBe(2);
    for (const e of [prompt, late]) {
      expect(await runsOf(e.id)).toMatchObject([{ status: "succeeded", attempt: 1 }]);
      // Recorded as started when it ran, not when routing claimed it.
      const row = await env.DB.prepare("SELECT started_at FROM agent_runs WHERE event_id = ?")
        .bind(e.id)
        .first<{ started_at: number }>();
      expect(row?.started_at).toBeGreaterThanOrEqual(ran);
    }
    // Another message for a run routing claimed (not its task) is busy until the claim's lease runs out.
    const other = normalize(orderPlaced());
    await routeAs(other, ["shipping-quote"]);
    const body: TaskMessage = { kind: "task", agent: "shipping-quote", event: other, receivedAt: Date.now() };
    const batch = createMessageBatch("agentwire-tasks", [{ id: "o1", timestamp: new Date(), attempts: 1, body }]);
    await worker.queue(batch, env);
    expect((await getQueueResult(batch, createExecutionContext())).retryMessages).toMatchObject([{ msgId: "o1" }]);
    expect(await runsOf(other.id)).toMatchObject([{ status: "running", attempt: 0 }]);
  });
});

describe("routing claims the runs it starts", () => {
  it("for the deliveries it writes and sends, not held ones or duplicates; routing again takes no claim over", async () => {
    const order = normalize(orderPlaced());
    await admin("/v1/agents/shipping-quote/pause");
    let first;
    try {
      [first] = await routeAs(order, ["inventory", "shipping-quote"]);
    } finally {
      await admin("/v1/agents/shipping-quote/resume");
    }
    expect(first).toMatchObject({
      inserted: true,
      send: ["inventory"],
      held: ["shipping-quote"],
      claimed: ["inventory"],
    });
    expect(await runsOf(order.id)).toMatchObject([{ agent: "inventory", status: "running", attempt: 0 }]);
    // Logged again (a duplicate): nothing routed, nothing claimed.
    const [again] = await routeAs(order, ["inventory", "shipping-quote"]);
    expect(again).toMatchObject({ inserted: false, send: [], claimed: [] });
    // Routed again (a fan-out that failed, or a coordinator): deliveries written before are not claimed
    // again — a run with no row is claimed by its task — and a claim routing made is not taken over,
    // since its task may be running without having told D1.
    await env.DB.prepare("UPDATE deliveries SET held = 0 WHERE event_id = ?").bind(order.id).run();
    const [rerouted] = await logEvents(
      env.DB,
      [
        {
          event: order,
          receivedAt: Date.now(),
          agents: ["inventory", "shipping-quote"],
          routable: true,
          reroute: true,
        },
      ],
      Date.now(),
      { maxHops: 8, maxEventsPerCorrelation: 1000 },
    );
    expect(rerouted).toMatchObject({ send: ["inventory", "shipping-quote"], held: [], claimed: [] });
    const claims = await env.DB.prepare("SELECT agent, claim FROM agent_runs WHERE event_id = ? ORDER BY agent")
      .bind(order.id)
      .all();
    expect(claims.results).toEqual([{ agent: "inventory", claim: first?.claim }]);
  });
});

describe("loop protection", () => {
  it("parks an event past the hop limit instead of routing it", async () => {
    const event = normalize({ ...testEvent("loop.ping", { n: 1 }), hopcount: 17 });
    await env.EVENTS_QUEUE.send({ kind: "event", event, receivedAt: Date.now() }, { contentType: "json" });
    const parked = await waitFor(() =>
      env.DB.prepare("SELECT reason FROM parked_events WHERE event_id = ?").bind(event.id).first<{ reason: string }>(),
    );
    expect(parked.reason).toBe("hop_limit");
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE id = ?", event.id)).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM deliveries WHERE event_id = ?", event.id)).toBe(0);
    // At ingest, a hopcount over the limit is refused outright.
    const res = await postEvents(testEvent("loop.ping", { n: 1 }, { hopcount: 17 }));
    expect(res.status).toBe(422);
    expect((await res.json<any>()).error.code).toBe("hop_limit");
  });

  it("never hands an agent its own event through a wildcard", async () => {
    const event = testEvent("loop.ping", { n: 2 });
    expect((await postEvents(event)).status).toBe(202);
    const echoed = await waitFor(() =>
      env.DB.prepare("SELECT id FROM events WHERE causation_id = ? AND type = 'loop.echoed'")
        .bind(event.id)
        .first<{ id: string }>(),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(await count("SELECT COUNT(*) AS n FROM deliveries WHERE event_id = ?", echoed.id)).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM agent_runs WHERE agent = 'echo' AND event_id = ?", event.id)).toBe(1);
  });

  it("stops an event storm at the per-correlation cap (40 under test), losing nothing", async () => {
    const correlation = uniqueId("storm");
    const pings = Array.from({ length: 50 }, (_, n) => testEvent("loop.ping", { n }, { correlationid: correlation }));
    expect((await postEvents(pings)).status).toBe(202);
    await waitFor(
      async () => (await count("SELECT COUNT(*) AS n FROM events WHERE correlation_id = ?", correlation)) >= 90,
    );
    await new Promise((r) => setTimeout(r, 300));
    const inCorrelation = "JOIN events e ON e.source = x.event_source AND e.id = x.event_id WHERE e.correlation_id = ?";
    const parked = await count(
      `SELECT COUNT(*) AS n FROM parked_events x ${inCorrelation} AND x.reason = 'correlation_cap'`,
      correlation,
    );
    const routed = await count(
      `SELECT COUNT(DISTINCT x.event_id) AS n FROM deliveries x ${inCorrelation}`,
      correlation,
    );
    expect(routed).toBe(40);
    expect(parked).toBe(10);
    // Every event is in the log, routed or parked: the 50 pings and the 40 echoes of the routed ones.
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE correlation_id = ?", correlation)).toBe(90);
  });

  it("finds no cycle among the registered agents, and finds one when there is", () => {
    expect(subscriptionCycles(agents)).toEqual([]);
    const a = { ...agents[0]!, name: "ping", subscribes: ["x.pong"], emits: ["x.ping"] };
    const b = { ...agents[0]!, name: "pong", subscribes: ["x.*"], emits: ["x.pong"] };
    expect(subscriptionCycles([a, b])).toEqual([["ping", "pong", "ping"]]);
  });
});

describe("ingest rate limit", () => {
  it("answers 429 with Retry-After when a sender is over its limit, and enqueues nothing", async () => {
    const spy = vi.spyOn(env.INGEST_RATE_LIMITER, "limit").mockResolvedValue({ success: false });
    const order = orderPlaced();
    try {
      const res = await postEvents(order);
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("60");
      // Keyed by the verified sender, not by the source it names (see test/trust.test.ts).
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0]?.[0].key).not.toBe("/shop/checkout");
    } finally {
      spy.mockRestore();
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE id = ?", order.id)).toBe(0);
  });
});
