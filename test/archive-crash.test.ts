// A crash between the R2 puts and the D1 commit that indexes the objects and deletes the rows: the
// data is then in both places (the objects unlisted), nothing is lost or shown twice, and the next
// run converges. Also a put failing mid-batch, and a commit that applied but whose answer was lost.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { archive } from "../src/archive/archive";
import { EventLineSchema } from "../src/archive/format";
import { EVENT_TABLES } from "../src/db/archive";
import { recordWorkflows } from "../src/db/workflows";
import { countedEnv } from "./support/d1-counter";
import { ADMIN, adminGet, call, count, uniqueId } from "./support/helpers";
import { DAY, HOUR, logPast, pastWindow, sweptToEnd } from "./support/past-log";

async function replayCount(correlationid: string) {
  const res = await call(
    new Request("https://agentwire.test/v1/replay", {
      method: "POST",
      headers: { ...ADMIN, "content-type": "application/json" },
      // To an agent that hears none of them: the page is counted, nothing is sent.
      body: JSON.stringify({ correlationid, agent: "late-joiner" }),
    }),
  );
  expect(res.status).toBe(202);
  return (await res.json<{ events: number }>()).events;
}
const body = async (path: string) => {
  const res = await adminGet(path);
  expect(res.status).toBe(200);
  return res.json<any>();
};
const rowsOf = async (ids: readonly string[]) => {
  let n = 0;
  for (const t of ["events", "deliveries", "agent_runs", "model_calls", "policy_violations"])
    for (const id of ids)
      n += await count(`SELECT COUNT(*) AS n FROM ${t} WHERE ${t === "events" ? "id" : "event_id"} = ?`, id);
  return n;
};
const listed = (id: string) => count("SELECT COUNT(*) AS n FROM archived_events WHERE id = ?", id);
async function keys() {
  const all: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.ARCHIVE.list({ prefix: "events/", ...(cursor ? { cursor } : {}) });
    all.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return new Set(all);
}
async function idsIn(key: string) {
  const object = await env.ARCHIVE.get(key);
  const text = await new Response(object!.body.pipeThrough(new DecompressionStream("gzip"))).text();
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => EventLineSchema.parse(JSON.parse(l)).event.id);
}

/** Three hours of one workflow's events (three objects), with runs, model calls and violations. */
async function threeHours(at: number) {
  const correlationid = uniqueId("crash");
  const events = [];
  for (let h = 0; h < 3; h++) {
    events.push(
      ...(await logPast(env.DB, at + h * HOUR, [
        { correlationid, agents: ["mendable", "late-joiner"], accounting: true },
        { correlationid, status: "dead_lettered" },
      ])),
    );
  }
  await recordWorkflows(env.DB, [
    {
      state: {
        id: correlationid,
        workflow: "order",
        status: "completed",
        version: 2,
        start: { id: events[0]!.id },
        startedAt: at,
        deadlineAt: at + 60_000,
        completedAt: at + 3 * HOUR,
        outcome: "order.confirmed",
        verdict: { decision: "confirm" },
        results: [],
        late: [],
      },
      outcomeEventId: `out-${correlationid}`,
      updatedAt: at + 3 * HOUR,
    },
  ]);
  await sweptToEnd(env.DB);
  const ids = events.map((e) => e.id);
  const shown = {
    events: await Promise.all(ids.map((id) => body(`/v1/events/${id}`))),
    workflow: await body(`/v1/workflows/${correlationid}`),
  };
  return { correlationid, ids, shown, rows: await rowsOf(ids) };
}

