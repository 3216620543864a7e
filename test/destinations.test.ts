// Destinations, one HTTP attempt at a time (src/destinations/deliver.ts) against a receiver written
// in the test: the signed CloudEvents a receiver can verify, Slack messages, what is retried and what
// is dead-lettered, Retry-After, same-origin redirects only, capped excerpts, https only, timeouts.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Envelope } from "../src/bus/envelope";
import { defineDestination } from "../src/destinations/define";
import { deliver, EXCERPT_BYTES, retryAfterSeconds, targetOf } from "../src/destinations/deliver";
import { parseSecrets, verify } from "../src/ingest/signature";

const OUT_SECRET = "whsec_ZGVzdGluYXRpb24tc2VjcmV0LTAxMjM0NTY3ODk=";
const NEXT_SECRET = "whsec_bmV4dC1kZXN0aW5hdGlvbi1zZWNyZXQtOTg3Ng==";

const event: Envelope = {
  specversion: "1.0",
  id: "evt_out_1",
  source: "/agentwire/workflows/order",
  type: "order.confirmed",
  correlationid: "ord_out_1",
  time: "2026-11-22T12:00:00.000Z",
  datacontenttype: "application/json",
  data: { orderId: "ord_out_1", carrier: "DHL" },
} as Envelope;

const cloud = defineDestination({
  name: "warehouse",
  description: "test",
  types: ["order.confirmed"],
  url: "OUT_URL",
  format: { kind: "cloudevents", secret: "OUT_SECRET" },
  timeoutMs: 200,
});
const slack = defineDestination({
  name: "chat",
  description: "test",
  types: ["order.review_requested"],
  url: "OUT_URL",
  format: { kind: "slack", template: (e) => ({ text: `order ${e.correlationid} needs a look` }) },
});

const envWith = (vars: Record<string, unknown>) => ({ ...env, ...vars }) as unknown as Env;
const configured = envWith({ OUT_URL: "https://receiver.example/hooks/agentwire", OUT_SECRET });

/** A receiver: answers each request with the next reply, and keeps what it was sent. */
function receiver(...replies: (Response | ((r: Request) => Response | Promise<Response>))[]) {
  const seen: { url: string; headers: Headers; body: string }[] = [];
  const fetcher = async (r: Request) => {
    seen.push({ url: r.url, headers: r.headers, body: await r.text() });
    const reply = replies[Math.min(seen.length - 1, replies.length - 1)];
    if (!reply) throw new Error("no reply");
    return typeof reply === "function" ? reply(r) : reply.clone();
  };
  return { seen, fetcher };
}

