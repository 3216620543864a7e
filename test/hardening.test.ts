// The smaller findings of the same review (issue 9): failed runs keep their violations, a slow run
// holds back no other, paging, zero filters, one event size limit, admin body limits, lone
// surrogates, nosniff, and a root that lists nothing without the admin token.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  ADMIN,
  adminGet,
  call,
  count,
  orderPlaced,
  postEvents,
  signedRequest,
  uniqueId,
  waitFor,
} from "./support/helpers";

const BASE = "https://agentwire.test";
const adminPost = (path: string, body: string) =>
  call(
    new Request(`${BASE}${path}`, { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body }),
  );
const testEvent = (type: string, data: unknown, extra: Record<string, unknown> = {}) => {
  const id = uniqueId("evt");
  return { specversion: "1.0", id, source: "/tests", type, correlationid: id, data, ...extra };
};

describe("agent runs", () => {
  it("a run that fails for good keeps the policy violations it committed first", async () => {
    const event = testEvent("test.sloppy", { note: "hi" });
    expect((await postEvents(event)).status).toBe(202);
    await waitFor(async () => {
      const run = await env.DB.prepare("SELECT status FROM agent_runs WHERE event_id = ? AND agent = 'sloppy'")
        .bind(event.id)
        .first<{ status: string }>();
      return run && run.status !== "running";
    });
    const violations = await env.DB.prepare(
      "SELECT kind, detail FROM policy_violations WHERE event_id = ? AND agent = 'sloppy'",
    )
      .bind(event.id)
      .all<{ kind: string; detail: string }>();
    expect(violations.results).toEqual([expect.objectContaining({ kind: "undeclared_emit" })]);
  });

  it("publishes a fast run's events while a slow run of the same batch is still going", async () => {
    const slow = testEvent("test.paced", { ms: 4_000 });
    const fast = testEvent("test.paced", { ms: 0 });
    expect((await postEvents([slow, fast])).status).toBe(202);
    await waitFor(
      async () =>
        (await count(
          "SELECT COUNT(*) AS n FROM events WHERE causation_id = ? AND type = 'test.paced.done'",
          fast.id,
        )) === 1,
      3_000,
    );
    const slowRun = await env.DB.prepare("SELECT status FROM agent_runs WHERE event_id = ? AND agent = 'dawdler'")
      .bind(slow.id)
      .first<{ status: string }>();
    expect(slowRun?.status).toBe("running");
  });
});

describe("reads", () => {
  it("pages through workflows started in the same millisecond without skipping any", async () => {
    const workflow = uniqueId("paging");
    const startedAt = Date.now();
    const ids = [1, 2, 3].map(() => uniqueId("wf"));
    await env.DB.batch(
      ids.map((id) =>
        env.DB.prepare(
          `INSERT INTO workflows (id, workflow, status, version, start_event_id, started_at, deadline_at, results, late, updated_at)
           VALUES (?, ?, 'completed', 1, ?, ?, ?, '[]', '[]', ?)`,
        ).bind(id, workflow, `evt-${id}`, startedAt, startedAt + 1, startedAt),
      ),
    );
    const seen: string[] = [];
    let next = "";
    for (let page = 0; page < 4; page++) {
      const res = await adminGet(`/v1/workflows?workflow=${workflow}&limit=1${next}`);
      const body = await res.json<{ workflows: { id: string }[]; next: { before: string } | null }>();
      seen.push(...body.workflows.map((w) => w.id));
      if (!body.next) break;
      next = `&before=${encodeURIComponent(body.next.before)}`;
    }
    expect(seen.sort()).toEqual([...ids].sort());
    expect((await adminGet("/v1/workflows?before=not-a-cursor")).status).toBe(400);
  });

  it("takes a filter value of 0 as a value", async () => {
    const replay = await adminPost("/v1/replay", JSON.stringify({ to: 0 }));
    expect(replay.status).toBe(202);
    expect(await replay.json()).toMatchObject({ events: 0, queued: 0 });
    const letters = await adminPost("/v1/dead-letters/replay", JSON.stringify({ from: 0, to: 0 }));
    expect(letters.status).toBe(200);
    expect(await letters.json()).toEqual({ replayed: [] });
  });
});

