// D1's production limits, one test each, over every statement path that takes input of variable size:
// 100 bound parameters and 100 KB of SQL per statement (and 1 MB per value), 1,000 queries per
// invocation, 30 s per query. Local D1 enforces only the first, so each invocation runs with its D1
// counted (test/support/d1-counter.ts) and the counts are checked against the limits; the 30 s one
// is checked as SQLite plans the statements: no hot path scans a table that grows with the log.
import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { archive, PUT_BUDGET, STATEMENT_BUDGET } from "../src/archive/archive";
import { type EventMessage, normalize, type TaskMessage } from "../src/bus/envelope";
import { external } from "../src/bus/catalog";
import { finishRuns } from "../src/db/runs";
import { defineRegistry } from "../src/registry";
import { agentDefiner } from "../src/runtime/define";
import { createWorker } from "../src/worker";
import { countedEnv, D1_LIMITS, type D1Counter } from "./support/d1-counter";
import { switches, testCatalog } from "./support/fixtures";
import { ADMIN, orderPlaced, signedRequest, uniqueId } from "./support/helpers";
import { HOUR, logPast, MODEL, pastWindow, sweptToEnd } from "./support/past-log";
import worker from "./support/worker";

/** Every invocation counted here: their statements' plans are checked at the end (30 s per query). */
const counted: { label: string; d1: D1Counter }[] = [];
function counting(label: string, overrides: Partial<Env> = {}) {
  const c = countedEnv({ ...env, ...overrides });
  counted.push({ label, d1: c.d1 });
  return c;
}

/** A queue that keeps what is sent: the invocation under test, not the consumers it would wake. */
function keepingQueue() {
  const sent: unknown[] = [];
  const queue = {
    send: (body: unknown) => Promise.resolve(void sent.push(body)),
    sendBatch: (batch: { body: unknown }[]) => Promise.resolve(void sent.push(...batch.map((m) => m.body))),
  } as unknown as Queue;
  return { queue, sent };
}

// A domain whose events each fan out to ten agents, and no workflow: the widest routing per event.
const wideCatalog = { ...testCatalog, "test.wide": external(z.object({ n: z.number() })) };
const defineAgent = agentDefiner(wideCatalog);
const wideAgents = Array.from({ length: 10 }, (_, i) =>
  defineAgent({
    name: `wide-${i}`,
    description: "Hears every test.wide event.",
    subscribes: ["test.wide"],
    emits: [],
    handle: () => [],
  }),
);
const wide = createWorker(defineRegistry({ catalog: wideCatalog, agents: wideAgents, workflows: [] }));
const wideEvent = (n: number) => ({
  specversion: "1.0" as const,
  id: uniqueId("wide"),
  source: "/tests/limits",
  type: "test.wide",
  data: { n },
});

const expectWithin = (d1: D1Counter) => {
  expect(d1.overLimits()).toEqual([]);
  expect(d1.statements.length).toBeGreaterThan(0);
};

