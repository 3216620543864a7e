// What one deployment holds: orders run through the whole pipeline (ingest, agents, coordinators,
// outcomes), then the bytes they took in D1 (the database's size as D1 reports it after each query),
// what the archive's index keeps per event once they are archived, and their gzip size in R2.
// BENCHMARKS.md → "Capacity of one deployment" quotes these numbers (run with --silent=false).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { archive } from "../src/archive/archive";
import { count, orderPlaced, postEvents, waitFor } from "./support/helpers";
import { DAY, sweptToEnd } from "./support/past-log";

const ORDERS = 200;
const size = async () => (await env.DB.prepare("SELECT 1").run()).meta.size_after;

describe("capacity of one deployment", () => {
  it(`measures the bytes per event of ${ORDERS} orders, hot in D1, indexed once archived, and in R2`, async () => {
    const empty = await size();
    const orders = Array.from({ length: ORDERS }, () => orderPlaced());
    for (let i = 0; i < orders.length; i += 50) expect((await postEvents(orders.slice(i, i + 50))).status).toBe(202);
    await waitFor(
      async () => (await count("SELECT COUNT(*) AS n FROM workflows WHERE status = 'completed'")) === ORDERS,
      180_000,
    );
    // The outcome's own deliveries settle a moment after the workflow does.
    await waitFor(
      async () =>
        (await count(
          "SELECT COUNT(*) AS n FROM deliveries d LEFT JOIN agent_runs r USING (event_source, event_id, agent) WHERE r.status IS NOT 'succeeded'",
        )) === 0,
      60_000,
    );
    const events = await count("SELECT COUNT(*) AS n FROM events");
    const runs = await count("SELECT COUNT(*) AS n FROM agent_runs");
    const hot = (await size()) - empty;

    // The index rows these events would leave behind (measured before any delete: no free pages yet).
    const beforeIndex = await size();
    await env.DB.prepare(
      "INSERT INTO archived_events (id, source, object) SELECT id, source, 1000000 + seq / 1000 FROM events",
    ).run();
    await env.DB.prepare(
      "INSERT INTO archived_correlations (correlation_id, object) SELECT DISTINCT correlation_id, 1000000 + seq / 1000 FROM events WHERE true",
    ).run();
    const index = (await size()) - beforeIndex;
    await env.DB.prepare("DELETE FROM archived_events WHERE object >= 1000000").run();
    await env.DB.prepare("DELETE FROM archived_correlations WHERE object >= 1000000").run();

    // Now archive them for real (as if 8 days had passed), for their size in R2.
    const shift = 8 * DAY;
    await env.DB.batch([
      env.DB.prepare("UPDATE events SET received_at = received_at - ?1, logged_at = logged_at - ?1").bind(shift),
      env.DB.prepare(
        "UPDATE workflows SET started_at = started_at - ?1, completed_at = completed_at - ?1, updated_at = updated_at - ?1, deadline_at = deadline_at - ?1",
      ).bind(shift),
    ]);
    await sweptToEnd(env.DB);
    const report = await archive(env);
    expect(report.events.archived).toBe(events);
    expect(report.workflows.archived).toBe(ORDERS);

    const perEvent = {
      orders: ORDERS,
      events,
      runs,
      hotBytesPerEvent: Math.round(hot / events),
      hotBytesPerOrder: Math.round(hot / ORDERS),
      indexBytesPerEvent: Math.round(index / events),
      r2GzipBytesPerEvent: Math.round(report.events.bytes / events),
      r2GzipBytesPerWorkflow: Math.round(report.workflows.bytes / ORDERS),
    };
    console.log(perEvent);
    expect(perEvent.hotBytesPerEvent).toBeLessThan(20_000);
    expect(perEvent.indexBytesPerEvent).toBeLessThan(perEvent.hotBytesPerEvent / 5);
  }, 300_000);
});
