// Destinations end to end: `wrangler dev` with the example registry, and a real HTTP receiver on
// loopback that checks every signature and counts deliveries per order. Each order's outcome must
// reach it exactly once however the receiver misbehaves: 500 then 200, slow past the timeout, 410
// (dead-lettered, then replayed), down for a while (the circuit opens, nothing is called, a probe
// closes it), and the ops channel gets a Slack-style message for an order that waits for a person.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { adminGet, orderPlaced, postSigned } from "../../scripts/lib/client";
import { parseSecrets, verify } from "../../src/ingest/signature";
import { useDevServer } from "./support";

const OUT_SECRET = "whsec_ZTJlLWZ1bGZpbG1lbnQtc2VjcmV0LTAxMjM0NQ==";

interface Hit {
  path: string;
  orderId: string;
  type: string;
  webhookId: string | undefined;
  verified: boolean;
  body: unknown;
}
const hits: Hit[] = [];
/** What the receiver does for an order: the n-th request's answer ("slow": answers 200 after 2.5 s). */
const plans = new Map<string, (n: number) => number | "slow">();

async function handle(req: IncomingMessage, res: ServerResponse) {
  let body = "";
  req.setEncoding("utf8");
  for await (const chunk of req) body += chunk as string;
  const parsed = JSON.parse(body) as { type?: string; data?: { orderId?: string }; text?: string };
  const orderId = parsed.data?.orderId ?? /ord_[\w-]+/.exec(parsed.text ?? "")?.[0] ?? "";
  const header = (name: string) => (typeof req.headers[name] === "string" ? req.headers[name] : null);
  const checked = await verify(
    parseSecrets(OUT_SECRET),
    { id: header("webhook-id"), timestamp: header("webhook-timestamp"), signature: header("webhook-signature") },
    new TextEncoder().encode(body),
    300,
  );
  hits.push({
    path: req.url ?? "",
    orderId,
    type: parsed.type ?? "slack",
    webhookId: header("webhook-id") ?? undefined,
    verified: checked.ok,
    body: parsed,
  });
  const n = hits.filter((h) => h.orderId === orderId && h.path === req.url).length;
  const answer = plans.get(orderId)?.(n) ?? 200;
  if (answer === "slow") await new Promise((r) => setTimeout(r, 2500));
  res.writeHead(answer === "slow" ? 200 : answer, { "content-type": "text/plain" });
  res.end(`receiver: ${answer}`);
}

let receiver: Server = createServer((req, res) => void handle(req, res));
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const port = (receiver.address() as AddressInfo).port;

const target = useDevServer({
  FULFILMENT_WEBHOOK_URL: `http://127.0.0.1:${port}/fulfilment`,
  FULFILMENT_WEBHOOK_SECRET: OUT_SECRET,
  OPS_SLACK_WEBHOOK_URL: `http://127.0.0.1:${port}/slack/T000/B000/secret-path`,
  RETRY_BASE_DELAY_SECONDS: "1",
  RETRY_MAX_DELAY_SECONDS: "2",
  DESTINATION_TIMEOUT_SECONDS: "1",
  DESTINATION_CIRCUIT_FAILURES: "3",
  DESTINATION_CIRCUIT_COOLDOWN_SECONDS: "2",
});
afterAll(() => new Promise((r) => receiver.close(r)));

const WAIT = { timeout: 30_000, interval: 200 };
const fulfilled = (orderId: string) => hits.filter((h) => h.path === "/fulfilment" && h.orderId === orderId);

interface Run {
  agent: string;
  status: string;
  output: { delivery?: { status?: number; webhookId: string } } | null;
  attempts: { status: string; error?: string }[];
}

/** The fulfilment run of the order's outcome event, once it has one. */
async function fulfilmentRun(orderId: string): Promise<Run | undefined> {
  const { body } = await adminGet<{ events: { event: { id: string; type: string } }[] }>(
    target,
    `/v1/events?correlationid=${orderId}&limit=50`,
  );
  const outcome = body.events
    .map((e) => e.event)
    .find((e) => e.type === "order.confirmed" || e.type === "order.rejected");
  if (!outcome) return undefined;
  const detail = await adminGet<{ runs: Run[] }>(target, `/v1/events/${encodeURIComponent(outcome.id)}`);
  return detail.body.runs.find((r) => r.agent === "fulfilment");
}

async function place(amount = 80, plan?: (n: number) => number | "slow") {
  const order = orderPlaced({ amount });
  if (plan) plans.set(order.data.orderId, plan);
  expect((await postSigned(target, JSON.stringify(order))).status).toBe(202);
  return order.data.orderId;
}

