// POST /v1/sources/:name for GitHub, Stripe and Shopify with real local bindings: each scheme's valid,
// tampered, wrong-secret, stale, rotated and replayed requests, and the example agent end to end.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { count, runsOf, waitFor } from "./support/helpers";
import { envelope, expectAnswer, expectNothingWritten, logged, recorded, send, settle } from "./support/source-checks";
import {
  disputeCreated,
  githubSent,
  hexHmac,
  issueOpened,
  KEYS,
  orderCreated,
  postSource,
  shopifySent,
  stripeSent,
} from "./support/sources";

describe("GitHub", () => {
  it("accepts issues.opened as github.issues.opened: source /sources/github, data as the catalog keeps it", async () => {
    const delivery = crypto.randomUUID();
    const payload = issueOpened(101);
    const res = await send("github", githubSent(payload, { delivery }));
    expect(await expectAnswer(res, 202)).toEqual({ accepted: [{ id: delivery, duplicate: false }] });
    const event = await waitFor(() => envelope(delivery, "github"));
    expect(event).toMatchObject({
      type: "github.issues.opened",
      source: "/sources/github",
      subject: "acme/shop#101",
      correlationid: "acme/shop#101",
      hopcount: 0,
    });
    // Undeclared fields (installation, ids, state) are dropped by the catalog schema.
    expect(event.data).toEqual({
      action: "opened",
      issue: {
        number: 101,
        title: payload.issue.title,
        body: payload.issue.body,
        html_url: payload.issue.html_url,
        user: { login: "octocat" },
        labels: [{ name: "triage" }],
      },
      repository: { full_name: "acme/shop" },
      sender: { login: "octocat" },
    });
    expect(await recorded(`github:${delivery}`)).toBe(1);
  });

  it("runs the example agent end to end: issue-triage publishes issue.triaged", async () => {
    const delivery = crypto.randomUUID();
    const payload = issueOpened(202, "Security: XSS in the search box crashes the page");
    expect((await send("github", githubSent(payload, { delivery }))).status).toBe(202);
    const runs = await waitFor(async () => {
      const r = await runsOf(delivery);
      return r.some((run) => run.status === "succeeded") && r;
    });
    expect(runs.map((r) => [r.agent, r.status])).toEqual([["issue-triage", "succeeded"]]);
    const triaged = await waitFor(() =>
      env.DB.prepare("SELECT envelope FROM events WHERE type = 'issue.triaged' AND correlation_id = ?")
        .bind("acme/shop#202")
        .first<{ envelope: string }>(),
    );
    expect(JSON.parse(triaged.envelope)).toMatchObject({
      source: "/agentwire/agents/issue-triage",
      causationid: delivery,
      data: { repository: "acme/shop", number: 202, labels: ["security", "bug"], priority: "urgent" },
    });
  });

  it("refuses a tampered body and a wrong secret (401), writing nothing", async () => {
    const delivery = crypto.randomUUID();
    const payload = issueOpened();
    const tampered = githubSent(payload, { delivery, body: JSON.stringify({ ...payload, action: "opened " }) });
    await expectNothingWritten(
      await send("github", tampered),
      401,
      "invalid_signature",
      delivery,
      "github",
      `github:${delivery}`,
    );
    const wrong = githubSent(payload, { delivery, key: "gh-someone-elses-secret-0123" });
    await expectNothingWritten(
      await send("github", wrong),
      401,
      "invalid_signature",
      delivery,
      "github",
      `github:${delivery}`,
    );
  });

  it("accepts the old and the new secret while both are configured (rotation)", async () => {
    for (const key of [KEYS.github.old, KEYS.github.current]) {
      const delivery = crypto.randomUUID();
      expect((await send("github", githubSent(issueOpened(), { delivery, key }))).status).toBe(202);
      await waitFor(async () => (await logged(delivery, "github")) === 1);
    }
  });

  it("answers a redelivery as a duplicate: logged once, the agent runs once", async () => {
    const delivery = crypto.randomUUID();
    const sent = githubSent(issueOpened(), { delivery });
    expect(await expectAnswer(await send("github", sent), 202)).toEqual({
      accepted: [{ id: delivery, duplicate: false }],
    });
    expect(await expectAnswer(await send("github", sent), 202)).toEqual({
      accepted: [{ id: delivery, duplicate: true }],
    });
    await waitFor(async () => (await runsOf(delivery)).some((r) => r.status === "succeeded"));
    await settle();
    expect(await logged(delivery, "github")).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM agent_runs WHERE event_id = ?", delivery)).toBe(1);
    expect(await count("SELECT deliveries AS n FROM webhook_messages WHERE webhook_id = ?", `github:${delivery}`)).toBe(
      2,
    );
  });

  it("refuses the same delivery id with another body (409)", async () => {
    const delivery = crypto.randomUUID();
    const payload = issueOpened();
    expect((await send("github", githubSent(payload, { delivery }))).status).toBe(202);
    const other = githubSent({ ...payload, issue: { ...payload.issue, title: "another title" } }, { delivery });
    await expectAnswer(await send("github", other), 409, "webhook_id_reused");
    await settle();
    expect(await logged(delivery, "github")).toBe(1);
  });

  it("acknowledges GitHub's ping (202, nothing accepted) and writes nothing", async () => {
    const delivery = crypto.randomUUID();
    const res = await send(
      "github",
      githubSent({ zen: "Keep it logically awesome.", hook_id: 1 }, { delivery, event: "ping" }),
    );
    expect(await expectAnswer(res, 202)).toEqual({ accepted: [] });
    expect(await recorded(`github:${delivery}`)).toBe(0);
  });

  it("refuses an event type outside the catalog (422 unknown_type), a form body (415), no delivery id (400)", async () => {
    const delivery = crypto.randomUUID();
    const star = githubSent({ action: "created", repository: { full_name: "acme/shop" } }, { delivery, event: "star" });
    await expectNothingWritten(
      await send("github", star),
      422,
      "unknown_type",
      delivery,
      "github",
      `github:${delivery}`,
    );
    const form = githubSent(issueOpened(), { delivery });
    const res = await postSource(
      new Request("https://agentwire.test/v1/sources/github", {
        method: "POST",
        headers: { ...form.headers, "content-type": "application/x-www-form-urlencoded" },
        body: form.body,
      }),
    );
    await expectNothingWritten(res, 415, "unsupported_content_type", delivery, "github");
    const noId = githubSent(issueOpened(), { delivery });
    delete noId.headers["x-github-delivery"];
    await expectNothingWritten(await send("github", noId), 400, "invalid_delivery_id", delivery, "github");
  });

  it("refuses data failing its schema (422 invalid_data) and malformed JSON (400), signed or not", async () => {
    const delivery = crypto.randomUUID();
    const bad = githubSent({ ...issueOpened(), issue: { number: 7 } }, { delivery });
    await expectNothingWritten(
      await send("github", bad),
      422,
      "invalid_data",
      delivery,
      "github",
      `github:${delivery}`,
    );
    // What the source's own body schema refuses is not a GitHub webhook at all.
    const odd = githubSent({ ...issueOpened(), issue: { number: "one" } }, { delivery });
    await expectNothingWritten(
      await send("github", odd),
      400,
      "invalid_body",
      delivery,
      "github",
      `github:${delivery}`,
    );
    const broken = "{not json";
    const signed = githubSent({}, { delivery });
    signed.headers["x-hub-signature-256"] = `sha256=${hexHmac(KEYS.github.current, broken)}`;
    await expectAnswer(await send("github", { ...signed, body: broken }), 400, "malformed_json");
  });
});