describe("request limits", () => {
  /** A valid support ticket of about 61 KB as JSON: a 20,000-character body and 20 extensions of 2,000. */
  const bigTicket = (extra = 0) => {
    const extensions = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`ext${i}`, "e".repeat(2_000)]));
    const ticket = { ticketId: uniqueId("t"), customerId: "c", subject: "s", body: "b".repeat(20_000) };
    return testEvent("support.ticket.opened", ticket, { ...extensions, ...(extra ? { pad: "p".repeat(extra) } : {}) });
  };

  it("measures every event the same way in every mode: its JSON, not its wire bytes", async () => {
    const event = bigTicket();
    // Whitespace makes the structured body over 64 KiB; the event itself is not.
    const padded = `${JSON.stringify(event)}${" ".repeat(8_000)}`;
    expect(padded.length).toBeGreaterThan(64 * 1024);
    expect((await call(await signedRequest(padded))).status).toBe(202);
    const second = bigTicket();
    expect((await postEvents([second])).status).toBe(202);

    const tooBig = bigTicket(10_000);
    for (const res of [await postEvents(tooBig), await postEvents([tooBig])]) {
      expect(res.status).toBe(413);
      expect((await res.json<{ error: { code: string } }>()).error.code).toBe("event_too_large");
    }
    const { data, ...attributes } = tooBig;
    const headers = Object.fromEntries(Object.entries(attributes).map(([k, v]) => [`ce-${k}`, String(v)]));
    const binary = await call(await signedRequest(JSON.stringify(data), { contentType: "application/json", headers }));
    expect(binary.status).toBe(413);
    // Each accepted ticket runs the support chain (triage, then the support-reply loop to its
    // outcome): let it end here, so that no queue work outlives the file.
    const ids = [event, second].map((e) => (e.data as { ticketId: string }).ticketId);
    await waitFor(
      async () =>
        (await count(
          `SELECT COUNT(*) AS n FROM events WHERE type = 'support.reply.approved'
             AND json_extract(envelope, '$.data.ticketId') IN (?, ?)`,
          ...ids,
        )) === 2,
    );
  });

  it("refuses an admin body over 64 KiB with 413", async () => {
    const res = await adminPost("/v1/replay", JSON.stringify({ type: "order.placed", pad: "x".repeat(100_000) }));
    expect(res.status).toBe(413);
  });

  it("refuses lone surrogates in ids and other attributes with 400", async () => {
    for (const attributes of [{ id: "evt-\ud800" }, { correlationid: "ord-\udfff-x" }, { source: "/shop/\ud83d" }]) {
      const res = await postEvents({ ...orderPlaced(), ...attributes });
      expect(res.status).toBe(400);
      expect((await res.json<{ error: { code: string } }>()).error.code).toBe("not_a_cloudevent");
    }
    // A well-formed pair is text like any other.
    expect((await postEvents({ ...orderPlaced(), id: `evt-\ud83d\ude00-${uniqueId()}` })).status).toBe(202);
  });
});

describe("answers", () => {
  it("carry X-Content-Type-Options: nosniff, errors included", async () => {
    const answers = [
      await postEvents(orderPlaced()),
      await call(new Request(`${BASE}/v1/events`)),
      await call(new Request(`${BASE}/nowhere`)),
      await call(new Request(`${BASE}/`)),
      await postEvents({ nope: true }),
    ];
    expect(answers.map((r) => r.status)).toEqual([202, 401, 404, 200, 400]);
    for (const res of answers) expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("GET / lists the endpoints, agents and workflows only with the admin token", async () => {
    expect(await (await call(new Request(`${BASE}/`))).json()).toEqual({ name: "agentwire" });
    const full = await (await adminGet("/")).json<{ agents: string[]; endpoints: string[] }>();
    expect(full.agents).toContain("fraud-screen");
    expect(full.endpoints).toContain("GET /v1/violations");
  });
});
