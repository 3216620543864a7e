// A destination through the real pipeline (Miniflare Queues and D1): an event routed to it goes to
// the deliveries queue, is POSTed signed, retried on 5xx with the same webhook-id, dead-lettered at
// once on a 410 and replayable, and held off by its circuit breaker while the receiver is down.
// The receiver is this test's own fetch, so every request the Worker makes is counted.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseSecrets, verify } from "../src/ingest/signature";
import { ADMIN, adminGet, call, postEvents, uniqueId, waitFor } from "./support/helpers";

const SECRET = "whsec_ZGVzdGluYXRpb24tc2VjcmV0LTAxMjM0NTY3ODk=";
const URL_PREFIX = "https://receiver.test/hooks/agentwire";

afterEach(() => vi.restoreAllMocks());

interface Received {
  n: number;
  webhookId: string | null;
  verified: boolean;
}

/** Plays the receiver: `answer(n, count)` is the status for the count-th request about event n. */
function playReceiver(answer: (n: number, count: number) => number | Promise<number>) {
  const received: Received[] = [];
  const real = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(URL_PREFIX)) return real(input, init);
    const body = await request.text();
    const checked = await verify(
      parseSecrets(SECRET),
      {
        id: request.headers.get("webhook-id"),
        timestamp: request.headers.get("webhook-timestamp"),
        signature: request.headers.get("webhook-signature"),
      },
      new TextEncoder().encode(body),
      300,
    );
    const { data } = JSON.parse(body) as { data: { n: number } };
    received.push({ n: data.n, webhookId: request.headers.get("webhook-id"), verified: checked.ok });
    const count = received.filter((r) => r.n === data.n).length;
    return new Response(`receiver says ${count}`, { status: await answer(data.n, count) });
  });
  return received;
}

async function send(n: number) {
  const id = uniqueId("out");
  const res = await postEvents({
    specversion: "1.0",
    id,
    source: "/test/outbound",
    type: "test.outbound",
    correlationid: id,
    data: { n },
  });
  expect(res.status).toBe(202);
  return id;
}

async function runOf(eventId: string) {
  const res = await adminGet(`/v1/events/${eventId}`);
  const body = await res.json<{ runs: { agent: string; status: string; output: any; attempts: any[] }[] }>();
  return body.runs.find((r) => r.agent === "test-outbound");
}

describe("a destination behind the deliveries queue", () => {
  it("delivers an event once, signed, and records the answer on the run", async () => {
    const received = playReceiver(() => 200);
    const n = 1001;
    const id = await send(n);
    const run = await waitFor(async () => {
      const r = await runOf(id);
      return r?.status === "succeeded" && r;
    });
    const mine = received.filter((r) => r.n === n);
    expect(mine).toHaveLength(1);
    expect(mine[0]?.verified).toBe(true);
    expect(run.output.delivery).toMatchObject({
      status: 200,
      excerpt: "receiver says 1",
      webhookId: mine[0]?.webhookId,
    });
    expect(run.attempts).toEqual([expect.objectContaining({ attempt: 1, status: "succeeded" })]);
  });

  it("retries a 500 with the same webhook-id, then records both attempts", async () => {
    const n = 1002;
    const received = playReceiver((_, count) => (count === 1 ? 500 : 200));
    const id = await send(n);
    const run = await waitFor(async () => {
      const r = await runOf(id);
      return r?.status === "succeeded" && r;
    });
    const mine = received.filter((r) => r.n === n);
    expect(mine).toHaveLength(2);
    expect(mine[0]?.webhookId).toBe(mine[1]?.webhookId);
    expect(run.attempts.map((a: any) => a.status)).toEqual(["failed", "succeeded"]);
    expect(run.attempts[0].error).toContain("HTTP 500");
  });

  it("dead-letters a 410 at once, and delivers it on replay under the same webhook-id", async () => {
    const n = 1003;
    let gone = true;
    const received = playReceiver(() => (gone ? 410 : 200));
    const id = await send(n);
    const letter = await waitFor(async () => {
      const res = await adminGet(`/v1/dead-letters?agent=test-outbound&correlationid=${id}`);
      const { deadLetters } = await res.json<{ deadLetters: { id: number; error: unknown; attempts: number }[] }>();
      return deadLetters[0];
    });
    expect(JSON.stringify(letter.error)).toContain("HTTP 410");
    expect(received.filter((r) => r.n === n)).toHaveLength(1);

    gone = false;
    const replay = await call(
      new Request(`https://agentwire.test/v1/dead-letters/${letter.id}/replay`, { method: "POST", headers: ADMIN }),
    );
    expect(replay.status).toBe(200);
    await waitFor(async () => (await runOf(id))?.status === "succeeded");
    const mine = received.filter((r) => r.n === n);
    expect(mine).toHaveLength(2);
    expect(mine[1]?.webhookId).toBe(mine[0]?.webhookId);
  });

  it("opens the circuit after three failures, calls nothing while open, and closes on a successful probe", async () => {
    const n = 1004;
    let down = true;
    const received = playReceiver(() => (down ? 503 : 200));
    const id = await send(n);
    const circuit = () =>
      env.DB.prepare("SELECT state, failures FROM destination_circuits WHERE destination = 'test-outbound'").first<{
        state: string;
        failures: number;
      }>();
    await waitFor(async () => (await circuit())?.state === "open");
    const whenOpened = received.filter((r) => r.n === n).length;
    expect(whenOpened).toBe(3);
    // Open: the queue keeps the delivery; the receiver hears nothing until the cooldown has passed.
    await new Promise((r) => setTimeout(r, 150));
    expect(received.filter((r) => r.n === n)).toHaveLength(3);
    down = false;
    const run = await waitFor(async () => {
      const r = await runOf(id);
      return r?.status === "succeeded" && r;
    });
    expect(received.filter((r) => r.n === n)).toHaveLength(4);
    expect(await circuit()).toMatchObject({ state: "closed", failures: 0 });
    // Opening it raised one alert for the destination, which the log holds once.
    const { results } = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM events WHERE type = 'alert.raised' AND json_extract(envelope, '$.data.subject') = 'test-outbound' AND json_extract(envelope, '$.data.condition') = 'circuit_opened'",
    ).all<{ n: number }>();
    expect(results[0]?.n).toBe(1);
    expect(run.attempts.filter((a: any) => a.status === "failed")).toHaveLength(run.attempts.length - 1);
  });
});
