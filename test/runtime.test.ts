import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { TaskMessage } from "../src/bus/envelope";
import { normalize } from "../src/bus/envelope";
import worker from "./support/worker";
import { count, orderPlaced, postEvents, runsOf, uniqueId, waitFor } from "./support/helpers";

function testEvent(type: string, data: unknown) {
  const id = uniqueId("evt");
  return { specversion: "1.0", id, source: "/tests", type, data } as const;
}

async function runBatch(messages: { id: string; body: TaskMessage; attempts?: number }[]) {
  const batch = createMessageBatch(
    "agentwire-tasks",
    messages.map((m) => ({ id: m.id, timestamp: new Date(), attempts: m.attempts ?? 1, body: m.body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return getQueueResult(batch, ctx);
}

async function stockOf(sku: string) {
  const row = await env.DB.prepare("SELECT available FROM stock WHERE sku = ?")
    .bind(sku)
    .first<{ available: number }>();
  return row?.available;
}

describe("agent runtime", () => {
  it("refuses an undeclared emit, records the violation, and still publishes the declared one", async () => {
    const event = testEvent("test.rogue", { note: "hi" });
    expect((await postEvents(event)).status).toBe(202);
    const run = await waitFor(async () => (await runsOf(event.id)).find((r) => r.status === "succeeded"));
    expect(JSON.parse(run.output ?? "{}").events.map((e: { type: string }) => e.type)).toEqual(["test.echoed"]);
    const violation = await env.DB.prepare("SELECT agent, kind, detail FROM policy_violations WHERE event_id = ?")
      .bind(event.id)
      .first();
    expect(violation).toMatchObject({ agent: "rogue", kind: "undeclared_emit" });
    await waitFor(async () => (await count("SELECT COUNT(*) AS n FROM events WHERE causation_id = ?", event.id)) === 1);
    expect(
      await count("SELECT COUNT(*) AS n FROM events WHERE causation_id = ? AND type = 'order.placed'", event.id),
    ).toBe(0);
  });

  it("retries a throwing agent with backoff, then dead-letters it with its error", async () => {
    const event = testEvent("test.explode", { mode: "always" });
    expect((await postEvents(event)).status).toBe(202);
    const letter = await waitFor(() =>
      env.DB.prepare("SELECT kind, agent, attempts, error FROM dead_letters WHERE event_id = ?")
        .bind(event.id)
        .first<{ kind: string; agent: string; attempts: number; error: string }>(),
    );
    // max_retries = 3 in wrangler.toml: the first attempt and three retries.
    expect(letter).toMatchObject({ kind: "task", agent: "exploder", attempts: 4 });
    expect(JSON.parse(letter.error)).toEqual({ message: "kaboom", retryable: true });
    const [run] = await runsOf(event.id);
    expect(run).toMatchObject({ agent: "exploder", status: "dead_lettered", attempt: 4 });
  });

  it("dead-letters a permanent failure without retrying", async () => {
    const event = testEvent("test.explode", { mode: "permanent" });
    expect((await postEvents(event)).status).toBe(202);
    const letter = await waitFor(() =>
      env.DB.prepare("SELECT attempts, error FROM dead_letters WHERE event_id = ?")
        .bind(event.id)
        .first<{ attempts: number; error: string }>(),
    );
    expect(letter.attempts).toBe(1);
    expect(JSON.parse(letter.error)).toEqual({ message: "permanently broken", retryable: false });
  });

  it("runs a duplicate delivery once, within a batch and across batches", async () => {
    const sku = uniqueId("SKU");
    await env.DB.prepare("INSERT INTO stock (sku, available) VALUES (?, 10)").bind(sku).run();
    const order = orderPlaced(undefined, { items: [{ sku, qty: 3 }] });
    const task: TaskMessage = { kind: "task", agent: "inventory", event: normalize(order), receivedAt: Date.now() };

    const first = await runBatch([
      { id: "m1", body: task },
      { id: "m2", body: task },
    ]);
    expect(first.explicitAcks).toEqual(["m1"]);
    expect(first.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["m2"]); // busy: another delivery holds it

    const second = await runBatch([{ id: "m3", body: task }]);
    expect(second.explicitAcks).toEqual(["m3"]); // done already: acked without running

    expect(await stockOf(sku)).toBe(7);
    expect(await runsOf(order.id)).toMatchObject([{ agent: "inventory", status: "succeeded", attempt: 1 }]);
  });

  it("takes over its own claim when the same message is redelivered after a crash", async () => {
    const order = orderPlaced();
    const task: TaskMessage = {
      kind: "task",
      agent: "shipping-quote",
      event: normalize(order),
      receivedAt: Date.now(),
    };
    await env.DB.prepare(
      "INSERT INTO agent_runs (event_source, event_id, agent, status, attempt, claim, started_at) VALUES (?, ?, ?, 'running', 1, 'crashed', ?)",
    )
      .bind(order.source, order.id, "shipping-quote", Date.now())
      .run();
    const result = await runBatch([{ id: "crashed", body: task, attempts: 2 }]);
    expect(result.explicitAcks).toEqual(["crashed"]);
    expect(await runsOf(order.id)).toMatchObject([{ status: "succeeded", attempt: 2 }]);
  });
});
