// Configuration: every problem named with its fix, each part of agentwire refusing only for its own
// problems, and GET /v1/health telling a deploy script or CI whether the deployment can work.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { checkConfig } from "../src/config";
import { ADMIN, count, orderPlaced, signedRequest, waitFor } from "./support/helpers";
import worker from "./support/worker";

const NOV = new Date("2026-11-22T12:00:00Z");
const fetchWith = (request: Request, vars: Record<string, unknown>) =>
  worker.fetch(request, { ...env, ...vars }, createExecutionContext());

describe("checkConfig", () => {
  it("accepts the test configuration", () => {
    expect(checkConfig(env as unknown as Record<string, unknown>, NOV).problems).toEqual([]);
  });

  it("names every problem at once, with its fix, never a secret's value", () => {
    const { problems, settings } = checkConfig(
      {
        ...env,
        ADMIN_TOKEN: undefined,
        WEBHOOK_SECRET: "whsec_not base64!",
        MAX_HOPS: "eight",
        RETRY_MAX_DELAY_SECONDS: "99999",
        ESCALATION_MODEL: "claude-sonnet-4-5",
      },
      new Date("2026-12-01T00:00:00Z"),
    );
    expect(problems.map((p) => p.name)).toEqual([
      "WEBHOOK_SECRET",
      "ADMIN_TOKEN",
      "RETRY_MAX_DELAY_SECONDS",
      "MAX_HOPS",
      "ESCALATION_MODEL",
    ]);
    expect(problems.find((p) => p.name === "ADMIN_TOKEN")).toMatchObject({
      problem: "is not set",
      fix: expect.stringContaining("wrangler secret put ADMIN_TOKEN"),
      // Runs need it only while EVENT_ID_SECRET is unset (the tests set one).
      parts: ["admin"],
    });
    expect(problems.find((p) => p.name === "MAX_HOPS")).toMatchObject({
      problem: expect.stringContaining('(it is "eight")'),
      fix: expect.stringContaining("wrangler.toml [vars]"),
    });
    expect(JSON.stringify(problems)).not.toContain("not base64!");
    expect(problems.find((p) => p.name === "ESCALATION_MODEL")?.problem).toContain("claude-sonnet-5-5");
    // The unaffected settings still have values (defaults where wrong), so other parts can run.
    expect(settings.MAX_HOPS).toBe(16);
  });
});

describe("each part refuses only for its own problems", () => {
  it("ingest keeps working when only ADMIN_TOKEN is missing; reads answer 503 with the reason", async () => {
    const broken = { ADMIN_TOKEN: undefined };
    const order = orderPlaced();
    const accepted = await fetchWith(await signedRequest(JSON.stringify(order)), broken);
    expect(accepted.status).toBe(202);
    await waitFor(() => count("SELECT COUNT(*) AS n FROM events WHERE id = ?", order.id));
    const read = await fetchWith(new Request("https://agentwire.test/v1/events", { headers: ADMIN }), broken);
    expect(read.status).toBe(503);
    expect(await read.json()).toMatchObject({
      error: { code: "misconfigured", problems: [{ name: "ADMIN_TOKEN", problem: "is not set" }] },
    });
  });

  it("ingest answers 503 naming WEBHOOK_SECRET when it is wrong, and writes nothing", async () => {
    const res = await fetchWith(await signedRequest(JSON.stringify(orderPlaced())), { WEBHOOK_SECRET: "" });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { problems: [{ name: "WEBHOOK_SECRET" }] } });
  });
});

describe("GET /v1/health", () => {
  it("answers 200 ok with the parts and the newest migration, without a token", async () => {
    const res = await worker.fetch(new Request("https://agentwire.test/v1/health"), env, createExecutionContext());
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      name: "agentwire",
      status: "ok",
      parts: { ingest: "ok", admin: "ok", runs: "ok", models: "ok" },
      problems: [],
      database: { ok: true, migration: expect.stringMatching(/^\d{4}_.*\.sql$/) },
    });
  });

  it("answers 503 misconfigured, naming the problem but no secret", async () => {
    const res = await fetchWith(new Request("https://agentwire.test/v1/health"), { MAX_HOPS: "eight" });
    expect(res.status).toBe(503);
    const body = await res.json<{ status: string; parts: Record<string, string>; problems: { name: string }[] }>();
    expect(body).toMatchObject({ status: "misconfigured", parts: { ingest: "misconfigured", admin: "ok" } });
    expect(body.problems.map((p) => p.name)).toEqual(["MAX_HOPS"]);
    expect(JSON.stringify(body)).not.toContain(env.WEBHOOK_SECRET);
    expect(JSON.stringify(body)).not.toContain(env.ADMIN_TOKEN);
  });
});