describe("signed CloudEvents", () => {
  it("posts the event with Standard Webhooks headers a receiver verifies with the destination's secret", async () => {
    const r = receiver(new Response("ok", { status: 200 }));
    const result = await deliver(configured, cloud, event, r.fetcher);
    expect(result).toMatchObject({ ok: true, status: 200, excerpt: "ok" });
    const [sent] = r.seen;
    expect(sent?.url).toBe("https://receiver.example/hooks/agentwire");
    expect(sent?.headers.get("content-type")).toBe("application/cloudevents+json");
    expect(JSON.parse(sent?.body ?? "")).toEqual(event);
    const verified = await verify(
      parseSecrets(OUT_SECRET),
      {
        id: sent?.headers.get("webhook-id") ?? null,
        timestamp: sent?.headers.get("webhook-timestamp") ?? null,
        signature: sent?.headers.get("webhook-signature") ?? null,
      },
      new TextEncoder().encode(sent?.body),
      300,
    );
    expect(verified.ok).toBe(true);
    // Tampered in transit: the receiver refuses it.
    const tampered = await verify(
      parseSecrets(OUT_SECRET),
      {
        id: sent?.headers.get("webhook-id") ?? null,
        timestamp: sent?.headers.get("webhook-timestamp") ?? null,
        signature: sent?.headers.get("webhook-signature") ?? null,
      },
      new TextEncoder().encode(sent?.body.replace("DHL", "UPS")),
      300,
    );
    expect(tampered.ok).toBe(false);
  });

  it("keeps the webhook-id across retries of the same event, and gives each destination and event its own", async () => {
    const r = receiver(new Response(null, { status: 500 }), new Response(null, { status: 204 }));
    const first = await deliver(configured, cloud, event, r.fetcher);
    const second = await deliver(configured, cloud, event, r.fetcher);
    expect(first.ok).toBe(false);
    expect(second.ok).toBe(true);
    expect(r.seen[0]?.headers.get("webhook-id")).toBe(r.seen[1]?.headers.get("webhook-id"));
    expect(r.seen[0]?.headers.get("webhook-id")).toMatch(/^msg_[0-9a-f]{32}$/);
    const other = await deliver(configured, cloud, { ...event, id: "evt_out_2" }, r.fetcher);
    expect(other.webhookId).not.toBe(first.webhookId);
    const elsewhere = await deliver(configured, { ...cloud, name: "other" }, event, r.fetcher);
    expect(elsewhere.webhookId).not.toBe(first.webhookId);
  });

  it("signs with every configured secret while the receiver rotates", async () => {
    const r = receiver(new Response(null, { status: 200 }));
    await deliver(envWith({ ...configured, OUT_SECRET: `${OUT_SECRET} ${NEXT_SECRET}` }), cloud, event, r.fetcher);
    const [sent] = r.seen;
    expect(sent?.headers.get("webhook-signature")?.split(" ")).toHaveLength(2);
    for (const secret of [OUT_SECRET, NEXT_SECRET]) {
      const ok = await verify(
        parseSecrets(secret),
        {
          id: sent?.headers.get("webhook-id") ?? null,
          timestamp: sent?.headers.get("webhook-timestamp") ?? null,
          signature: sent?.headers.get("webhook-signature") ?? null,
        },
        new TextEncoder().encode(sent?.body),
        300,
      );
      expect(ok.ok).toBe(true);
    }
  });

  it("refuses to send without its secret, or to a URL that is not https (http only to loopback)", async () => {
    const r = receiver(new Response(null, { status: 200 }));
    const noSecret = await deliver(envWith({ ...configured, OUT_SECRET: "" }), cloud, event, r.fetcher);
    expect(noSecret).toMatchObject({ ok: false, retryable: false, message: "OUT_SECRET is not set" });
    for (const url of [
      "http://receiver.example/hook",
      "ftp://receiver.example/",
      "not a url",
      "https://u:p@receiver.example/",
    ]) {
      const result = await deliver(envWith({ ...configured, OUT_URL: url }), cloud, event, r.fetcher);
      expect(result, url).toMatchObject({ ok: false, retryable: false });
    }
    expect(r.seen).toHaveLength(0);
    for (const url of ["http://127.0.0.1:8788/hook", "http://localhost:9/x", "http://[::1]:9/x"]) {
      expect(targetOf(envWith({ OUT_URL: url }), cloud).url?.href, url).toBeDefined();
    }
    // Unset: off here; nothing sent, the run says why.
    const off = await deliver(envWith({ OUT_SECRET }), cloud, event, r.fetcher);
    expect(off).toMatchObject({ ok: true, skipped: "OUT_URL is not set" });
  });
});

describe("Slack-compatible messages", () => {
  it("posts what the template builds as JSON", async () => {
    const r = receiver(new Response("ok", { status: 200 }));
    const result = await deliver(configured, slack, { ...event, type: "order.review_requested" }, r.fetcher);
    expect(result.ok).toBe(true);
    expect(r.seen[0]?.headers.get("content-type")).toBe("application/json");
    expect(JSON.parse(r.seen[0]?.body ?? "")).toEqual({ text: "order ord_out_1 needs a look" });
    expect(r.seen[0]?.headers.get("webhook-signature")).toBeNull();
  });
});

