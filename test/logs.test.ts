// One order's story in the logs: every line an object with stable fields, one traceId from ingest
// through routing, agent runs and the workflow's transitions to its outcome; rejected webhooks say why.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createExecutionContext } from "cloudflare:test";
import { log, logError, setLogLevel } from "../src/log";
import { orderPlaced, postEvents, signedRequest, waitFor } from "./support/helpers";
import worker from "./support/worker";

type Line = Record<string, unknown> & { msg: string };
const capture = () => {
  const lines: unknown[] = [];
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args[0]));
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void lines.push(args[0]));
  return lines;
};
afterEach(() => vi.restoreAllMocks());

const envelopes = async (correlationId: string) => {
  const { results } = await env.DB.prepare("SELECT envelope FROM events WHERE correlation_id = ? ORDER BY seq")
    .bind(correlationId)
    .all<{ envelope: string }>();
  return results.map((r) => JSON.parse(r.envelope) as Record<string, unknown>);
};

describe("trace context", () => {
  it("mints a traceparent at ingest and carries it to the agents' events and the workflow's outcome", async () => {
    const order = orderPlaced();
    expect((await postEvents(order)).status).toBe(202);
    const events = await waitFor(async () => {
      const all = await envelopes(order.correlationid);
      return all.some((e) => e.type === "order.confirmed") && all;
    });
    const traceIds = new Set(events.map((e) => String(e.traceparent).split("-")[1]));
    expect(traceIds.size).toBe(1);
    expect([...traceIds][0]).toMatch(/^[0-9a-f]{32}$/);
    // Both publishers (agents and the coordinator) set all four extensions.
    const outcome = events.find((e) => e.type === "order.confirmed")!;
    const assessed = events.find((e) => e.type === "fraud.assessed")!;
    for (const e of [outcome, assessed]) {
      expect(e).toMatchObject({
        correlationid: order.correlationid,
        causationid: expect.any(String),
        hopcount: expect.any(Number),
        traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/),
      });
    }
  });

  it("keeps the sender's traceparent", async () => {
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const order = { ...orderPlaced(), traceparent };
    expect((await postEvents(order)).status).toBe(202);
    const events = await waitFor(async () => {
      const all = await envelopes(order.correlationid);
      return all.length >= 4 && all;
    });
    expect(events.every((e) => String(e.traceparent).includes("4bf92f3577b34da6a3ce929d0e0e4736"))).toBe(true);
  });
});

describe("log lines", () => {
  it("are objects, and one traceId finds ingest, routing, the runs and the workflow", async () => {
    const lines = capture();
    const order = orderPlaced();
    expect((await postEvents(order)).status).toBe(202);
    await waitFor(() =>
      Promise.resolve(
        (lines as Line[]).some(
          (l) => l.msg === "workflow" && l.correlationid === order.correlationid && l.status === "completed",
        ),
      ),
    );
    expect(lines.every((l) => typeof l === "object" && l !== null && "msg" in l)).toBe(true);
    const mine = (lines as Line[]).filter((l) => l.correlationid === order.correlationid);
    const traceId = mine.find((l) => l.msg === "ingest")?.traceId;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const kinds = new Set(mine.filter((l) => l.traceId === traceId).map((l) => l.msg));
    // No `route` line: the agents' results only feed the workflow, and its outcome (which no agent
    // hears) is named by the workflow's own line.
    expect([...kinds].sort()).toEqual(["agent.run", "ingest", "workflow"]);
    const decided = mine.find((l) => l.msg === "workflow" && l.status === "completed");
    expect(decided).toMatchObject({ decision: "approve", by: "votes", traceId, emitted: ["order.confirmed"] });
    // The line names the outcome event by id: the one the log holds.
    const row = await env.DB.prepare("SELECT outcome_event_id FROM workflows WHERE id = ?")
      .bind(order.correlationid)
      .first<{ outcome_event_id: string }>();
    expect(decided?.emittedIds).toEqual([row?.outcome_event_id]);
  });

  it("say why a webhook was refused, without its body or signature", async () => {
    const lines = capture();
    const res = await postEvents({ ...orderPlaced(), type: "order.confirmed" });
    expect(res.status).toBe(422);
    const line = (lines as Line[]).find((l) => l.msg === "ingest.rejected");
    expect(line).toMatchObject({ status: 422, code: expect.any(String), webhookId: expect.any(String) });
    expect(JSON.stringify(line)).not.toMatch(/orderId|v1,/);
  });
});

describe("LOG_LEVEL", () => {
  afterEach(() => setLogLevel("info"));

  it('"warn" leaves out the routine lines and keeps what needs a look', () => {
    const lines = capture();
    setLogLevel("warn");
    log("agent.run", { status: "succeeded", agent: "a" });
    log("ingest", { status: "accepted" });
    log("agent.run", { status: "failed", agent: "b", error: "boom" });
    log("route", { status: "parked", reason: "hop_limit" });
    log("sweep", { repaired: 1 });
    logError("run.record_failed", { agent: "c" }, new Error("D1 down"));
    expect((lines as Line[]).map((l) => [l.msg, l.status ?? null])).toEqual([
      ["agent.run", "failed"],
      ["route", "parked"],
      ["sweep", null],
      ["run.record_failed", null],
    ]);
    setLogLevel("info");
    log("agent.run", { status: "succeeded", agent: "a" });
    expect(lines).toHaveLength(5);
  });

  it("is taken from the env by each entry point", async () => {
    const order = orderPlaced();
    expect((await postEvents(order)).status).toBe(202);
    await waitFor(async () => {
      const row = await env.DB.prepare("SELECT status FROM workflows WHERE id = ?")
        .bind(order.correlationid)
        .first<{ status: string }>();
      return row?.status === "completed";
    });
    // The same event again (a duplicate: nothing to route, so no other entry point runs meanwhile).
    const lines = capture();
    const request = await signedRequest(JSON.stringify(order));
    const quiet = await worker.fetch(request, { ...env, LOG_LEVEL: "warn" }, createExecutionContext());
    expect(await quiet.json()).toEqual({ accepted: [{ id: order.id, duplicate: true }] });
    const loud = await worker.fetch(await signedRequest(JSON.stringify(order)), env, createExecutionContext());
    expect(loud.status).toBe(202);
    const ingestLines = (lines as Line[]).filter((l) => l.msg === "ingest" && l.eventId === order.id);
    expect(ingestLines).toHaveLength(1); // the second request's, at "info"
  });
});