describe("a crash between the archive's puts and its commit", () => {
  it("duplicates data, loses nothing, and the next run converges", async () => {
    const { correlationid, ids, shown, rows } = await threeHours(pastWindow() - 60 * DAY);
    const before = await keys();

    const crashing = countedEnv(env);
    crashing.d1.failBatch = (sqls) => sqls.some((s) => /INSERT INTO archive_objects/.test(s));
    await expect(archive(crashing.env)).rejects.toThrow(/injected/);

    // The objects are in R2 with every event's line, and nothing points to them.
    const orphans = [...(await keys())].filter((k) => !before.has(k));
    expect(orphans).toHaveLength(3);
    expect((await Promise.all(orphans.map(idsIn))).flat().sort()).toEqual([...ids].sort());
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM archive_objects WHERE key IN (SELECT value FROM json_each(?))",
        JSON.stringify(orphans),
      ),
    ).toBe(0);
    // D1 still holds everything, and reads show each event once, from D1.
    expect(await rowsOf(ids)).toBe(rows);
    for (const id of ids) expect(await listed(id)).toBe(0);
    expect(await Promise.all(ids.map((id) => body(`/v1/events/${id}`)))).toEqual(shown.events);
    expect(await body(`/v1/workflows/${correlationid}`)).toEqual(shown.workflow);
    expect(await replayCount(correlationid)).toBe(ids.length);

    // The next run archives them again under new keys; the orphans stay unread.
    const report = await archive(env);
    expect(report.events.archived).toBeGreaterThanOrEqual(ids.length);
    expect(report.workflows.archived).toBeGreaterThanOrEqual(1);
    expect(await rowsOf(ids)).toBe(0);
    for (const id of ids) expect(await listed(id)).toBe(1);
    const committed = [...(await keys())].filter((k) => !before.has(k) && !orphans.includes(k));
    expect(committed).toHaveLength(3);
    expect((await Promise.all(committed.map(idsIn))).flat().sort()).toEqual([...ids].sort());
    expect(await Promise.all(ids.map((id) => body(`/v1/events/${id}`)))).toEqual(
      shown.events.map((e) => ({ ...e, archived: true })),
    );
    expect(await body(`/v1/workflows/${correlationid}`)).toEqual(shown.workflow);
    expect(await replayCount(correlationid)).toBe(ids.length);

    // Converged: a further run moves nothing and indexes nothing twice.
    const objects = await count("SELECT COUNT(*) AS n FROM archive_objects");
    const again = await archive(env);
    expect(again.events.archived).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM archive_objects")).toBe(objects);
    for (const id of ids) expect(await listed(id)).toBe(1);
  });

  it("loses nothing when a put fails mid-batch", async () => {
    const { ids, shown, rows } = await threeHours(pastWindow() - 70 * DAY);
    let puts = 0;
    const flaky = new Proxy(env.ARCHIVE, {
      get(target, name) {
        if (name === "put")
          return (...args: Parameters<R2Bucket["put"]>) => {
            if (++puts === 2) return Promise.reject(new Error("injected put failure"));
            return target.put(...args);
          };
        const value = Reflect.get(target, name) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    await expect(archive({ ...env, ARCHIVE: flaky })).rejects.toThrow(/injected put failure/);
    expect(await rowsOf(ids)).toBe(rows);
    expect(await Promise.all(ids.map((id) => body(`/v1/events/${id}`)))).toEqual(shown.events);

    await archive(env);
    expect(await rowsOf(ids)).toBe(0);
    for (const id of ids) expect(await listed(id)).toBe(1);
    expect(await Promise.all(ids.map((id) => body(`/v1/events/${id}`)))).toEqual(
      shown.events.map((e) => ({ ...e, archived: true })),
    );
  });

  it("converges when the commit applied but its answer was lost", async () => {
    const { correlationid, ids, shown } = await threeHours(pastWindow() - 80 * DAY);
    const lost = new Proxy(env.DB, {
      get(target, name) {
        if (name === "batch")
          return async (statements: D1PreparedStatement[]) => {
            const results = await target.batch(statements);
            // The commit, not the read of the event tables (one statement per table) before it.
            if (statements.length > EVENT_TABLES.length) throw new Error("injected: the commit's answer was lost");
            return results;
          };
        const value = Reflect.get(target, name) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    await expect(archive({ ...env, DB: lost })).rejects.toThrow(/answer was lost/);
    expect(await rowsOf(ids)).toBe(0);
    for (const id of ids) expect(await listed(id)).toBe(1);

    const again = await archive(env);
    expect(again.events.archived).toBe(0);
    for (const id of ids) expect(await listed(id)).toBe(1);
    expect(await Promise.all(ids.map((id) => body(`/v1/events/${id}`)))).toEqual(
      shown.events.map((e) => ({ ...e, archived: true })),
    );
    expect(await body(`/v1/workflows/${correlationid}`)).toEqual(shown.workflow);
    expect(await replayCount(correlationid)).toBe(ids.length);
  });
});
