// The archive: old events with their rows and finished workflows move from D1 to R2 (gzip NDJSON by
// hour), unfinished work stays, reads and replays reach into the archive, and a crash between the
// R2 put and the D1 delete loses nothing. Real local D1, R2 and queues.
import { createExecutionContext, createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { archive, type ArchiveReport } from "../src/archive/archive";
import { EventLineSchema, WorkflowLineSchema } from "../src/archive/format";
import { checkConfig } from "../src/config";
import { recordWorkflows } from "../src/db/workflows";
import { countedEnv } from "./support/d1-counter";
import { switches } from "./support/fixtures";
import { ADMIN, adminGet, call, count, uniqueId, waitFor } from "./support/helpers";
import { DAY, HOUR, logPast, pastWindow, sweptToEnd } from "./support/past-log";
import worker from "./support/worker";

afterEach(() => {
  switches.lateJoinerAdded = false;
});

async function post(path: string, body: unknown = {}, headers: Record<string, string> = ADMIN) {
  return call(
    new Request(`https://agentwire.test${path}`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}
async function archiveNow(body: unknown = {}) {
  const res = await post("/v1/archive", body);
  expect(res.status).toBe(200);
  return res.json<ArchiveReport>();
}
const getEventBody = async (id: string) => {
  const res = await adminGet(`/v1/events/${encodeURIComponent(id)}`);
  expect(res.status).toBe(200);
  return res.json<any>();
};
const inD1 = (id: string) => count("SELECT COUNT(*) AS n FROM events WHERE id = ?", id);
const rowsInD1 = async (id: string) => {
  const tables = ["deliveries", "agent_runs", "model_calls", "policy_violations"];
  let n = 0;
  for (const t of tables) n += await count(`SELECT COUNT(*) AS n FROM ${t} WHERE event_id = ?`, id);
  return n;
};
/** The keys of the objects an archived event is indexed under. */
const objectsOf = async (id: string) => {
  const { results } = await env.DB.prepare(
    "SELECT o.key FROM archived_events a JOIN archive_objects o ON o.seq = a.object WHERE a.id = ? ORDER BY o.seq",
  )
    .bind(id)
    .all<{ key: string }>();
  return results.map((r) => r.key);
};
async function linesOf(key: string) {
  const object = await env.ARCHIVE.get(key);
  expect(object).not.toBeNull();
  const text = await new Response(object!.body.pipeThrough(new DecompressionStream("gzip"))).text();
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown);
}
const partition = (ms: number) => new Date(ms).toISOString().slice(0, 13).replace(/[-T]/g, "/");

describe("the archive", () => {
  it("moves old finished events with every row keyed by them to R2, gzip NDJSON by hour, and deletes them from D1", async () => {
    const at = pastWindow();
    const old = await logPast(env.DB, at, [
      { accounting: true },
      { accounting: true, status: "dead_lettered" },
      { agents: ["mendable", "late-joiner"], accounting: true },
    ]);
    const nextHour = await logPast(env.DB, at + HOUR, [{}]);
    await sweptToEnd(env.DB);

    const report = await archiveNow();
    expect(report.events.archived).toBeGreaterThanOrEqual(4);
    for (const event of [...old, ...nextHour]) {
      expect(await inD1(event.id)).toBe(0);
      expect(await rowsInD1(event.id)).toBe(0);
    }
    // One object per hour, under the hour the events were received.
    const [key] = await objectsOf(old[0]!.id);
    expect(key).toMatch(new RegExp(`^events/${partition(at)}/s\\d+-\\d+-[0-9a-f]{8}\\.ndjson\\.gz$`));
    expect((await objectsOf(nextHour[0]!.id))[0]).toMatch(new RegExp(`^events/${partition(at + HOUR)}/`));
    const head = await env.ARCHIVE.head(key!);
    expect(head?.httpMetadata?.contentEncoding).toBe("gzip");

    const lines = (await linesOf(key!)).map((l) => EventLineSchema.parse(l));
    const line = lines.find((l) => l.event.id === old[2]!.id)!;
    expect(line.event).toEqual(old[2]);
    expect(line.deliveries.map((d) => d.agent).sort()).toEqual(["late-joiner", "mendable"]);
    expect(line.runs.map((r) => [r.agent, r.status]).sort()).toEqual([
      ["late-joiner", "succeeded"],
      ["mendable", "succeeded"],
    ]);
    expect(line.modelCalls).toHaveLength(2);
    expect(line.modelCalls[0]).toMatchObject({ model: "claude-haiku-5-5", input_tokens: 812 });
    expect(line.violations).toHaveLength(2);
    expect(lines.find((l) => l.event.id === old[1]!.id)?.runs[0]).toMatchObject({ status: "dead_lettered" });
  });

  it("answers GET /v1/events/:id for an archived event in the same shape, marked archived", async () => {
    const [event] = await logPast(env.DB, pastWindow(), [{ agents: ["mendable", "late-joiner"], accounting: true }]);
    await sweptToEnd(env.DB);
    const before = await getEventBody(event!.id);
    expect(before.archived).toBe(false);
    expect(before.runs).toHaveLength(2);
    await archiveNow();
    expect(await inD1(event!.id)).toBe(0);
    const after = await getEventBody(event!.id);
    expect(after).toEqual({ ...before, archived: true });
    const bySource = await adminGet(`/v1/events/${event!.id}?source=${encodeURIComponent(event!.source)}`);
    expect(bySource.status).toBe(200);
    expect((await adminGet(`/v1/events/${event!.id}?source=/elsewhere`)).status).toBe(404);
  });

  it("archives finished workflows, and GET /v1/workflows/:id still shows them with their events and runs", async () => {
    const at = pastWindow();
    const done = uniqueId("wf");
    await logPast(env.DB, at, [{ correlationid: done }, { correlationid: done, type: "test.history", agents: [] }]);
    await recordWorkflows(env.DB, [workflow(done, "completed", at)]);
    await sweptToEnd(env.DB);
    const before = await adminGet(`/v1/workflows/${done}`);
    expect(before.status).toBe(200);
    const shown = await before.json<any>();
    expect(shown.events).toHaveLength(2);

    const report = await archiveNow();
    expect(report.workflows.archived).toBeGreaterThanOrEqual(1);
    expect(await count("SELECT COUNT(*) AS n FROM workflows WHERE id = ?", done)).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE correlation_id = ?", done)).toBe(0);
    const { results } = await env.DB.prepare(
      "SELECT o.key FROM archived_correlations c JOIN archive_objects o ON o.seq = c.object WHERE c.correlation_id = ? AND o.kind = 'workflows'",
    )
      .bind(done)
      .all<{ key: string }>();
    expect(results[0]?.key).toMatch(new RegExp(`^workflows/${partition(at)}/`));
    const lines = (await linesOf(results[0]!.key)).map((l) => WorkflowLineSchema.parse(l));
    expect(lines.find((l) => l.workflow.id === done)?.workflow).toMatchObject({ status: "completed", version: 3 });

    const after = await adminGet(`/v1/workflows/${done}`);
    expect(after.status).toBe(200);
    expect(await after.json()).toEqual(shown);
  });

  it("replays an archived range: an agent added later gets it once however often, a run that succeeded is not redone", async () => {
    const at = pastWindow() - 3 * HOUR; // a range of its own
    const history = await logPast(env.DB, at, [
      { type: "test.history", data: { n: 1 }, agents: [], status: "none" },
      { type: "test.history", data: { n: 2 }, agents: [], status: "none" },
    ]);
    const done = await logPast(env.DB, at, [{}]);
    await sweptToEnd(env.DB);
    await archiveNow();
    for (const event of [...history, ...done]) expect(await inD1(event.id)).toBe(0);

    switches.lateJoinerAdded = true;
    const range = { from: at - 1000, to: at + 1000 };
    const first = await post("/v1/replay", { type: "test.history", ...range });
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ events: 2, queued: 2, skipped: 0 });
    for (const event of history) {
      await waitFor(async () => (await getEventBody(event.id)).runs.some((r: any) => r.status === "succeeded"));
    }
    const again = await post("/v1/replay", { type: "test.history", ...range });
    expect(await again.json()).toMatchObject({ events: 2, queued: 0, skipped: 2 });
    // mendable succeeded on this one before it was archived: the archive says so.
    const succeeded = await post("/v1/replay", { type: "test.repairable", correlationid: done[0]!.correlationid });
    expect(await succeeded.json()).toMatchObject({ events: 1, queued: 0, skipped: 1 });

    const shown = await getEventBody(history[0]!.id);
    expect(shown.archived).toBe(true);
    expect(shown.runs.map((r: any) => r.agent)).toEqual(["late-joiner"]);
  });

  it("loses nothing when the delete fails after the put, and the next run serves each event once", async () => {
    const [event] = await logPast(env.DB, pastWindow(), [{ agents: ["mendable", "late-joiner"], accounting: true }]);
    await sweptToEnd(env.DB);
    const before = await getEventBody(event!.id);
    const objectsBefore = (await env.ARCHIVE.list({ prefix: "events/" })).objects.length;

    const crashing = countedEnv(env);
    crashing.d1.failBatch = (sqls) => sqls.some((s) => /DELETE FROM events/.test(s));
    await expect(archive(crashing.env)).rejects.toThrow(/injected/);
    // The object was written; nothing was deleted or indexed.
    expect((await env.ARCHIVE.list({ prefix: "events/" })).objects.length).toBeGreaterThan(objectsBefore);
    expect(await inD1(event!.id)).toBe(1);
    expect(await rowsInD1(event!.id)).toBe(before.runs.length + before.deliveries.length + 2 + 2);
    expect(await objectsOf(event!.id)).toEqual([]);
    expect(await getEventBody(event!.id)).toEqual(before);

    const report = await archiveNow();
    expect(report.events.archived).toBeGreaterThanOrEqual(1);
    expect(await inD1(event!.id)).toBe(0);
    // Two objects hold the event's line; the index lists the one committed, so it is served once.
    expect(await objectsOf(event!.id)).toHaveLength(1);
    expect(await getEventBody(event!.id)).toEqual({ ...before, archived: true });
    const replay = await post("/v1/replay", { correlationid: event!.correlationid });
    expect(await replay.json()).toMatchObject({ events: 1 });
    // And again: nothing left to move.
    expect((await archiveNow()).events.archived).toBe(0);
    expect(await objectsOf(event!.id)).toHaveLength(1);
  });
});