describe("1,000 queries per invocation", () => {
  it("an archive run over a backlog stays within its own budget, and so does the cron invocation with the sweep", async () => {
    // 1,200 old events over 300 hours: batches are cut at 24 hours, so the run meets its budgets.
    const at = pastWindow() - 300 * HOUR;
    for (let hour = 0; hour < 300; hour++) {
      await logPast(env.DB, at + hour * HOUR, [{ accounting: true }, {}, { agents: ["mendable", "late-joiner"] }, {}]);
    }
    await sweptToEnd(env.DB);
    const { env: counted, d1 } = counting("archive run");
    const report = await archive(counted);
    expect(report.more).toBe(true);
    expect(report.events.archived).toBeGreaterThan(500);
    // The run counts its own statements right, and stops within its budget.
    expect(d1.statements.length).toBe(report.statements);
    expect(report.statements).toBeLessThanOrEqual(STATEMENT_BUDGET);
    expect(report.puts).toBeLessThanOrEqual(PUT_BUDGET);
    expectWithin(d1);

    const limited = await archive(counting("archive run, limit 100").env, { limit: 100 });
    expect(limited.events.archived).toBe(100);

    const cron = counting("cron: sweep + archive");
    await worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), cron.env);
    expectWithin(cron.d1);
    expect(cron.d1.statements.length).toBeLessThanOrEqual(D1_LIMITS.queriesPerInvocation);
  });

  it("a sweep, a replay of a full page and reads of archived events and workflows", async () => {
    const sweep = counting("POST /v1/sweep");
    const post = (path: string, body: unknown, e: Env) =>
      worker.fetch(
        new Request(`https://agentwire.test${path}`, {
          method: "POST",
          headers: { ...ADMIN, "content-type": "application/json" },
          body: JSON.stringify(body),
        }),
        e,
        createExecutionContext(),
      );
    expect((await post("/v1/sweep", { graceSeconds: 0 }, sweep.env)).status).toBe(200);
    expectWithin(sweep.d1);

    // A full page: 1,000 events none of whose runs exist, each re-delivered.
    const from = Date.now();
    await logPast(
      env.DB,
      from,
      Array.from({ length: 1000 }, () => ({ type: "test.history", agents: [], status: "none" as const })),
    );
    const { queue, sent } = keepingQueue();
    const replay = counting("POST /v1/replay (1,000 events)", { TASKS_QUEUE: queue });
    switches.lateJoinerAdded = true;
    try {
      const body = { type: "test.history", from, agent: "late-joiner", limit: 1000 };
      const res = await post("/v1/replay", body, replay.env);
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ events: 1000, queued: 1000 });
    } finally {
      switches.lateJoinerAdded = false;
    }
    expect(sent).toHaveLength(1000);
    expectWithin(replay.d1);

    const { results } = await env.DB.prepare("SELECT id FROM archived_events LIMIT 1").all<{ id: string }>();
    const read = counting("GET /v1/events/:id (archived)");
    const got = await worker.fetch(
      new Request(`https://agentwire.test/v1/events/${results[0]!.id}`, { headers: ADMIN }),
      read.env,
      createExecutionContext(),
    );
    expect(await got.json()).toMatchObject({ archived: true });
    expectWithin(read.d1);
  });

  it("resuming a paused agent with 1,200 held deliveries", async () => {
    const held = await logPast(
      env.DB,
      Date.now(),
      Array.from({ length: 1200 }, () => ({ agents: ["mendable"], status: "none" as const })),
    );
    await env.DB.prepare(
      "INSERT INTO agent_state (agent, paused, changed_at) VALUES ('mendable', 1, 0) ON CONFLICT (agent) DO UPDATE SET paused = 1",
    ).run();
    await env.DB.prepare(
      "UPDATE deliveries SET held = 1 WHERE agent = 'mendable' AND event_id IN (SELECT value FROM json_each(?))",
    )
      .bind(JSON.stringify(held.map((e) => e.id)))
      .run();
    const { queue, sent } = keepingQueue();
    const resume = counting("POST /v1/agents/:name/resume (1,200 held)", { TASKS_QUEUE: queue });
    const res = await worker.fetch(
      new Request("https://agentwire.test/v1/agents/mendable/resume", { method: "POST", headers: ADMIN }),
      resume.env,
      createExecutionContext(),
    );
    expect(await res.json()).toMatchObject({ state: "active", released: 1200 });
    expect(sent).toHaveLength(1200);
    expectWithin(resume.d1);
  });
});

