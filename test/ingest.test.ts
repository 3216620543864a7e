import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { call, count, orderPlaced, postEvents, signedRequest, uniqueId, waitFor } from "./support/helpers";

const logged = (id: string) => count("SELECT COUNT(*) AS n FROM events WHERE id = ?", id);
const deliveries = (id: string) => count("SELECT COUNT(*) AS n FROM deliveries WHERE event_id = ?", id);
/** Lets the queue consumers run, so "nothing was written" is checked after they had the chance. */
const settle = () => new Promise((r) => setTimeout(r, 300));

async function expectRejected(res: Response, status: number, code?: string) {
  expect(res.status).toBe(status);
  const body = await res.json<{ error: { code: string; message: string } }>();
  expect(body.error.message).toBeTruthy();
  if (code) expect(body.error.code).toBe(code);
  return body;
}

describe("POST /v1/events", () => {
  it("accepts a batch and logs each event", async () => {
    const a = orderPlaced();
    const b = orderPlaced();
    const res = await postEvents([a, b]);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      accepted: [
        { id: a.id, duplicate: false },
        { id: b.id, duplicate: false },
      ],
    });
    await waitFor(async () => (await logged(a.id)) === 1 && (await logged(b.id)) === 1);
  });

  it("accepts binary mode, with percent-decoded ce-* headers and extensions kept", async () => {
    const order = orderPlaced();
    const res = await call(
      await signedRequest(JSON.stringify(order.data), {
        contentType: "application/json",
        headers: {
          "ce-specversion": "1.0",
          "ce-id": order.id,
          "ce-source": "/shop/checkout",
          "ce-type": "order.placed",
          "ce-subject": "caf%C3%A9%20order",
          "ce-correlationid": order.correlationid,
          "ce-traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
          "ce-tenant": "acme",
        },
      }),
    );
    expect(res.status).toBe(202);
    const row = await waitFor(() =>
      env.DB.prepare("SELECT envelope FROM events WHERE id = ?").bind(order.id).first<{ envelope: string }>(),
    );
    expect(JSON.parse(row.envelope)).toMatchObject({
      subject: "café order",
      tenant: "acme",
      datacontenttype: "application/json",
      correlationid: order.correlationid,
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      hopcount: 0,
      data: order.data,
    });
  });

  it("answers a repeated (source, id) as a duplicate, logged and routed once", async () => {
    const order = orderPlaced();
    expect(await (await postEvents(order)).json()).toEqual({ accepted: [{ id: order.id, duplicate: false }] });
    await waitFor(async () => (await logged(order.id)) === 1);
    const again = await postEvents(order);
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({ accepted: [{ id: order.id, duplicate: true }] });
    // Same id from another source is another event.
    const other = { ...orderPlaced(), id: order.id, source: "/shop/other" };
    expect(await (await postEvents(other)).json()).toEqual({ accepted: [{ id: order.id, duplicate: false }] });
    await waitFor(async () => (await logged(order.id)) === 2);
    await settle();
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE id = ? AND source = '/shop/checkout'", order.id)).toBe(
      1,
    );
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM agent_runs WHERE event_id = ? AND event_source = '/shop/checkout'",
        order.id,
      ),
    ).toBe(3);
  });

  it("logs and routes once when the same event races itself or repeats in a batch", async () => {
    const order = orderPlaced();
    const [r1, r2] = await Promise.all([postEvents(order), postEvents(order)]);
    expect([r1.status, r2.status]).toEqual([202, 202]);
    const inBatch = await postEvents([order, order]);
    const body = await inBatch.json<{ accepted: { duplicate: boolean }[] }>();
    expect(body.accepted[1]?.duplicate).toBe(true);
    await waitFor(
      async () =>
        (await count("SELECT COUNT(*) AS n FROM agent_runs WHERE event_id = ? AND status = 'succeeded'", order.id)) ===
        3,
    );
    await settle();
    expect(await logged(order.id)).toBe(1);
    expect(await deliveries(order.id)).toBe(3);
  });

  describe("rejections write nothing", () => {
    const cases: [string, () => Promise<Response>, number, string][] = [
      ["malformed JSON", async () => call(await signedRequest("{not json")), 400, "malformed_json"],
      ["a non-CloudEvent", async () => postEvents({ hello: "world" }), 400, "not_a_cloudevent"],
      [
        "a wrong specversion",
        async () => postEvents({ ...orderPlaced(), specversion: "0.3" }),
        400,
        "not_a_cloudevent",
      ],
      [
        "an extension name out of spec",
        async () => postEvents({ ...orderPlaced(), Tenant_ID: "x" }),
        400,
        "not_a_cloudevent",
      ],
      [
        "an object-valued extension",
        async () => postEvents({ ...orderPlaced(), tenant: { a: 1 } }),
        400,
        "not_a_cloudevent",
      ],
      ["a negative hopcount", async () => postEvents({ ...orderPlaced(), hopcount: -1 }), 400, "not_a_cloudevent"],
      ["an unknown type", async () => postEvents({ ...orderPlaced(), type: "order.teleported" }), 422, "unknown_type"],
      [
        "data failing its schema",
        async () => postEvents(orderPlaced(undefined, { amount: "lots" })),
        422,
        "invalid_data",
      ],
      [
        "an unsupported content type",
        async () => postEvents(orderPlaced(), { contentType: "text/plain" }),
        415,
        "unsupported_content_type",
      ],
      [
        "plain JSON without ce- headers",
        async () => postEvents(orderPlaced(), { contentType: "application/json" }),
        415,
        "unsupported_content_type",
      ],
      [
        "binary mode with non-JSON data",
        async () => postEvents(orderPlaced(), { contentType: "text/csv", headers: { "ce-specversion": "1.0" } }),
        415,
        "unsupported_content_type",
      ],
      ["an empty batch", async () => postEvents([]), 400, "empty_batch"],
      [
        "a batch of 101",
        async () => postEvents(Array.from({ length: 101 }, () => orderPlaced())),
        413,
        "batch_too_large",
      ],
      [
        "an event over 64 KiB",
        async () => postEvents(orderPlaced(undefined, { customerId: "x".repeat(70_000) })),
        413,
        "event_too_large",
      ],
      [
        "a missing signature",
        async () => call(await signedRequest(JSON.stringify(orderPlaced()), { headers: { "webhook-signature": "" } })),
        401,
        "invalid_signature",
      ],
      [
        "a stale timestamp",
        async () => postEvents(orderPlaced(), { timestamp: Math.floor(Date.now() / 1000) - 310 }),
        401,
        "invalid_signature",
      ],
      [
        "a future timestamp",
        async () => postEvents(orderPlaced(), { timestamp: Math.floor(Date.now() / 1000) + 310 }),
        401,
        "invalid_signature",
      ],
      [
        "a wrong secret",
        async () => postEvents(orderPlaced(), { secret: `whsec_${btoa("wrong secret!")}` }),
        401,
        "invalid_signature",
      ],
    ];
    for (const [name, send, status, code] of cases) {
      it(`${status} for ${name}`, async () => {
        const before = await count("SELECT COUNT(*) AS n FROM events");
        await expectRejected(await send(), status, code);
        await settle();
        expect(await count("SELECT COUNT(*) AS n FROM events")).toBe(before);
      });
    }

    it("401 for a tampered body", async () => {
      const order = orderPlaced();
      const signed = await signedRequest(JSON.stringify(order));
      const tampered = JSON.stringify({ ...order, data: { ...order.data, amount: 1 } });
      const res = await call(new Request(signed.url, { method: "POST", headers: signed.headers, body: tampered }));
      await expectRejected(res, 401, "invalid_signature");
      await settle();
      expect(await logged(order.id)).toBe(0);
    });

    it("422 for the whole batch when one event is bad, and nothing of it is logged", async () => {
      const good = orderPlaced();
      const res = await postEvents([good, { ...orderPlaced(), type: "nope.nope" }]);
      const body = await expectRejected(res, 422, "unknown_type");
      expect(body.error.message).toContain("event 1");
      await settle();
      expect(await logged(good.id)).toBe(0);
    });

    it("413 for a body over 1 MiB by Content-Length, before reading it", async () => {
      const body = "x".repeat(1024 * 1024 + 1);
      await expectRejected(await call(await signedRequest(body)), 413, "body_too_large");
    });

    it("413 for a chunked body over 1 MiB without Content-Length", async () => {
      const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 20) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const signed = await signedRequest("irrelevant");
      const request = new Request(signed.url, { method: "POST", headers: signed.headers, body: stream });
      request.headers.delete("content-length");
      expect(request.headers.get("content-length")).toBeNull();
      const res = await call(request);
      await expectRejected(res, 413, "body_too_large");
      expect(sent).toBeLessThan(20);
    });

    it("400 for invalid percent-encoding in a ce- header", async () => {
      const order = orderPlaced();
      const res = await call(
        await signedRequest(JSON.stringify(order.data), {
          contentType: "application/json",
          headers: {
            "ce-specversion": "1.0",
            "ce-id": order.id,
            "ce-source": "/s",
            "ce-type": "order.placed",
            "ce-subject": "%E0%A4%A",
          },
        }),
      );
      await expectRejected(res, 400, "invalid_header_encoding");
    });
  });

  it("answers 503 and logs nothing when the log is unavailable", async () => {
    const order = orderPlaced();
    const spy = vi.spyOn(env.DB, "batch").mockRejectedValue(new Error("D1 down"));
    try {
      await expectRejected(await postEvents(order), 503, "log_unavailable");
    } finally {
      spy.mockRestore();
    }
    await settle();
    expect(await logged(order.id)).toBe(0);
    // The sender retries and succeeds.
    expect((await postEvents(order)).status).toBe(202);
    await waitFor(async () => (await logged(order.id)) === 1);
  });

  it("answers 503 when an event is logged but cannot be routed, and routes it when the sender retries", async () => {
    const order = orderPlaced();
    const request = await signedRequest(JSON.stringify(order));
    const down = () => Promise.reject(new Error("queue down"));
    const tasks = vi.spyOn(env.TASKS_QUEUE, "sendBatch").mockImplementation(down);
    const events = vi.spyOn(env.EVENTS_QUEUE, "sendBatch").mockImplementation(down);
    try {
      await expectRejected(await call(request.clone()), 503, "queue_unavailable");
    } finally {
      tasks.mockRestore();
      events.mockRestore();
    }
    expect(await logged(order.id)).toBe(1); // the 503 says "retry", not "lost"
    // The same webhook message again: a duplicate, and this time routed to every agent.
    const res = await call(request);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: [{ id: order.id, duplicate: true }] });
    await waitFor(async () => (await count("SELECT COUNT(*) AS n FROM agent_runs WHERE event_id = ?", order.id)) === 3);
    expect(await logged(order.id)).toBe(1);
  });

  it("falls back to the events queue when the tasks queue refuses, and the event is routed once", async () => {
    const order = orderPlaced();
    const mine = (messages: Iterable<MessageSendRequest>) =>
      [...messages].some((m) => (m.body as { event?: { id?: string } }).event?.id === order.id);
    // Refuses only the first batch of this order's tasks (other tests' consumers may still be sending).
    let refused = false;
    const sendTasks = env.TASKS_QUEUE.sendBatch.bind(env.TASKS_QUEUE);
    const tasks = vi.spyOn(env.TASKS_QUEUE, "sendBatch").mockImplementation((messages) => {
      if (refused || !mine(messages)) return sendTasks(messages);
      refused = true;
      return Promise.reject(new Error("tasks queue down"));
    });
    const rerouted: unknown[] = [];
    const sendEvents = env.EVENTS_QUEUE.sendBatch.bind(env.EVENTS_QUEUE);
    const events = vi.spyOn(env.EVENTS_QUEUE, "sendBatch").mockImplementation((messages) => {
      rerouted.push(...[...messages].map((m) => m.body));
      return sendEvents(messages);
    });
    try {
      expect((await postEvents(order)).status).toBe(202);
    } finally {
      tasks.mockRestore();
      events.mockRestore();
    }
    expect(refused).toBe(true);
    expect(rerouted).toContainEqual(
      expect.objectContaining({ reroute: true, event: expect.objectContaining({ id: order.id }) }),
    );
    await waitFor(async () => (await count("SELECT COUNT(*) AS n FROM agent_runs WHERE event_id = ?", order.id)) === 3);
    await settle();
    expect(await count("SELECT COUNT(*) AS n FROM deliveries WHERE event_id = ?", order.id)).toBe(3);
    expect(await logged(order.id)).toBe(1);
  });
});

