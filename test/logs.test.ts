// One order's story in the logs: every line an object with stable fields, one traceId from ingest
// through routing, agent runs and the workflow's transitions to its outcome; rejected webhooks say why.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { orderPlaced, postEvents, waitFor } from "./support/helpers";

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
    expect([...kinds].sort()).toEqual(["agent.run", "ingest", "route", "workflow"]);
    expect(mine.find((l) => l.msg === "workflow" && l.status === "completed")).toMatchObject({
      decision: "approve",
      by: "votes",
      traceId,
    });
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
