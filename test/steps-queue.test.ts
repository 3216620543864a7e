// Steps survive retries, through the tasks queue consumer and D1: a run that fails after paid steps
// pays for none of them again on its retry, and a replay from the log with recorded outputs re-runs
// the agent (here: its changed handler) without a single model call, even with no API key set.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { normalize, type TaskMessage } from "../src/bus/envelope";
import { setModelFetch } from "../src/models/client";
import { useFakeMessages } from "./support/fake-anthropic";
import { toolsmithLookups, toolsmithNote, toolsmithStrict } from "./support/fixtures";
import { ADMIN, call, uniqueId, waitFor } from "./support/helpers";
import worker from "./support/worker";

const KEYED = { ...env, ANTHROPIC_API_KEY: "sk-ant-test" } as Env;

const useFake = useFakeMessages;
afterEach(() => {
  setModelFetch(undefined);
  toolsmithStrict.on = false;
  toolsmithNote.suffix = "";
  toolsmithLookups.length = 0;
});
const replay = (body: unknown) =>
  call(
    new Request("https://agentwire.test/v1/replay", {
      method: "POST",
      headers: { ...ADMIN, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );

const verdict = (v: string) => ({
  answer: { decision: { verdict: v, note: "from the model" }, confidence: 0.95, escalate: false, rationale: "fake" },
});
const task = (customerId = uniqueId("vip")): TaskMessage => ({
  kind: "task",
  agent: "toolsmith",
  event: normalize({
    specversion: "1.0",
    id: uniqueId("evt"),
    source: "/crm",
    type: "test.tooled",
    data: { customerId },
  }),
  receivedAt: Date.now(),
});

async function runTask(body: TaskMessage, attempts: number, e: Env = KEYED) {
  const batch = createMessageBatch("agentwire-tasks", [{ id: uniqueId("msg"), timestamp: new Date(), attempts, body }]);
  const ctx = createExecutionContext();
  await worker.queue(batch, e);
  return getQueueResult(batch, ctx);
}
/** The event in the log, as routing would have put it there (replay reads the log). */
const logEvent = (t: TaskMessage) =>
  env.DB.prepare(
    `INSERT INTO events (source, id, type, correlation_id, hop_count, envelope, received_at, logged_at)
     VALUES (?, ?, ?, ?, 0, ?, ?, ?)`,
  )
    .bind(
      t.event.source,
      t.event.id,
      t.event.type,
      t.event.correlationid,
      JSON.stringify(t.event),
      Date.now(),
      Date.now(),
    )
    .run();
const stepsOf = async (eventId: string) =>
  (
    await env.DB.prepare(
      "SELECT step, kind, name, attempt, cost_micros FROM run_steps WHERE event_id = ? ORDER BY step",
    )
      .bind(eventId)
      .all<{ step: number; kind: string; name: string; attempt: number; cost_micros: number }>()
  ).results;

describe("a tool-using agent's steps in D1", () => {
  it("fails after two paid steps, and its retry makes no second call for them", async () => {
    let overloaded = true;
    const fake = useFake((req) => {
      if (req.toolResults.length === 0) return { toolUses: [{ name: "lookup", input: { customerId: "vip-7" } }] };
      if (overloaded) return { status: 529, error: { type: "overloaded_error", message: "Overloaded" } };
      return verdict("welcome");
    });
    const t = task("vip-7");
    await logEvent(t);
    const first = await runTask(t, 1);
    expect(first.retryMessages).toHaveLength(1);
    expect((await stepsOf(t.event.id)).map((s) => `${s.step}:${s.kind}:${s.attempt}`)).toEqual([
      "0:model:1",
      "1:tool:1",
    ]);
    expect(fake.requests).toHaveLength(2);

    overloaded = false;
    const second = await runTask(t, 2);
    expect(second.explicitAcks).toHaveLength(1);
    // one new request (the answer); the first turn and the lookup were replayed from D1
    expect(fake.requests).toHaveLength(3);
    expect(toolsmithLookups).toHaveLength(1);
    expect(fake.requests[2]?.toolResults[0]?.content).toBe('{"customerId":"vip-7","vip":true}');
    expect((await stepsOf(t.event.id)).map((s) => `${s.step}:${s.kind}:${s.attempt}`)).toEqual([
      "0:model:1",
      "1:tool:1",
      "2:model:2",
    ]);
    const calls = await env.DB.prepare(
      "SELECT attempt, outcome, cost_micros FROM model_calls WHERE event_id = ? ORDER BY attempt, ordinal",
    )
      .bind(t.event.id)
      .all<{ attempt: number; outcome: string; cost_micros: number }>();
    expect(calls.results.map((c) => `${c.attempt}:${c.outcome}`)).toEqual([
      "1:tool_use",
      "1:error",
      "2:replayed",
      "2:ok",
    ]);
    expect(calls.results.find((c) => c.outcome === "replayed")?.cost_micros).toBe(0);

    // The event's view shows every step as a span of the run, in order.
    const res = await call(
      new Request(`https://agentwire.test/v1/events/${t.event.id}?source=%2Fcrm`, { headers: ADMIN }),
    );
    const body = await res.json<{ runs: { agent: string; steps: { kind: string; tool?: string }[] }[] }>();
    const run = body.runs.find((r) => r.agent === "toolsmith");
    expect(run?.steps.map((s) => s.tool ?? s.kind)).toEqual(["model", "lookup", "model"]);
  });

  it("replays a dead-lettered run with its recorded outputs: no model call, no key needed", async () => {
    const fake = useFake((req) =>
      req.toolResults.length === 0
        ? { toolUses: [{ name: "lookup", input: { customerId: "vip-9" } }] }
        : verdict("vip"),
    );
    toolsmithStrict.on = true;
    const t = task("vip-9");
    await logEvent(t);
    const first = await runTask(t, 1);
    expect(first.explicitAcks).toHaveLength(1); // dead-lettered: sent to the DLQ, acked here
    await waitFor(() =>
      env.DB.prepare("SELECT 1 FROM agent_runs WHERE event_id = ? AND status = 'dead_lettered'")
        .bind(t.event.id)
        .first(),
    );
    expect(fake.requests).toHaveLength(2);

    // The handler changed; re-run history through it with the recorded outputs, on the real queue
    // (whose consumer has no API key).
    toolsmithStrict.on = false;
    const res = await call(
      new Request("https://agentwire.test/v1/replay", {
        method: "POST",
        headers: { ...ADMIN, "content-type": "application/json" },
        body: JSON.stringify({ correlationid: t.event.correlationid, agent: "toolsmith", models: "recorded" }),
      }),
    );
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ queued: 1 });
    const done = await waitFor(() =>
      env.DB.prepare("SELECT envelope FROM events WHERE causation_id = ? AND type = 'test.tooled.done'")
        .bind(t.event.id)
        .first<{ envelope: string }>(),
    );
    expect(JSON.parse(done.envelope).data).toEqual({ verdict: "vip", note: "from the model" });
    expect(fake.requests).toHaveLength(2);
    expect(toolsmithLookups).toHaveLength(1);
  });

  it("refuses a replay's models choice it does not know", async () => {
    const res = await call(
      new Request("https://agentwire.test/v1/replay", {
        method: "POST",
        headers: { ...ADMIN, "content-type": "application/json" },
        body: JSON.stringify({ type: "test.tooled", models: "cached" }),
      }),
    );
    expect(res.status).toBe(400);
  });

  it("re-runs a succeeded run through a changed handler: recorded outputs, a new event, once per re-run", async () => {
    const fake = useFake((req) =>
      req.toolResults.length === 0
        ? { toolUses: [{ name: "lookup", input: { customerId: "vip-3" } }] }
        : verdict("vip"),
    );
    const t = task("vip-3");
    await logEvent(t);
    expect((await runTask(t, 1)).explicitAcks).toHaveLength(1);
    const doneEvents = async () =>
      (
        await env.DB.prepare("SELECT id, envelope FROM events WHERE causation_id = ? AND type = 'test.tooled.done'")
          .bind(t.event.id)
          .all<{ id: string; envelope: string }>()
      ).results;
    await waitFor(async () => (await doneEvents()).length === 1);
    // Without a re-run, a replay skips what succeeded.
    expect(await (await replay({ correlationid: t.event.correlationid, agent: "toolsmith" })).json()).toMatchObject({
      queued: 0,
    });
    expect((await replay({ correlationid: t.event.correlationid, rerun: true })).status).toBe(400);

    toolsmithNote.suffix = " (v2)";
    const res = await replay({
      correlationid: t.event.correlationid,
      agent: "toolsmith",
      models: "recorded",
      rerun: true,
    });
    expect(res.status).toBe(202);
    const body = await res.json<{ queued: number; rerun: string }>();
    expect(body).toMatchObject({ queued: 1, rerun: expect.stringMatching(/^rr_/) });
    const both = await waitFor(async () => {
      const rows = await doneEvents();
      return rows.length === 2 ? rows : undefined;
    });
    expect(new Set(both.map((r) => r.id)).size).toBe(2);
    expect(both.map((r) => JSON.parse(r.envelope).data.note).sort()).toEqual(["from the model", "from the model (v2)"]);
    expect(fake.requests).toHaveLength(2);
    expect(toolsmithLookups).toHaveLength(1);

    // The same re-run delivered again runs nothing: its generation already finished the run.
    const again = await runTask({ ...t, models: "recorded", rerun: body.rerun }, 1, env);
    expect(again.explicitAcks).toHaveLength(1);
    expect(await doneEvents()).toHaveLength(2);
  });
});
