// POST /v1/sources/:name: a Standard Webhooks and a bearer source, and what every source shares with
// /v1/events: refusals that write nothing (404, 413, 422, 429, 503), the rate limit, logs, OpenAPI.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { uniqueId, waitFor } from "./support/helpers";
import { expectAnswer, expectNothingWritten, logged, send } from "./support/source-checks";
import { githubSent, issueOpened, KEYS, relaySent, sourcesApp, standardSent } from "./support/sources";

afterEach(() => vi.restoreAllMocks());

describe("Standard Webhooks and bearer sources", () => {
  it("verifies a Standard Webhooks source: valid, tampered, stale, rotated, replayed", async () => {
    const id = uniqueId("msg");
    expect((await send("billing", standardSent({ n: 1 }, { id }))).status).toBe(202);
    expect(await expectAnswer(await send("billing", standardSent({ n: 1 }, { id })), 202)).toEqual({
      accepted: [{ id, duplicate: true }],
    });
    await expectAnswer(await send("billing", standardSent({ n: 2 }, { id })), 409, "webhook_id_reused");
    const other = uniqueId("msg");
    await expectNothingWritten(
      await send("billing", standardSent({ n: 1 }, { id: other, body: '{"n":3}' })),
      401,
      "invalid_signature",
      other,
      "billing",
    );
    const stale = standardSent({ n: 1 }, { id: other, t: Math.floor(Date.now() / 1000) - 301 });
    await expectNothingWritten(await send("billing", stale), 401, "invalid_signature", other, "billing");
    expect((await send("billing", standardSent({ n: 1 }, { id: other, key: KEYS.billing.old }))).status).toBe(202);
    await waitFor(async () => (await logged(id, "billing")) === 1 && (await logged(other, "billing")) === 1);
  });

  it("verifies a bearer token (either of two); refuses another one", async () => {
    for (const token of [KEYS.relay.current, KEYS.relay.old]) {
      const id = uniqueId("relay");
      expect((await send("relay", relaySent({ type: "test.unheard", id, data: { n: 1 } }, token))).status).toBe(202);
    }
    const id = uniqueId("relay");
    const wrong = relaySent({ type: "test.unheard", id, data: { n: 1 } }, "relay-token-guessed-0123456789");
    await expectNothingWritten(await send("relay", wrong), 401, "invalid_signature", id, "relay", `relay:${id}`);
  });

  it("refuses an internal event type from a verified source: 422 internal_type, nothing written", async () => {
    const id = uniqueId("forged");
    const forged = { type: "fraud.assessed", id, data: { orderId: "ord-1", risk: "low", score: 0, reasons: [] } };
    await expectNothingWritten(
      await send("relay", relaySent(forged)),
      422,
      "internal_type",
      id,
      "relay",
      `relay:${id}`,
    );
  });
});

describe("the route", () => {
  it("answers 404 for an unknown source and 503 naming the secret of a source without one", async () => {
    await expectAnswer(await send("gitlab", relaySent({})), 404, "unknown_source");
    const res = await send("unset", githubSent(issueOpened()));
    const body = await expectAnswer(res, 503, "misconfigured");
    expect(JSON.stringify(body)).toContain("TEST_UNSET_SECRET");
  });

  it("refuses a body over 1 MiB (413) before verifying it", async () => {
    const sent = githubSent({ pad: "x".repeat(1024 * 1024) });
    await expectAnswer(await send("github", sent), 413, "body_too_large");
  });

  it("rate-limits per source, keyed by its name, counting events (429, nothing written)", async () => {
    const spy = vi.spyOn(env.INGEST_RATE_LIMITER, "limit");
    expect((await send("github", githubSent(issueOpened()))).status).toBe(202);
    expect(spy.mock.calls.map(([options]) => options.key)).toEqual(["source:github"]);
    spy.mockResolvedValueOnce({ success: false });
    const delivery = crypto.randomUUID();
    const res = await send("github", githubSent(issueOpened(), { delivery }));
    await expectNothingWritten(res, 429, "rate_limited", delivery, "github", `github:${delivery}`);
  });

  it("logs each accepted event with the source's name, and each refusal", async () => {
    const lines: Record<string, unknown>[] = [];
    vi.spyOn(console, "log").mockImplementation((line: Record<string, unknown>) => void lines.push(line));
    const delivery = crypto.randomUUID();
    expect((await send("github", githubSent(issueOpened(), { delivery }))).status).toBe(202);
    await send("github", githubSent(issueOpened(), { key: "gh-someone-elses-secret-0123" }));
    expect(lines.find((l) => l.msg === "ingest" && l.eventId === delivery)).toMatchObject({
      source: "/sources/github",
      sourceName: "github",
      webhookId: `github:${delivery}`,
      mode: "source",
      type: "github.issues.opened",
      status: "accepted",
    });
    expect(lines.find((l) => l.msg === "ingest.rejected")).toMatchObject({
      status: 401,
      code: "invalid_signature",
      sourceName: "github",
    });
  });

  it("is documented in the OpenAPI document", () => {
    const doc = sourcesApp.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
    const post = doc.paths?.["/v1/sources/{name}"]?.post;
    expect(post?.responses).toHaveProperty("202");
    expect(Object.keys(post?.responses ?? {})).toEqual(
      expect.arrayContaining(["400", "401", "404", "409", "413", "415", "422", "429", "503"]),
    );
  });
});
