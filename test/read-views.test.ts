// The read API's lists of failure modes (parked, unrouted, duplicates, late results), the live
// stream cursor, the catalog and test events, run attempt history, and the generated OpenAPI document.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN, adminGet, call, orderPlaced, postEvents, runsOf, uniqueId, waitFor } from "./support/helpers";

const BASE = "http://agentwire.test";
const testEvent = (type: string, data: unknown, extra: Record<string, unknown> = {}) => ({
  specversion: "1.0" as const,
  id: uniqueId("evt"),
  source: "/tests",
  type,
  data,
  ...extra,
});
const adminPost = (path: string, body: unknown) =>
  call(
    new Request(`${BASE}${path}`, {
      method: "POST",
      headers: { ...ADMIN, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
const json = async <T = any>(res: Response | Promise<Response>): Promise<T> => (await res).json<T>();

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1, public, and documents every route with the schemas they validate with", async () => {
    const res = await call(new Request(`${BASE}/openapi.json`));
    expect(res.status).toBe(200);
    const doc = await res.json<any>();
    expect(doc.openapi).toBe("3.1.0");
    for (const path of [
      "/v1/events",
      "/v1/events/{id}",
      "/v1/workflows/{id}/approve",
      "/v1/parked",
      "/v1/unrouted",
      "/v1/duplicates",
      "/v1/late-results",
      "/v1/violations",
      "/v1/catalog",
      "/v1/test-events",
      "/v1/dead-letters/{id}/replay",
      "/v1/health",
    ])
      expect(doc.paths, path).toHaveProperty([path]);
    // The query the handler validates is the one documented: limit is bounded at 500 in both.
    const limit = doc.paths["/v1/parked"].get.parameters.find((p: any) => p.name === "limit");
    expect(limit.schema.maximum).toBe(500);
    const bad = await adminGet("/v1/parked?limit=501");
    expect(bad.status).toBe(400);
    expect((await bad.json<any>()).error.code).toBe("invalid_query");
    // Bodies too: the approve route documents `by` as required, and the handler refuses its absence.
    const approve = doc.paths["/v1/workflows/{id}/approve"].post.requestBody.content["application/json"].schema;
    expect(approve.required).toContain("by");
    expect(doc.components.securitySchemes).toHaveProperty("adminToken");
    expect(doc.components.schemas).toHaveProperty("Run");
  });
});