describe("POST /v1/archive, the cron trigger and the setting", () => {
  it("needs the admin token, refuses an invalid body, and answers totals", async () => {
    expect((await post("/v1/archive", {}, {})).status).toBe(401);
    expect((await post("/v1/archive", { limit: 0 })).status).toBe(400);
    expect((await post("/v1/archive", { nonsense: true })).status).toBe(400);
    const totals = await (await adminGet("/v1/archive")).json<any>();
    expect(totals).toHaveProperty("totals");
  });

  it("runs after the sweep from the cron trigger, each whether the other fails", async () => {
    const cron = (vars: Record<string, string>) =>
      worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), { ...env, ...vars });
    const runs = () => count("SELECT COALESCE(MAX(runs), 0) AS n FROM sweeps");

    const [first] = await logPast(env.DB, pastWindow(), [{}]);
    await sweptToEnd(env.DB);
    // The sweep's settings are wrong: it fails, the archive still runs.
    await expect(cron({ SWEEP_LIMIT: "0" })).rejects.toThrow(/SWEEP_LIMIT/);
    expect(await inD1(first!.id)).toBe(0);

    const [second] = await logPast(env.DB, pastWindow(), [{}]);
    await sweptToEnd(env.DB);
    const sweeps = await runs();
    // The archive's setting is wrong: it fails, the sweep still runs.
    await expect(cron({ ARCHIVE_AFTER_HOURS: "soon" })).rejects.toThrow(/ARCHIVE_AFTER_HOURS/);
    expect(await runs()).toBe(sweeps + 1);
    expect(await inD1(second!.id)).toBe(1);

    await cron({});
    expect(await inD1(second!.id)).toBe(0);
  });

  it("refuses a hot window shorter than the sweep's lookback, for the archive only", async () => {
    const { problems } = checkConfig({ ...env, ARCHIVE_AFTER_HOURS: "12", SWEEP_LOOKBACK_SECONDS: "86400" });
    expect(problems).toEqual([
      expect.objectContaining({
        name: "ARCHIVE_AFTER_HOURS",
        parts: ["archive"],
        problem: expect.stringContaining("24 h"),
      }),
    ]);
    expect(checkConfig({ ...env, ARCHIVE_AFTER_HOURS: "24", SWEEP_LOOKBACK_SECONDS: "86400" }).problems).toEqual([]);
    const res = await worker.fetch(
      new Request("https://agentwire.test/v1/health"),
      { ...env, ARCHIVE_AFTER_HOURS: "12" },
      createExecutionContext(),
    );
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      parts: { ingest: "ok", runs: "ok", admin: "ok", archive: "misconfigured" },
    });
  });
});

