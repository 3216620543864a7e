// Work on an event after it left D1: a replay held for a paused agent is sent on resume from the
// archive, and the rows a replay (or a replayed dead letter) writes for an archived event move to R2
// on the next run once their work is over. Real local D1, R2 and queues.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { ArchiveReport } from "../src/archive/archive";
import { releaseHeldDeliveries } from "../src/runtime/replay";
import { switches, testRegistry } from "./support/fixtures";
import { ADMIN, adminGet, call, count, uniqueId, waitFor } from "./support/helpers";
import { HOUR, logPast, pastWindow, sweptToEnd } from "./support/past-log";

afterEach(async () => {
  switches.lateJoinerAdded = false;
  switches.repaired = false;
  await env.DB.prepare("UPDATE agent_state SET paused = 0").run();
});

async function post(path: string, body: unknown = {}) {
  return call(
    new Request(`https://agentwire.test${path}`, {
      method: "POST",
      headers: { ...ADMIN, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}
async function archiveNow() {
  const res = await post("/v1/archive");
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
  let n = 0;
  for (const t of ["deliveries", "agent_runs", "model_calls", "policy_violations", "parked_events"])
    n += await count(`SELECT COUNT(*) AS n FROM ${t} WHERE event_id = ?`, id);
  return n;
};
const indexedIn = (id: string) => count("SELECT COUNT(*) AS n FROM archived_events WHERE id = ?", id);
const ranBy = (body: any, agent: string) => body.runs.find((r: any) => r.agent === agent)?.status;

describe("work on an archived event", () => {
  it("sends a replay held for a paused agent on resume, from the archive", async () => {
    const correlationid = uniqueId("held");
    const [event] = await logPast(env.DB, pastWindow() - 2 * HOUR, [
      { type: "test.history", agents: [], status: "none", correlationid },
    ]);
    await sweptToEnd(env.DB);
    await archiveNow();
    expect(await inD1(event!.id)).toBe(0);

    expect((await post("/v1/agents/late-joiner/pause")).status).toBe(200);
    switches.lateJoinerAdded = true;
    const replay = await post("/v1/replay", { correlationid, agent: "late-joiner" });
    expect(await replay.json()).toMatchObject({ events: 1, queued: 0, held: 1 });
    // Held work is not over: the archive leaves the delivery where resume finds it.
    await archiveNow();
    expect(await count("SELECT COUNT(*) AS n FROM deliveries WHERE event_id = ? AND held = 1", event!.id)).toBe(1);

    const resume = await post("/v1/agents/late-joiner/resume");
    expect(await resume.json()).toMatchObject({ state: "active", released: 1, remaining: false });
    const shown = await waitFor(async () => {
      const body = await getEventBody(event!.id);
      return ranBy(body, "late-joiner") === "succeeded" && body;
    });
    expect(shown.archived).toBe(true);
    expect(await count("SELECT COUNT(*) AS n FROM deliveries WHERE event_id = ? AND held = 1", event!.id)).toBe(0);
  });

  it("re-sends a lost delivery of an archived event from the archive when the sweep finds it", async () => {
    const correlationid = uniqueId("swept");
    const [event] = await logPast(env.DB, pastWindow() - 4 * HOUR, [
      { type: "test.history", agents: [], status: "none", correlationid },
    ]);
    await sweptToEnd(env.DB);
    await archiveNow();
    expect(await inD1(event!.id)).toBe(0);
    // A replay's delivery whose task was lost: routed a minute ago, never run.
    switches.lateJoinerAdded = true;
    await env.DB.prepare(
      "INSERT INTO deliveries (event_source, event_id, agent, routed_at, held) VALUES (?, ?, 'late-joiner', ?, 0)",
    )
      .bind(event!.source, event!.id, Date.now() - 60_000)
      .run();
    // No alert checks: a sweep_repaired alert logged now would sit in the log ahead of the past events
    // the next tests log, and the archive, which goes in log order, stops at the first young event.
    const swept = await (await post("/v1/sweep", { graceSeconds: 0, alerts: false })).json<any>();
    expect(swept.counts.deliveries.repaired).toBeGreaterThanOrEqual(1);
    await waitFor(async () => ranBy(await getEventBody(event!.id), "late-joiner") === "succeeded");
  });

  it("holds a released delivery again when its task cannot be sent, and sends it on the next resume", async () => {
    const correlationid = uniqueId("refused");
    const [event] = await logPast(env.DB, pastWindow() - 5 * HOUR, [
      { type: "test.history", agents: [], status: "none", correlationid },
    ]);
    await sweptToEnd(env.DB);
    await archiveNow();
    await post("/v1/agents/late-joiner/pause");
    switches.lateJoinerAdded = true;
    expect(await (await post("/v1/replay", { correlationid, agent: "late-joiner" })).json()).toMatchObject({ held: 1 });
    await env.DB.prepare("UPDATE agent_state SET paused = 0 WHERE agent = 'late-joiner'").run();

    const refusing = {
      ...env,
      TASKS_QUEUE: {
        send: () => Promise.reject(new Error("injected: queue down")),
        sendBatch: () => Promise.reject(new Error("injected: queue down")),
      } as unknown as Queue,
    };
    await expect(releaseHeldDeliveries(refusing, testRegistry, "late-joiner")).rejects.toThrow(/queue down/);
    expect(await count("SELECT COUNT(*) AS n FROM deliveries WHERE event_id = ? AND held = 1", event!.id)).toBe(1);

    expect(await releaseHeldDeliveries(env, testRegistry, "late-joiner")).toEqual({ released: 1, done: true });
    await waitFor(async () => ranBy(await getEventBody(event!.id), "late-joiner") === "succeeded");
  });

  it("moves the rows a replay wrote for an archived event on the next run, and reads still show them", async () => {
    const correlationid = uniqueId("late");
    const [event] = await logPast(env.DB, pastWindow() - 3 * HOUR, [
      { type: "test.history", agents: [], status: "none", correlationid },
    ]);
    await sweptToEnd(env.DB);
    await archiveNow();
    expect(await inD1(event!.id)).toBe(0);

    switches.lateJoinerAdded = true;
    const replay = await post("/v1/replay", { correlationid, agent: "late-joiner" });
    expect(await replay.json()).toMatchObject({ events: 1, queued: 1 });
    await waitFor(async () => ranBy(await getEventBody(event!.id), "late-joiner") === "succeeded");
    const before = await getEventBody(event!.id);
    expect(await rowsInD1(event!.id)).toBe(2); // its delivery and its run, written after it was archived

    const report = await archiveNow();
    expect(report.reopened.archived).toBe(1);
    expect(await rowsInD1(event!.id)).toBe(0);
    expect(await indexedIn(event!.id)).toBe(2); // its first object, and the one with the late rows
    expect(await getEventBody(event!.id)).toEqual(before);
    // The archive knows the run succeeded: a second replay sends nothing.
    const again = await post("/v1/replay", { correlationid, agent: "late-joiner" });
    expect(await again.json()).toMatchObject({ events: 1, queued: 0, skipped: 1 });
    await archiveNow();
    expect(await indexedIn(event!.id)).toBe(2);
  });

  it("moves the run of a replayed dead letter whose event was archived", async () => {
    const correlationid = uniqueId("dead");
    const [event] = await logPast(env.DB, pastWindow() - 4 * HOUR, [{ status: "dead_lettered", correlationid }]);
    const letter = {
      kind: "task",
      agent: "mendable",
      event: event!,
      receivedAt: pastWindow(),
    };
    await env.DB.prepare(
      `INSERT INTO dead_letters (kind, event_source, event_id, agent, attempts, error, message, recorded_at)
       VALUES ('task', ?, ?, 'mendable', 3, NULL, ?, ?)`,
    )
      .bind(event!.source, event!.id, JSON.stringify(letter), Date.now())
      .run();
    await sweptToEnd(env.DB);
    await archiveNow();
    expect(await inD1(event!.id)).toBe(0);

    switches.repaired = true;
    const replayed = await post("/v1/dead-letters/replay", { correlationid });
    expect((await replayed.json<any>()).replayed).toHaveLength(1);
    await waitFor(async () => ranBy(await getEventBody(event!.id), "mendable") === "succeeded");
    expect(await count("SELECT COUNT(*) AS n FROM agent_runs WHERE event_id = ?", event!.id)).toBe(1);

    await archiveNow();
    expect(await rowsInD1(event!.id)).toBe(0);
    const shown = await getEventBody(event!.id);
    expect(shown).toMatchObject({ archived: true, runs: [{ agent: "mendable", status: "succeeded" }] });
  });
});