describe("the lists of failure modes", () => {
  it("lists an event nobody subscribes to as unrouted, and the stream marks it", async () => {
    const before = (await json(adminGet("/v1/events?limit=1"))).events[0]?.seq ?? 0;
    const event = testEvent("test.unheard", { n: 1 });
    expect((await postEvents(event)).status).toBe(202);
    const { unrouted } = await json(adminGet("/v1/unrouted?type=test.unheard&limit=50"));
    expect(unrouted.find((u: any) => u.eventId === event.id)).toMatchObject({
      type: "test.unheard",
      eventSource: "/tests",
    });
    // The live stream: oldest first from a position, with each event's status and a cursor to poll on.
    const stream = await json(adminGet(`/v1/events?after=${before}&type=test.unheard`));
    expect(stream.events.map((e: any) => e.event.id)).toContain(event.id);
    expect(stream.events.find((e: any) => e.event.id === event.id).status).toBe("unrouted");
    expect(stream.next.after).toBe(stream.events.at(-1).seq);
    expect((await json(adminGet(`/v1/events?after=${stream.next.after}&type=test.unheard`))).events).toEqual([]);
    expect((await adminGet("/v1/events?after=1&before=2")).status).toBe(400);
  });

  it("counts a sender's retry as a suppressed duplicate, logged once", async () => {
    const order = orderPlaced();
    expect((await postEvents(order)).status).toBe(202);
    expect((await postEvents(order)).status).toBe(202); // another webhook-id, the same event
    const { duplicates } = await json(adminGet(`/v1/duplicates?kind=event&correlationid=${order.correlationid}`));
    expect(duplicates).toEqual([expect.objectContaining({ eventId: order.id, kind: "event", count: 1, agent: null })]);
    expect(duplicates[0].lastAtIso).toMatch(/Z$/);
    const stream = await json(adminGet(`/v1/events?correlationid=${order.correlationid}&type=order.placed`));
    expect(stream.events[0]).toMatchObject({ status: "routed", duplicates: 1 });
  });

  it("lists parked events with their reason, paged without skipping events parked in the same millisecond", async () => {
    const correlation = uniqueId("storm");
    const pings = Array.from({ length: 50 }, (_, n) => testEvent("loop.ping", { n }, { correlationid: correlation }));
    expect((await postEvents(pings)).status).toBe(202);
    await waitFor(async () => {
      const { parked } = await json(adminGet(`/v1/parked?correlationid=${correlation}&limit=500`));
      return parked.length >= 10;
    });
    const seen: string[] = [];
    let before: string | undefined;
    for (let page = 0; page < 20; page++) {
      const q = `/v1/parked?correlationid=${correlation}&limit=3${before ? `&before=${before}` : ""}`;
      const { parked, next } = await json(adminGet(q));
      for (const p of parked) {
        expect(p.reason).toBe("correlation_cap");
        seen.push(p.eventId);
      }
      if (!next) break;
      before = next.before;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(10);
    expect((await adminGet("/v1/parked?before=not-a-cursor")).status).toBe(400);
    expect((await adminGet("/v1/parked?reason=bored")).status).toBe(400);
  });

  it("needs the admin token", async () => {
    for (const path of ["/v1/parked", "/v1/unrouted", "/v1/duplicates", "/v1/late-results", "/v1/catalog"])
      expect((await call(new Request(`${BASE}${path}`))).status, path).toBe(401);
  });
});

describe("runs", () => {
  it("keep every attempt with its error, and carry their policy violations", async () => {
    const event = testEvent("test.explode", { mode: "always" });
    expect((await postEvents(event)).status).toBe(202);
    const runs = await waitFor(async () => {
      const r = await runsOf(event.id);
      return r[0] && r[0].status === "dead_lettered" ? r : undefined;
    }, 60_000);
    expect(runs.length).toBe(1);
    const view = await json(adminGet(`/v1/events/${event.id}`));
    const run = view.runs.find((r: any) => r.agent === "exploder");
    expect(run.attempts.length).toBeGreaterThanOrEqual(2);
    expect(run.attempts.map((a: any) => a.attempt)).toEqual(run.attempts.map((_: unknown, i: number) => i + 1));
    for (const a of run.attempts) {
      expect(a.status).toBe("failed");
      expect(a.error).toEqual(expect.any(String));
      expect(a.startedAtIso).toMatch(/Z$/);
    }
    expect(run.violations).toEqual([]);
  });
});

describe("the catalog and test events", () => {
  it("describes each type with its JSON Schema and a valid example", async () => {
    const { types } = await json(adminGet("/v1/catalog"));
    const placed = types.find((t: any) => t.type === "order.placed");
    expect(placed).toMatchObject({ publishers: "external", subscribers: expect.arrayContaining(["fraud-screen"]) });
    expect(placed.schema.properties).toHaveProperty("orderId");
    expect(placed.example.currency).toBe("USD");
    expect(types.find((t: any) => t.type === "fraud.assessed")).toMatchObject({
      publishers: "internal",
      emitters: ["fraud-screen"],
    });
  });

  it("sends a test event through the real ingest, signed server-side, and refuses internal types", async () => {
    const correlation = uniqueId("console");
    const res = await adminPost("/v1/test-events", { type: "order.placed", correlationid: correlation });
    expect(res.status).toBe(202);
    const [accepted] = (await res.json<any>()).accepted;
    await waitFor(async () => (await runsOf(accepted.id)).filter((r) => r.status === "succeeded").length === 3);
    const internal = await adminPost("/v1/test-events", { type: "fraud.assessed", data: {} });
    expect(internal.status).toBe(422);
    expect((await internal.json<any>()).error.code).toBe("internal_type");
    const invalid = await adminPost("/v1/test-events", { type: "order.placed", data: { orderId: 1 } });
    expect(invalid.status).toBe(422);
    expect(
      await env.DB.prepare(
        "SELECT COUNT(*) AS n FROM events WHERE type = 'fraud.assessed' AND source = '/console/test-events'",
      ).first("n"),
    ).toBe(0);
    expect((await call(new Request(`${BASE}/v1/test-events`, { method: "POST", body: "{}" }))).status).toBe(401);
  });
});

describe("topology and costs", () => {
  it("draws the registry as a graph with each agent's live health, and spend with the counterfactual", async () => {
    const order = orderPlaced();
    expect((await postEvents(order)).status).toBe(202);
    await waitFor(async () => (await runsOf(order.id)).filter((r) => r.status === "succeeded").length === 3);
    const topology = await json(adminGet("/v1/topology"));
    const fraud = topology.agents.find((a: any) => a.name === "fraud-screen");
    expect(fraud).toMatchObject({ subscribes: ["order.placed"], modelBacked: true, paused: false });
    expect(fraud.health.runs).toBeGreaterThanOrEqual(1);
    expect(fraud.health.p50LatencyMs).toEqual(expect.any(Number));
    const exploder = topology.agents.find((a: any) => a.name === "exploder");
    expect(exploder.health.errorRate).toBeGreaterThanOrEqual(0);
    expect(topology.workflows.find((w: any) => w.startsOn === "order.placed")).toBeDefined();
    expect(topology.cycles).toEqual(expect.any(Array));
    const costs = await json(adminGet("/v1/costs"));
    expect(costs.byDay.some((d: any) => d.agent === "fraud-screen")).toBe(true);
    expect(costs.escalation.find((e: any) => e.agent === "fraud-screen")).toMatchObject({ runs: expect.any(Number) });
    expect(costs.budget).toMatchObject({ dailyCapMicros: expect.any(Number), dailySpentMicros: expect.any(Number) });
    expect((await adminGet("/v1/costs?since=-1")).status).toBe(400);
  });
});