// Last: a recent event holds the forward scan at its place in the log until it is old enough, as in
// production, where later events are newer. Old events the tests log after it would wait.
describe("what stays in D1", () => {
  it("leaves recent work, unfinished work, and what the sweep has not seen", async () => {
    const at = pastWindow();
    const open = uniqueId("wf");
    await recordWorkflows(env.DB, [workflow(open, "running", at)]);
    const unfinished = await logPast(env.DB, at, [
      { status: "failed" },
      { status: "running" },
      { status: "none" },
      { correlationid: open },
    ]);
    const held = await logPast(env.DB, at, [{}]);
    await env.DB.prepare("UPDATE deliveries SET held = 1 WHERE event_id = ?").bind(held[0]!.id).run();
    await sweptToEnd(env.DB);
    const unseen = await logPast(env.DB, at, [{}]);
    const recent = await logPast(env.DB, Date.now() - DAY, [{}]);

    await archiveNow();
    for (const event of [...recent, ...unfinished, ...held, ...unseen]) expect(await inD1(event.id)).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM workflows WHERE id = ?", open)).toBe(1);

    // Left behind, not forgotten: once its work is over, a later run's re-check takes it.
    await env.DB.prepare("UPDATE agent_runs SET status = 'succeeded' WHERE event_id = ?").bind(unfinished[0]!.id).run();
    await archiveNow();
    expect(await inD1(unfinished[0]!.id)).toBe(0);
    expect(await objectsOf(unfinished[0]!.id)).toHaveLength(1);
  });
});

function workflow(id: string, status: string, at: number) {
  const finished = status !== "running" && status !== "awaiting_approval";
  return {
    state: {
      id,
      workflow: "order",
      status,
      version: 3,
      start: { id: `evt-${id}` },
      startedAt: at,
      deadlineAt: at + 60_000,
      ...(finished ? { completedAt: at + 5_000, outcome: "order.confirmed", verdict: { decision: "confirm" } } : {}),
      results: [{ id: "r1" }],
      late: [],
    },
    ...(finished ? { outcomeEventId: `out-${id}` } : {}),
    updatedAt: at + 5_000,
  };
}