describe("100 bound parameters (and 100 KB of SQL) per statement", () => {
  it("ingest of a 100-event batch, each event routed to ten agents", async () => {
    const { queue, sent } = keepingQueue();
    const { env: counted, d1 } = counting("ingest, 100 events x 10 agents", {
      TASKS_QUEUE: queue,
      EVENTS_QUEUE: queue,
    });
    const body = JSON.stringify(Array.from({ length: 100 }, (_, n) => wideEvent(n)));
    const res = await wide.fetch(
      await signedRequest(body, { contentType: "application/cloudevents-batch+json" }),
      counted,
      createExecutionContext(),
    );
    expect(res.status).toBe(202);
    expectWithin(d1);
    expect(d1.peaks().params).toBeLessThanOrEqual(D1_LIMITS.paramsPerStatement);
    expect(sent.length).toBeGreaterThanOrEqual(100);
  });

  it("the events consumer logging a batch of 100 messages", async () => {
    const { queue } = keepingQueue();
    const { env: counted, d1 } = counting("events consumer, 100 messages", { TASKS_QUEUE: queue });
    const messages = Array.from({ length: 100 }, (_, n) => ({
      id: uniqueId("m"),
      timestamp: new Date(),
      attempts: 2, // a redelivery: everything is routed again
      body: { kind: "event", event: normalize(wideEvent(n)), receivedAt: Date.now() } satisfies EventMessage,
    }));
    const batch = createMessageBatch("agentwire-events", messages);
    await wide.queue(batch, counted);
    expect((await getQueueResult(batch, createExecutionContext())).retryMessages).toEqual([]);
    expectWithin(d1);
  });

  it("the tasks consumer claiming and finishing 100 runs, model-backed ones with their accounting", async () => {
    const { queue } = keepingQueue();
    const { env: counted, d1 } = counting("tasks consumer, 100 runs", { EVENTS_QUEUE: queue, DEAD_LETTERS: queue });
    const orders = Array.from({ length: 34 }, () => normalize(orderPlaced()));
    const tasks = orders
      .flatMap((event) =>
        ["fraud-screen", "inventory", "shipping-quote"].map((agent): TaskMessage => ({
          kind: "task",
          agent,
          event,
          receivedAt: Date.now(),
        })),
      )
      .slice(0, 100);
    const batch = createMessageBatch(
      "agentwire-tasks",
      tasks.map((body) => ({ id: uniqueId("t"), timestamp: new Date(), attempts: 1, body })),
    );
    await worker.queue(batch, counted);
    const result = await getQueueResult(batch, createExecutionContext());
    expect(result.retryMessages).toEqual([]);
    expectWithin(d1);
  });

  it("finishRuns of 100 runs in one batch, each with model calls and violations", async () => {
    const { env: counted, d1 } = counting("finishRuns, 100 runs");
    const [event] = await logPast(env.DB, Date.now(), [{ agents: [], status: "none" }]);
    const records = Array.from({ length: 100 }, (_, i) => ({
      source: event!.source,
      id: event!.id,
      agent: `agent-${i}`,
      attempt: 1,
      claim: `claim-${i}`,
      startedAt: Date.now(),
      finishedAt: Date.now() + 5,
      model: { ...MODEL, calls: [...MODEL.calls, ...MODEL.calls] },
      violations: [{ kind: "undeclared_emit", detail: "x".repeat(2000) }],
      status: "succeeded" as const,
      output: { events: [] },
    }));
    await finishRuns(counted.DB, records);
    expectWithin(d1);
  });

  it("the dead-letters consumer recording 100 letters", async () => {
    const { env: counted, d1 } = counting("dead letters, 100");
    const letters = Array.from({ length: 100 }, (_, i) => ({
      id: uniqueId("dl"),
      timestamp: new Date(),
      attempts: 4,
      body: {
        kind: "task",
        agent: `agent-${i % 3}`,
        event: normalize(orderPlaced()),
        receivedAt: Date.now(),
      } satisfies TaskMessage,
    }));
    await worker.queue(createMessageBatch("agentwire-dead-letters", letters), counted);
    expectWithin(d1);
  });

  it("the largest event ingest accepts is logged in a statement of a few hundred bytes of SQL, and archived", async () => {
    const { queue } = keepingQueue();
    const { env: counted, d1 } = counting("ingest, one 64 KiB event", { TASKS_QUEUE: queue, EVENTS_QUEUE: queue });
    // Just under the per-event cap (src/ingest/cloudevents.ts, 64 KiB of JSON): the envelope is a
    // bound value, far under D1's 1 MB, and the SQL stays short whatever the event's size.
    const big = { ...wideEvent(1), type: "test.rogue", data: { note: "n".repeat(64 * 1024 - 400) } };
    const res = await worker.fetch(await signedRequest(JSON.stringify(big)), counted, createExecutionContext());
    expect(res.status).toBe(202);
    expectWithin(d1);
    const peaks = d1.peaks();
    expect(peaks.largestValue).toBeGreaterThan(60_000);
    expect(peaks.largestValue).toBeLessThan(D1_LIMITS.bytesPerValue);
    expect(peaks.sqlBytes).toBeLessThan(10_000);
  });
});

describe("30 s per query", () => {
  // Ingest, routing, runs, the sweep, the archive, replays and reads, as recorded above: every
  // statement searches an index (or a rowid range) of the tables that grow with the log.
  const GROWING = [
    "events",
    "deliveries",
    "agent_runs",
    "model_calls",
    "policy_violations",
    "parked_events",
    "unrouted_events",
    "duplicates",
    "dead_letters",
    "workflows",
    "webhook_messages",
    "archive_objects",
    "archived_events",
    "archived_correlations",
  ];
  afterAll(() => {
    counted.length = 0;
  });

  it("no hot path scans a table that grows with the log", async () => {
    const all = counted.flatMap((c) => c.d1.statements);
    expect(all.length).toBeGreaterThan(100);
    const scans = new Set<string>();
    for (const { d1 } of counted) for (const s of await d1.scans(GROWING)) scans.add(s);
    expect([...scans]).toEqual([]);
    // What each invocation used (shown with --silent=false): statements, round trips, widest statement.
    console.log(Object.fromEntries(counted.map(({ label, d1 }) => [label, d1.peaks()])));
  });
});