describe("Stripe", () => {
  it("accepts charge.dispute.created: id the event id, time when Stripe created it, data the dispute", async () => {
    const payload = disputeCreated();
    expect(await expectAnswer(await send("stripe", stripeSent(payload)), 202)).toEqual({
      accepted: [{ id: payload.id, duplicate: false }],
    });
    const event = await waitFor(() => envelope(payload.id, "stripe"));
    expect(event).toMatchObject({
      type: "stripe.charge.dispute.created",
      time: new Date(payload.created * 1000).toISOString(),
      subject: payload.data.object.id,
      correlationid: payload.data.object.payment_intent,
      data: { id: payload.data.object.id, amount: 12_950, reason: "fraudulent", charge: payload.data.object.charge },
    });
    expect(event.data).not.toHaveProperty("evidence");
  });

  it("refuses a stale or future timestamp (tolerance 300 s), a tampered body and a wrong secret", async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const sent of [
      stripeSent(disputeCreated(), { t: now - 302 }),
      stripeSent(disputeCreated(), { t: now + 330 }), // ahead by more than the tolerance, whatever the clock did since
      stripeSent(disputeCreated(), { key: "whsec_someone_elses_secret_0123" }),
    ]) {
      const id = (JSON.parse(sent.body) as { id: string }).id;
      await expectNothingWritten(await send("stripe", sent), 401, "invalid_signature", id, "stripe", `stripe:${id}`);
    }
    const payload = disputeCreated();
    const tampered = stripeSent(payload, { body: JSON.stringify({ ...payload, livemode: true }) });
    await expectNothingWritten(await send("stripe", tampered), 401, "invalid_signature", payload.id, "stripe");
    expect((await send("stripe", stripeSent(disputeCreated(), { t: now - 250 }))).status).toBe(202);
  });

  it("accepts the old and the new secret, also as two v1 signatures in one header", async () => {
    const old = disputeCreated();
    expect((await send("stripe", stripeSent(old, { key: KEYS.stripe.old }))).status).toBe(202);
    const rolled = disputeCreated();
    const t = Math.floor(Date.now() / 1000);
    const body = JSON.stringify(rolled);
    const [a, b] = [KEYS.stripe.old, "whsec_not_configured_0123456789"].map((key) => hexHmac(key, `${t}.${body}`));
    const signature = `t=${t},v1=${b},v1=${a}`;
    expect((await send("stripe", stripeSent(rolled, { signature }))).status).toBe(202);
    await waitFor(async () => (await logged(old.id, "stripe")) === 1 && (await logged(rolled.id, "stripe")) === 1);
  });

  it("answers Stripe's retry of an event as a duplicate, and the same event id with other content 409", async () => {
    const payload = disputeCreated();
    const sent = stripeSent(payload);
    expect((await send("stripe", sent)).status).toBe(202);
    // A retry later: a new timestamp and signature, the same body.
    const retry = stripeSent(payload, { t: Math.floor(Date.now() / 1000) - 5 });
    expect(await expectAnswer(await send("stripe", retry), 202)).toEqual({
      accepted: [{ id: payload.id, duplicate: true }],
    });
    const altered = stripeSent({ ...payload, data: { object: { ...payload.data.object, amount: 1 } } });
    await expectAnswer(await send("stripe", altered), 409, "webhook_id_reused");
    await settle();
    expect(await logged(payload.id, "stripe")).toBe(1);
  });
});