describe("destinations against a real receiver", () => {
  it("delivers a confirmed order once, as a signed CloudEvent the receiver verifies", async () => {
    const orderId = await place();
    await expect.poll(() => fulfilmentRun(orderId).then((r) => r?.status), WAIT).toBe("succeeded");
    const [hit, ...more] = fulfilled(orderId);
    expect(more).toEqual([]);
    expect(hit).toMatchObject({ type: "order.confirmed", verified: true });
    expect((await fulfilmentRun(orderId))?.output?.delivery).toMatchObject({ status: 200, webhookId: hit?.webhookId });
  });

  it("retries a 500, then delivers once more under the same webhook-id", async () => {
    const orderId = await place(80, (n) => (n === 1 ? 500 : 200));
    await expect.poll(() => fulfilmentRun(orderId).then((r) => r?.status), WAIT).toBe("succeeded");
    const got = fulfilled(orderId);
    expect(got).toHaveLength(2);
    expect(new Set(got.map((h) => h.webhookId)).size).toBe(1);
    const run = await fulfilmentRun(orderId);
    expect(run?.attempts.map((a) => a.status)).toEqual(["failed", "succeeded"]);
    expect(run?.attempts[0]?.error).toContain("HTTP 500");
  });

  it("gives up on a receiver slower than the timeout and delivers on the retry", async () => {
    const orderId = await place(80, (n) => (n === 1 ? "slow" : 200));
    await expect.poll(() => fulfilmentRun(orderId).then((r) => r?.status), WAIT).toBe("succeeded");
    const run = await fulfilmentRun(orderId);
    expect(run?.attempts[0]?.error).toContain("no answer within 1000 ms");
    expect(fulfilled(orderId).length).toBeGreaterThanOrEqual(2);
  });

  it("dead-letters a 410 at once, lists it with its error, and delivers it on replay", async () => {
    let gone = true;
    const orderId = await place(12_000, () => (gone ? 410 : 200)); // high risk: rejected
    await expect.poll(() => fulfilmentRun(orderId).then((r) => r?.status), WAIT).toBe("dead_lettered");
    expect(fulfilled(orderId)).toHaveLength(1);
    expect(fulfilled(orderId)[0]?.type).toBe("order.rejected");
    const { body } = await adminGet<{ deadLetters: { id: number; error: unknown }[] }>(
      target,
      `/v1/dead-letters?agent=fulfilment&correlationid=${orderId}`,
    );
    const [letter] = body.deadLetters;
    expect(JSON.stringify(letter?.error)).toContain("HTTP 410");

    gone = false;
    const replay = await fetch(`${target.url}/v1/dead-letters/${letter?.id}/replay`, {
      method: "POST",
      headers: { authorization: `Bearer ${target.adminToken}` },
    });
    expect(replay.status).toBe(200);
    await expect.poll(() => fulfilmentRun(orderId).then((r) => r?.status), WAIT).toBe("succeeded");
    const got = fulfilled(orderId);
    expect(got).toHaveLength(2);
    expect(got[1]?.webhookId).toBe(got[0]?.webhookId);
  });

  it("opens the circuit while the receiver is down, calls nothing, and delivers each order once after a probe", async () => {
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
    const orders = [await place(), await place(), await place()];
    const circuit = async () => {
      const { body } = await adminGet<{ destinations: { name: string; circuit: { state: string } }[] }>(
        target,
        "/v1/destinations",
      );
      return body.destinations.find((d) => d.name === "fulfilment")?.circuit.state;
    };
    await expect.poll(circuit, WAIT).toBe("open");

    receiver = createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve) => receiver.listen(port, "127.0.0.1", resolve));
    for (const orderId of orders) {
      await expect.poll(() => fulfilmentRun(orderId).then((r) => r?.status), WAIT).toBe("succeeded");
      expect(fulfilled(orderId), orderId).toHaveLength(1);
    }
    expect(await circuit()).toBe("closed");
    const waited = (await Promise.all(orders.map(fulfilmentRun))).flatMap((r) => r?.attempts ?? []);
    expect(waited.some((a) => a.error?.startsWith("circuit open"))).toBe(true);
    // The ops channel was paged once that fulfilment stopped answering, however many deliveries failed.
    const paged = () =>
      hits.filter((h) => h.path.startsWith("/slack/") && JSON.stringify(h.body).includes("circuit_opened, fulfilment"));
    await expect.poll(() => paged().length, WAIT).toBe(1);
    await new Promise((r) => setTimeout(r, 1000));
    expect(paged()).toHaveLength(1);
  });

  it("tells the ops channel, as a Slack-style message, about an order that waits for a person", async () => {
    const orderId = await place(3000);
    await expect
      .poll(() => hits.filter((h) => h.path.startsWith("/slack/") && h.orderId === orderId).length, WAIT)
      .toBe(1);
    const hit = hits.find((h) => h.path.startsWith("/slack/") && h.orderId === orderId);
    expect(hit?.body).toEqual({ text: expect.stringContaining(`Order ${orderId} waits for approval`) });
    expect(fulfilled(orderId)).toEqual([]);
  });
});
