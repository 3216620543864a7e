// Fault injection: duplicates within and across batches, an agent failing inside a batch, a D1 write
// failing mid-batch, and a poison event in a stream of good ones.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { type EventMessage, normalize, type TaskMessage } from "../src/bus/envelope";
import { recordDeadLetters } from "../src/db/dead-letters";
import { count, orderPlaced, postEvents, runsOf, uniqueId, waitFor } from "./support/helpers";
import worker from "./support/worker";

async function deliver<T>(queue: string, bodies: T[], opts: { attempts?: number; env?: Env } = {}) {
  const batch = createMessageBatch(
    queue,
    bodies.map((body, i) => ({ id: uniqueId(`m${i}`), timestamp: new Date(), attempts: opts.attempts ?? 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, opts.env ?? env);
  return getQueueResult(batch, ctx);
}
const eventMessage = (overrides: Record<string, unknown> = {}): EventMessage => ({
  kind: "event",
  event: normalize(orderPlaced(undefined, overrides)),
  receivedAt: Date.now(),
});
const logged = (id: string) => count("SELECT COUNT(*) AS n FROM events WHERE id = ?", id);

describe("duplicate deliveries", () => {
  it("log and route an event once, within a batch and across batches", async () => {
    const message = eventMessage();
    const sent: unknown[] = [];
    const spy = vi.spyOn(env.TASKS_QUEUE, "sendBatch").mockImplementation((batch) => {
      sent.push(...batch);
      return Promise.resolve({ metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } } as never);
    });
    try {
      expect((await deliver("agentwire-events", [message, message])).ackAll).toBe(true);
      expect((await deliver("agentwire-events", [message])).ackAll).toBe(true);
    } finally {
      spy.mockRestore();
    }
    expect(await logged(message.event.id)).toBe(1);
    expect(sent).toHaveLength(3); // one task per agent, from the first batch only
    expect(await count("SELECT COUNT(*) AS n FROM deliveries WHERE event_id = ?", message.event.id)).toBe(3);
  });
});

describe("an agent failing inside a batch", () => {
  it("is retried on its own while the other messages are acked", async () => {
    const order = normalize(orderPlaced());
    const poison = normalize({
      specversion: "1.0",
      id: uniqueId("boom"),
      source: "/tests",
      type: "test.explode",
      data: { mode: "always" },
    });
    const task = (agent: string, event = order): TaskMessage => ({
      kind: "task",
      agent,
      event,
      receivedAt: Date.now(),
    });
    const batch = createMessageBatch("agentwire-tasks", [
      { id: "fraud", timestamp: new Date(), attempts: 1, body: task("fraud-screen") },
      { id: "boom", timestamp: new Date(), attempts: 1, body: task("exploder", poison) },
      { id: "ship", timestamp: new Date(), attempts: 1, body: task("shipping-quote") },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(["fraud", "ship"]);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["boom"]);
    expect(await runsOf(order.id)).toMatchObject([
      { agent: "fraud-screen", status: "succeeded" },
      { agent: "shipping-quote", status: "succeeded" },
    ]);
  });
});

describe("a run whose results cannot be handed on", () => {
  it("is recorded, acked, and its emitted event goes to the events queue marked for rerouting", async () => {
    const order = normalize(orderPlaced());
    const batch = createMessageBatch("agentwire-tasks", [
      {
        id: "fraud",
        timestamp: new Date(),
        attempts: 1,
        body: { kind: "task", agent: "fraud-screen", event: order, receivedAt: Date.now() } satisfies TaskMessage,
      },
    ]);
    const sent: unknown[] = [];
    const send = env.EVENTS_QUEUE.sendBatch.bind(env.EVENTS_QUEUE);
    const events = vi.spyOn(env.EVENTS_QUEUE, "sendBatch").mockImplementation((messages) => {
      sent.push(...[...messages].map((m) => m.body));
      return send(messages);
    });
    // The coordinator (which joins fraud.assessed) is down for this delivery.
    const down = { observe: () => Promise.reject(new Error("coordinator down")) };
    const coordinator = vi.spyOn(env.COORDINATOR, "get").mockReturnValue(down as never);
    const ctx = createExecutionContext();
    try {
      await worker.queue(batch, env);
    } finally {
      coordinator.mockRestore();
      events.mockRestore();
    }
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["fraud"]);
    const [run] = await runsOf(order.id);
    expect(run).toMatchObject({ agent: "fraud-screen", status: "succeeded" });
    const assessed = await env.DB.prepare("SELECT id FROM events WHERE causation_id = ? AND type = 'fraud.assessed'")
      .bind(order.id)
      .first<{ id: string }>();
    expect(assessed).not.toBeNull(); // logged with the run, in its batch
    expect(sent).toEqual([
      expect.objectContaining({ kind: "event", reroute: true, event: expect.objectContaining({ id: assessed?.id }) }),
    ]);
  });
});

describe("a D1 write failing mid-batch", () => {
  it("rolls the whole batch back, is retried, and logs everything exactly once", async () => {
    const messages = [eventMessage(), eventMessage(), eventMessage()];
    // A database whose batches fail on their last statement, after the event inserts ran.
    const failing = {
      prepare: (sql: string) => env.DB.prepare(sql),
      batch: (statements: D1PreparedStatement[]) =>
        env.DB.batch([...statements, env.DB.prepare("INSERT INTO no_such_table VALUES (1)")]),
    } as unknown as D1Database;
    const first = await deliver("agentwire-events", messages, { env: { ...env, DB: failing } });
    expect(first.retryBatch.retry).toBe(true);
    expect(first.explicitAcks).toEqual([]);
    for (const m of messages) expect(await logged(m.event.id)).toBe(0); // rolled back

    const retried = await deliver("agentwire-events", messages, { attempts: 2 });
    expect(retried.ackAll).toBe(true);
    await deliver("agentwire-events", messages, { attempts: 3 }); // and once more, as a duplicate
    for (const m of messages) {
      expect(await logged(m.event.id)).toBe(1);
      await waitFor(async () => (await runsOf(m.event.id)).filter((r) => r.status === "succeeded").length === 3);
      expect(await runsOf(m.event.id)).toHaveLength(3);
    }
  });
});

describe("a poison event", () => {
  it("is dead-lettered after max_retries while the stream around it is processed", async () => {
    const orders = [orderPlaced(), orderPlaced(), orderPlaced()];
    const poison = {
      specversion: "1.0",
      id: uniqueId("poison"),
      source: "/tests",
      type: "test.explode",
      data: { mode: "always" },
    };
    expect((await postEvents([orders[0], poison, orders[1], orders[2]])).status).toBe(202);
    for (const o of orders) {
      await waitFor(async () => (await runsOf(o.id)).filter((r) => r.status === "succeeded").length === 3);
    }
    const letter = await waitFor(() =>
      env.DB.prepare("SELECT attempts FROM dead_letters WHERE event_id = ?")
        .bind(poison.id)
        .first<{ attempts: number }>(),
    );
    expect(letter.attempts).toBe(4);
    for (const o of orders) {
      await waitFor(
        async () =>
          (await count(
            "SELECT COUNT(*) AS n FROM workflows WHERE id = ? AND status = 'completed'",
            o.correlationid,
          )) === 1,
      );
    }
  });
});

describe("a duplicate delivery's dead letter", () => {
  it("never marks a run still inside its claim lease dead; a run past its lease it does", async () => {
    const now = Date.now();
    const insert = (id: string, startedAt: number) =>
      env.DB.prepare(
        "INSERT INTO agent_runs (event_source, event_id, agent, status, attempt, claim, started_at) VALUES ('/t', ?, 'inventory', 'running', 1, 'c1', ?)",
      )
        .bind(id, startedAt)
        .run();
    const letter = (id: string) => ({
      message: {
        kind: "task" as const,
        agent: "inventory",
        event: normalize({ specversion: "1.0", id, source: "/t", type: "order.placed", data: {} }),
        receivedAt: now,
      },
      attempts: 4,
    });
    const live = uniqueId("live");
    const lost = uniqueId("lost");
    await insert(live, now - 1_000);
    await insert(lost, now - 10 * 60_000);
    await recordDeadLetters(env.DB, [letter(live), letter(lost)], now);
    const status = (id: string) =>
      env.DB.prepare("SELECT status FROM agent_runs WHERE event_id = ?").bind(id).first<{ status: string }>();
    expect(await status(live)).toEqual({ status: "running" });
    expect(await status(lost)).toEqual({ status: "dead_lettered" });
  });
});