describe("what an answer means", () => {
  it("retries 5xx, 408 and 429 (honouring Retry-After), and dead-letters any other 4xx at once", async () => {
    const cases: [Response, { retryable: boolean; receiverDown: boolean; delaySeconds?: number }][] = [
      [
        new Response("down", { status: 503, headers: { "retry-after": "7" } }),
        { retryable: true, receiverDown: true, delaySeconds: 7 },
      ],
      [new Response(null, { status: 500 }), { retryable: true, receiverDown: true }],
      [new Response(null, { status: 408 }), { retryable: true, receiverDown: true }],
      [
        new Response(null, { status: 429, headers: { "retry-after": "120" } }),
        { retryable: true, receiverDown: true, delaySeconds: 120 },
      ],
      [new Response("gone", { status: 410 }), { retryable: false, receiverDown: false }],
      [new Response(null, { status: 400 }), { retryable: false, receiverDown: false }],
      [new Response(null, { status: 401 }), { retryable: false, receiverDown: false }],
    ];
    for (const [reply, expected] of cases) {
      const result = await deliver(configured, cloud, event, receiver(reply).fetcher);
      expect(result, String(reply.status)).toMatchObject({ ok: false, status: reply.status, ...expected });
      if (expected.delaySeconds === undefined) expect(result).not.toHaveProperty("delaySeconds");
    }
  });

  it("reads Retry-After as seconds or an HTTP date, capped at an hour", () => {
    const now = Date.parse("2026-11-22T12:00:00Z");
    expect(retryAfterSeconds("30", now)).toBe(30);
    expect(retryAfterSeconds("Sun, 22 Nov 2026 12:01:00 GMT", now)).toBe(60);
    expect(retryAfterSeconds("Sun, 22 Nov 2026 11:00:00 GMT", now)).toBe(0);
    expect(retryAfterSeconds("999999", now)).toBe(3600);
    expect(retryAfterSeconds("soon", now)).toBeUndefined();
    expect(retryAfterSeconds(null, now)).toBeUndefined();
  });

  it("keeps no more than the first KiB of what the receiver says", async () => {
    const big = "x".repeat(EXCERPT_BYTES * 50);
    const result = await deliver(configured, cloud, event, receiver(new Response(big, { status: 500 })).fetcher);
    expect(result.ok).toBe(false);
    expect(result.excerpt?.length).toBe(EXCERPT_BYTES);
    expect(!result.ok && result.message.length).toBeLessThan(220);
  });

  it("follows a redirect within the same origin, and refuses one to another host", async () => {
    const same = receiver(
      new Response(null, { status: 307, headers: { location: "/hooks/v2" } }),
      new Response("moved ok", { status: 200 }),
    );
    expect(await deliver(configured, cloud, event, same.fetcher)).toMatchObject({ ok: true, status: 200 });
    expect(same.seen.map((s) => s.url)).toEqual([
      "https://receiver.example/hooks/agentwire",
      "https://receiver.example/hooks/v2",
    ]);
    expect(same.seen[1]?.body).toBe(same.seen[0]?.body);

    const away = receiver(
      new Response(null, { status: 302, headers: { location: "https://attacker.example/steal" } }),
      new Response("got it", { status: 200 }),
    );
    const refused = await deliver(configured, cloud, event, away.fetcher);
    expect(refused).toMatchObject({ ok: false, retryable: false, status: 302 });
    expect(away.seen.map((s) => s.url)).toEqual(["https://receiver.example/hooks/agentwire"]);
  });

  it("gives up on a receiver slower than the timeout, as a retryable failure", async () => {
    const slow = (r: Request) =>
      new Promise<Response>((resolve, reject) => {
        const timer = setTimeout(() => resolve(new Response("late")), 5000);
        r.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(new Error("aborted"));
        });
      });
    const started = Date.now();
    const result = await deliver(configured, cloud, event, receiver(slow).fetcher);
    expect(result).toMatchObject({
      ok: false,
      retryable: true,
      receiverDown: true,
      message: "no answer within 200 ms",
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("never repeats the URL, whose path may be the secret, in what it records", async () => {
    const failing = (r: Request): Promise<Response> => Promise.reject(new Error(`connect ECONNREFUSED ${r.url}`));
    const result = await deliver(configured, cloud, event, failing);
    expect(result).toMatchObject({ ok: false, retryable: true, receiverDown: true });
    expect(!result.ok && result.message).not.toContain("hooks/agentwire");
  });
});