describe("reads", () => {
  it("require the admin token", async () => {
    for (const auth of [undefined, "Bearer wrong-token", "Basic dGVzdA=="]) {
      const res = await call(
        new Request("https://agentwire.test/v1/events", { headers: auth ? { authorization: auth } : {} }),
      );
      expect(res.status).toBe(401);
    }
  });

  it("list events by type and correlation id, newest first, with a cursor", async () => {
    const correlation = uniqueId("corr");
    const events = [1, 2, 3].map(() => ({ ...orderPlaced(), correlationid: correlation }));
    for (const e of events) expect((await postEvents(e)).status).toBe(202);
    await waitFor(
      async () => (await count("SELECT COUNT(*) AS n FROM events WHERE correlation_id = ?", correlation)) >= 6,
    );
    const page = await (
      await call(
        new Request(`https://agentwire.test/v1/events?type=order.placed&correlationid=${correlation}&limit=2`, {
          headers: { authorization: "Bearer test-admin-token" },
        }),
      )
    ).json<any>();
    expect(page.events).toHaveLength(2);
    expect(page.events.every((e: any) => e.event.type === "order.placed")).toBe(true);
    const rest = await (
      await call(
        new Request(
          `https://agentwire.test/v1/events?type=order.placed&correlationid=${correlation}&before=${page.next.before}`,
          { headers: { authorization: "Bearer test-admin-token" } },
        ),
      )
    ).json<any>();
    expect(rest.events).toHaveLength(1);
    expect(new Set([...page.events, ...rest.events].map((e: any) => e.event.id))).toEqual(
      new Set(events.map((e) => e.id)),
    );
  });

  it("400 for a bad query and 404 for an unknown event", async () => {
    const bad = await call(
      new Request("https://agentwire.test/v1/events?limit=0", {
        headers: { authorization: "Bearer test-admin-token" },
      }),
    );
    expect(bad.status).toBe(400);
    const missing = await call(
      new Request("https://agentwire.test/v1/events/nope", { headers: { authorization: "Bearer test-admin-token" } }),
    );
    expect(missing.status).toBe(404);
  });
});
