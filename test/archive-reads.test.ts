// Reads that reach many archive objects: replay pages through objects whose log positions overlap,
// a workflow spread over more objects than one read used to take, and objects that index nothing.
// Real local D1 and R2.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { archive } from "../src/archive/archive";
import { SLICE_OBJECTS_MAX, WORKFLOW_OBJECTS_MAX } from "../src/archive/read";
import { recordWorkflows } from "../src/db/workflows";
import { ADMIN, adminGet, call, count, uniqueId } from "./support/helpers";
import { DAY, HOUR, logPast, pastWindow, sweptToEnd } from "./support/past-log";

async function post(path: string, body: unknown = {}) {
  return call(
    new Request(`https://agentwire.test${path}`, {
      method: "POST",
      headers: { ...ADMIN, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}

/** Every page of a replay, following next.afterSeq; stops (and says so) if a page does not move on. */
async function replayAll(body: Record<string, unknown>) {
  const pages: { events: number; next: { afterSeq: number } | null }[] = [];
  let afterSeq: number | undefined;
  for (let i = 0; i < 30; i++) {
    const res = await post("/v1/replay", { ...body, ...(afterSeq === undefined ? {} : { afterSeq }) });
    expect(res.status).toBe(202);
    const page = await res.json<{ events: number; next: { afterSeq: number } | null }>();
    pages.push(page);
    if (!page.next) return pages;
    if (afterSeq !== undefined && page.next.afterSeq <= afterSeq) throw new Error(`stalled at ${afterSeq}`);
    afterSeq = page.next.afterSeq;
  }
  throw new Error("more than 30 pages");
}

function completed(id: string, at: number) {
  return {
    state: {
      id,
      workflow: "order",
      status: "completed",
      version: 3,
      start: { id: `evt-${id}` },
      startedAt: at,
      deadlineAt: at + 60_000,
      completedAt: at + 5_000,
      outcome: "order.confirmed",
      verdict: { decision: "confirm" },
      results: [{ id: "r1" }],
      late: [],
    },
    outcomeEventId: `out-${id}`,
    updatedAt: at + 5_000,
  };
}

describe("reads over many archive objects", () => {
  it("pages a replay through five or more objects that overlap the cursor", async () => {
    const correlationid = uniqueId("overlap");
    const at = pastWindow() - 40 * DAY;
    // Consecutive log positions received in five different hours: five objects, each spanning them all.
    for (let i = 0; i < 10; i++) {
      await logPast(env.DB, at + (i % 5) * HOUR, [{ type: "test.history", agents: [], status: "none", correlationid }]);
    }
    await sweptToEnd(env.DB);
    await archive(env);
    expect(await count("SELECT COUNT(*) AS n FROM archived_correlations WHERE correlation_id = ?", correlationid)).toBe(
      5,
    );

    const pages = await replayAll({ correlationid, limit: 3 });
    expect(pages.reduce((n, p) => n + p.events, 0)).toBe(10);
  });

  it("shows a workflow whose events and instance span more objects than one read used to take", async () => {
    const id = uniqueId("long");
    const at = pastWindow() - 30 * DAY;
    // 18 hours of events (18 objects) and the workflow (one more): more than 16.
    for (let h = 0; h < 18; h++) {
      await logPast(env.DB, at + h * HOUR, [{ type: "test.history", agents: [], status: "none", correlationid: id }]);
    }
    await recordWorkflows(env.DB, [completed(id, at)]);
    await sweptToEnd(env.DB);
    const before = await adminGet(`/v1/workflows/${id}`);
    expect(before.status).toBe(200);
    const shown = await before.json<any>();
    expect(shown.events).toHaveLength(18);

    await archive(env);
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE correlation_id = ?", id)).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM workflows WHERE id = ?", id)).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM archived_correlations WHERE correlation_id = ?", id)).toBe(19);
    const after = await adminGet(`/v1/workflows/${id}`);
    expect(after.status).toBe(200);
    expect(await after.json()).toEqual(shown);
  });

  it("neither lists nor keeps an object none of whose events left D1", async () => {
    const [event] = await logPast(env.DB, pastWindow() - 50 * DAY, [{}]);
    await sweptToEnd(env.DB);
    const keysBefore = new Set((await env.ARCHIVE.list({ prefix: "events/" })).objects.map((o) => o.key));
    // Between the read and the commit, the event's run changes: its rows stay in D1, so the object
    // written for it indexes nothing.
    const prepared = new WeakMap<object, string>();
    let changed = false;
    const db = new Proxy(env.DB, {
      get(target, name) {
        if (name === "prepare")
          return (sql: string) => {
            const statement = target.prepare(sql);
            const bind = statement.bind.bind(statement);
            const wrapped = Object.assign(statement, {
              bind: (...values: unknown[]) => {
                const bound = bind(...values);
                prepared.set(bound, sql);
                return bound;
              },
            });
            prepared.set(wrapped, sql);
            return wrapped;
          };
        if (name === "batch")
          return async (statements: D1PreparedStatement[]) => {
            if (!changed && statements.some((s) => /INSERT INTO archive_objects/.test(prepared.get(s) ?? ""))) {
              changed = true;
              await target
                .prepare("UPDATE agent_runs SET attempt = attempt + 1 WHERE event_id = ?")
                .bind(event!.id)
                .run();
            }
            return target.batch(statements);
          };
        const value = Reflect.get(target, name) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    await archive({ ...env, DB: db });
    expect(changed).toBe(true);
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE id = ?", event!.id)).toBe(1);
    const written = (await env.ARCHIVE.list({ prefix: "events/" })).objects
      .map((o) => o.key)
      .filter((k) => !keysBefore.has(k));
    // Not listed, and not kept either: nothing would ever read it.
    expect(await count("SELECT COUNT(*) AS n FROM archive_objects WHERE indexed = 0")).toBe(0);
    expect(written).toEqual([]);

    // The next run takes the event as it is now.
    await archive(env);
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE id = ?", event!.id)).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM archived_events WHERE id = ?", event!.id)).toBe(1);
  });

  it("refuses, with a clear error, a read that would take more objects than it may", async () => {
    // Manifest rows only (the read is refused before any get): a correlation over too many objects,
    // and more objects than a replay page may read all holding the position after the cursor.
    const id = uniqueId("wide");
    const fake = (n: number, kind: string) =>
      env.DB.prepare(
        `INSERT INTO archive_objects (key, kind, hour, lines, indexed, bytes, first_seq, last_seq, min_logged_at,
                                      max_logged_at, types, created_at)
         SELECT ?1 || '/' || key, ?2, 0, 1, 1, 100, 1, 1000000000, 0, 0, '["test.history"]', 0
           FROM json_each(?3)`,
      )
        .bind(`fake/${id}/${kind}`, kind, JSON.stringify(Array.from({ length: n }, () => 0)))
        .run();
    const link = (kind: string) =>
      env.DB.prepare(
        `INSERT INTO archived_correlations (correlation_id, object)
         SELECT ?1, seq FROM archive_objects WHERE key LIKE ?2 || '/%'`,
      )
        .bind(id, `fake/${id}/${kind}`)
        .run();
    try {
      await fake(WORKFLOW_OBJECTS_MAX + 1, "workflows");
      await link("workflows");
      const workflow = await adminGet(`/v1/workflows/${id}`);
      expect(workflow.status).toBe(422);
      expect(await workflow.json()).toMatchObject({
        error: { code: "archive_read_limit", message: expect.stringContaining(`more than ${WORKFLOW_OBJECTS_MAX}`) },
      });

      await env.DB.prepare("DELETE FROM archived_correlations WHERE correlation_id = ?").bind(id).run();
      await fake(SLICE_OBJECTS_MAX + 1, "events");
      await link("events");
      const replay = await post("/v1/replay", { correlationid: id, afterSeq: 10 });
      expect(replay.status).toBe(422);
      expect(await replay.json()).toMatchObject({
        error: { code: "archive_read_limit", message: expect.stringContaining("right after 10") },
      });
    } finally {
      await env.DB.prepare("DELETE FROM archived_correlations WHERE correlation_id = ?").bind(id).run();
      await env.DB.prepare("DELETE FROM archive_objects WHERE key LIKE ?").bind(`fake/${id}/%`).run();
    }
  });
});