describe("Shopify", () => {
  it("accepts orders/create as shopify.orders.create, correlated by the order", async () => {
    const order = orderCreated();
    const webhookId = crypto.randomUUID();
    expect(await expectAnswer(await send("shopify", shopifySent(order, { webhookId })), 202)).toEqual({
      accepted: [{ id: webhookId, duplicate: false }],
    });
    const event = await waitFor(() => envelope(webhookId, "shopify"));
    expect(event).toMatchObject({
      type: "shopify.orders.create",
      time: order.updated_at,
      subject: `orders/${order.id}`,
      correlationid: `orders/${order.id}`,
      data: {
        id: order.id,
        total_price: "129.50",
        line_items: [{ sku: "SKU-1", quantity: 2, title: "Espresso cups" }],
      },
    });
    expect(event.data).not.toHaveProperty("customer");
  });

  it("refuses a tampered body and a wrong secret; accepts the old secret", async () => {
    const order = orderCreated();
    const webhookId = crypto.randomUUID();
    const tampered = shopifySent(order, { webhookId, body: JSON.stringify({ ...order, total_price: "0.01" }) });
    await expectNothingWritten(await send("shopify", tampered), 401, "invalid_signature", webhookId, "shopify");
    const wrong = shopifySent(order, { webhookId, key: "shpss_someone_elses_0123456789" });
    await expectNothingWritten(await send("shopify", wrong), 401, "invalid_signature", webhookId, "shopify");
    expect((await send("shopify", shopifySent(order, { webhookId, key: KEYS.shopify.old }))).status).toBe(202);
  });

  // X-Shopify-Topic is not signed, and orders/create and orders/paid carry the same order: a captured
  // request relabelled under its webhook id is caught by the digest of the headers the mapping reads.
  it("answers a retry as a duplicate; the same webhook id with another topic or body is refused 409", async () => {
    const order = orderCreated();
    const webhookId = crypto.randomUUID();
    const sent = shopifySent(order, { webhookId });
    expect((await send("shopify", sent)).status).toBe(202);
    // A retry: the same body and ids; headers the mapping does not read (Triggered-At) may differ.
    const retry = { ...sent, headers: { ...sent.headers, "x-shopify-triggered-at": "2026-11-20T15:20:00.123456789Z" } };
    expect(await expectAnswer(await send("shopify", retry), 202)).toEqual({
      accepted: [{ id: webhookId, duplicate: true }],
    });
    await expectAnswer(
      await send("shopify", shopifySent(order, { webhookId, topic: "orders/paid" })),
      409,
      "webhook_id_reused",
    );
    await expectAnswer(
      await send("shopify", shopifySent({ ...order, name: "#1002" }, { webhookId })),
      409,
      "webhook_id_reused",
    );
    await settle();
    expect(await logged(webhookId, "shopify")).toBe(1);
  });
});
