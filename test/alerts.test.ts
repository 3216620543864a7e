// Alerts: agentwire's own `alert.raised` events, logged once per condition, subject and window however
// often the condition is seen, and raised by what watches for them: the dead-letter consumer, the
// sweep's checks (failing agents, workflows waiting for a person, the budget), a circuit opening.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ALERT_SOURCE, raiseAlert } from "../src/alerts/raise";
import { testRegistry } from "./support/fixtures";
import { ADMIN, call, uniqueId, waitFor } from "./support/helpers";

interface Logged {
  id: string;
  source: string;
  data: { condition: string; subject: string; severity: string; summary: string; windowStart: string };
}

async function alerts(condition: string, subject?: string): Promise<Logged[]> {
  const { results } = await env.DB.prepare("SELECT envelope FROM events WHERE type = 'alert.raised'").all<{
    envelope: string;
  }>();
  return results
    .map((r) => JSON.parse(r.envelope) as Logged)
    .filter((e) => e.data.condition === condition && (subject === undefined || e.data.subject === subject));
}

const sweepNow = async () => {
  const res = await call(
    new Request("https://agentwire.test/v1/sweep", {
      method: "POST",
      headers: { ...ADMIN, "content-type": "application/json" },
      body: "{}",
    }),
  );
  expect(res.status).toBe(200);
  return res.json<{ alerts: { condition: string; subject: string; summary: string }[] }>();
};

describe("alerts", () => {
  it("are logged once per condition, subject and window, as events from agentwire's own source", async () => {
    const subject = uniqueId("subject");
    const hour = Date.UTC(2026, 10, 22, 10);
    const input = { condition: "sweep_repaired", subject, severity: "warning", summary: "test" } as const;
    await raiseAlert(env, testRegistry.catalog, { ...input, at: hour + 1000 });
    await raiseAlert(env, testRegistry.catalog, { ...input, at: hour + 50_000 });
    await raiseAlert(env, testRegistry.catalog, { ...input, at: hour + 3_600_000 + 5 });
    const logged = await waitFor(async () => {
      const found = await alerts("sweep_repaired", subject);
      return found.length === 2 && found;
    });
    expect(logged.map((e) => e.data.windowStart).sort()).toEqual([
      "2026-11-22T10:00:00.000Z",
      "2026-11-22T11:00:00.000Z",
    ]);
    expect(logged.every((e) => e.source === ALERT_SOURCE && e.id.startsWith("alert_"))).toBe(true);
  });

  it("an outside sender cannot raise one: the source is reserved and the type internal", async () => {
    const { postEvents } = await import("./support/helpers");
    const forged = await postEvents({
      specversion: "1.0",
      id: uniqueId("forged"),
      source: "/ops/pager",
      type: "alert.raised",
      data: {
        condition: "budget_100",
        subject: "budget",
        severity: "critical",
        summary: "pay me",
        windowStart: "x",
        details: {},
      },
    });
    expect(forged.status).toBe(422);
  });

  it("the sweep raises one for a workflow waiting for approval too long, and for an agent failing more than usual", async () => {
    const now = Date.now();
    const id = uniqueId("ord");
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO workflows (id, workflow, status, version, start_event_id, started_at, deadline_at, approval_deadline_at,
           results, late, updated_at) VALUES (?, 'order', 'awaiting_approval', 1, ?, ?, ?, ?, '[]', '[]', ?)`,
      ).bind(id, `evt_${id}`, now - 20 * 60_000, now + 3_600_000, now + 3_600_000, now),
      ...Array.from({ length: 6 }, (_, i) =>
        env.DB.prepare(
          `INSERT INTO agent_runs (event_source, event_id, agent, status, attempt, claim, started_at, finished_at, latency_ms)
           VALUES ('/test', ?, 'flaky-agent', ?, 1, 'c', ?, ?, 10)`,
        ).bind(`${id}_${i}`, i < 3 ? "failed" : "succeeded", now - 60_000, now - 59_000),
      ),
    ]);
    const { alerts: raised } = await sweepNow();
    expect(raised).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ condition: "approval_waiting", subject: "order" }),
        expect.objectContaining({ condition: "agent_failure_rate", subject: "flaky-agent" }),
      ]),
    );
    await waitFor(async () => (await alerts("approval_waiting", "order")).length === 1);
    await waitFor(async () => (await alerts("agent_failure_rate", "flaky-agent")).length === 1);
    // The next sweep in the same hour sees the same conditions and logs nothing new.
    await sweepNow();
    await new Promise((r) => setTimeout(r, 200));
    expect(await alerts("approval_waiting", "order")).toHaveLength(1);
  });

  it("the sweep raises one when today's model budget is at 80%", async () => {
    const ledger = env.BUDGET.get(env.BUDGET.idFromName("ledger"));
    const status = await ledger.status();
    const toSpend = Math.ceil(status.dailyCapMicros * 0.85) - status.dailySpentMicros;
    await ledger.charge({ workflowId: uniqueId("wf"), micros: toSpend });
    const { alerts: raised } = await sweepNow();
    expect(raised).toEqual(
      expect.arrayContaining([expect.objectContaining({ condition: "budget_80", subject: "budget" })]),
    );
    await waitFor(async () => (await alerts("budget_80", "budget")).length === 1);
  });

  it("dead letters over the threshold in an hour raise one", async () => {
    const now = Date.now();
    // Dead letters as the consumer records them (a whole task message each), so every list still reads them:
    // ALERT_DEAD_LETTERS is 500 in the tests (vitest.config.mts).
    const tag = uniqueId("dl");
    await env.DB.prepare(
      `WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 500)
       INSERT INTO dead_letters (kind, event_source, event_id, agent, attempts, error, message, recorded_at)
       SELECT 'task', '/test', ?1 || n, 'exploder', 4, NULL,
         json_object('kind', 'task', 'agent', 'exploder', 'receivedAt', ?2, 'event', json_object('specversion', '1.0',
           'id', ?1 || n, 'source', '/test', 'type', 'test.explode', 'correlationid', ?1 || n, 'hopcount', 0,
           'data', json_object('mode', 'always'))),
         ?2
       FROM k`,
    )
      .bind(tag, now)
      .run();
    const id = uniqueId("evt");
    await env.DEAD_LETTERS.send({
      kind: "task",
      agent: "exploder",
      receivedAt: now,
      event: {
        specversion: "1.0",
        id,
        source: "/test",
        type: "test.explode",
        correlationid: id,
        hopcount: 0,
        data: { mode: "always" },
      },
    });
    const [alert] = await waitFor(async () => {
      const found = await alerts("dead_letters");
      return found.length > 0 && found;
    });
    expect(alert?.data.severity).toBe("critical");
    expect(alert?.data.summary).toMatch(/^\d+ deliveries dead-lettered this hour/);
  });
});
