// The console in a real Chromium against `wrangler dev`: sign in, watch a signed webhook's event arrive
// in the live stream, open its workflow and approve it, replay a dead letter; no page ever breaks its
// CSP; signed out, and from a forged cross-site form, nothing can be done.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminGet, orderPlaced, postSigned } from "../../scripts/lib/client";
import { serveModel } from "../../scripts/lib/model-server";
import { fakeMessagesApi } from "../support/fake-anthropic";
import { type Complaint, complaints, launchChromium } from "./console-browser";
import { ADMIN_TOKEN, useDevServer } from "./support";

// The model API on loopback: fraud-screen's calls for the customer "cust_dead" are refused (401: a
// permanent failure, dead-lettered at once) until the test "fixes the key"; the rest are answered.
let modelDown = true;
const fake = fakeMessagesApi((req) => {
  if (modelDown && req.user.includes("cust_dead")) {
    return { status: 401, error: { type: "authentication_error", message: "e2e: invalid x-api-key" } };
  }
  const amount = Number(/"amount": ?([\d.]+)/.exec(req.user)?.[1] ?? 0);
  const risk = amount >= 10_000 ? "high" : amount >= 2_000 ? "medium" : "low";
  return {
    answer: {
      decision: { risk, score: risk === "medium" ? 40 : 10, reasons: [`e2e: ${risk}`] },
      confidence: 0.93,
      escalate: false,
      rationale: "e2e",
    },
  };
});
const model = await serveModel(fake.fetch);

const target = useDevServer({
  ANTHROPIC_API_KEY: "sk-ant-e2e",
  ANTHROPIC_BASE_URL: model.baseUrl,
});

let browser: Browser;
let context: BrowserContext;
let page: Page;
let seen: Complaint[];

beforeAll(async () => {
  browser = await launchChromium();
  context = await browser.newContext();
  page = await context.newPage();
  seen = complaints(page);
});
afterAll(async () => {
  await browser?.close();
  await model.close();
});

/** expect.poll gives up after 1 s by default: too soon for a page's first answer from wrangler dev. */
const WAIT = { timeout: 10_000 };
const url = (path: string) => `${target.url}${path}`;
const row = (table: string, text: string) => page.locator(`#${table} tbody tr`, { hasText: text });

describe("the console in a browser", () => {
  it("sends a signed-out browser to sign in, refuses a wrong token, and takes the right one", async () => {
    await page.goto(url("/console/stream"));
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
    await page.fill('input[name="token"]', "not-the-token");
    await page.click('button[type="submit"]');
    await expect.poll(() => page.locator('[role="alert"]').textContent(), WAIT).toContain("not the admin token");
    expect(await context.cookies()).toEqual([]);
    // The refused sign-in answered 401, which the browser reports (so complaints are heard); it is
    // expected, nothing else is.
    expect(seen.map((c) => c.text)).toEqual([expect.stringContaining("401")]);
    seen.splice(0, seen.length);

    await page.fill('input[name="token"]', ADMIN_TOKEN);
    await page.click('button[type="submit"]');
    await page.waitForURL(url("/console/stream"));
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: "agentwire_session", httpOnly: true, sameSite: "Strict", path: "/" });
    expect(cookie?.expires).toBeGreaterThan(Date.now() / 1000 + 11 * 3600);
  });

  it("shows a signed webhook's event in the live stream, and its workflow with runs, tiers and costs", async () => {
    await expect.poll(() => page.locator("#stream-status").textContent(), WAIT).toMatch(/^Live/);
    const order = orderPlaced({ amount: 3000 }); // medium risk: the order workflow asks a human
    expect((await postSigned(target, JSON.stringify(order))).status).toBe(202);
    const event = row("stream", order.id);
    await event.waitFor({ timeout: 15_000 });
    expect(await event.textContent()).toContain("order.placed");

    await event.getByRole("link", { name: order.correlationid, exact: true }).click();
    await page.waitForURL(url(`/console/workflows/${order.correlationid}`));
    await page.locator("#wf-approval").waitFor({ state: "visible", timeout: 20_000 });
    const summary = page.locator("#wf-summary");
    expect(await summary.textContent()).toContain("awaiting_approval");
    expect(await page.locator("#wf-deadline").textContent()).toMatch(/Answer before .* left/);
    const runs = page.locator('#wf-tree li[data-type="order.placed"] > table.runs tbody tr');
    await expect.poll(() => runs.count(), WAIT).toBe(3);
    // The review request goes to the ops channel, a destination: off here (no URL), so skipped.
    const ops = page.locator('#wf-tree tr[data-agent="ops-channel"]');
    await expect.poll(() => ops.textContent(), WAIT).toContain("OPS_SLACK_WEBHOOK_URL is not set");
    const fraud = page.locator('#wf-tree tr[data-agent="fraud-screen"]');
    expect(await fraud.textContent()).toContain("triage");
    expect(await fraud.textContent()).toContain("claude-haiku-5-5");
    expect(await fraud.textContent()).toMatch(/\$0\.\d{6}/);
    expect(await page.locator('#wf-tree tr[data-agent="shipping-quote"]').textContent()).toContain("rules");

    await page.fill('#wf-approval input[name="by"]', "ops@example.com");
    await page.fill('#wf-approval textarea[name="reason"]', "verified by phone");
    await page.click('#wf-approval button[value="approve"]');
    await expect.poll(() => summary.textContent(), { timeout: 15_000 }).toContain("order.confirmed");
    expect(await summary.textContent()).toContain("ops@example.com: verified by phone");
    expect(await page.locator("#wf-approval").isHidden()).toBe(true);
    const { body } = await adminGet<{ status: string }>(target, `/v1/workflows/${order.correlationid}`);
    expect(body.status).toBe("completed");
  });

  it("lists a dead letter with its error and replays it", async () => {
    const order = orderPlaced({ customerId: "cust_dead" });
    expect((await postSigned(target, JSON.stringify(order))).status).toBe(202);
    const listed = async () => {
      const { body } = await adminGet<{ deadLetters: unknown[] }>(
        target,
        `/v1/dead-letters?correlationid=${order.correlationid}`,
      );
      return body.deadLetters.length;
    };
    await expect.poll(listed, { timeout: 20_000 }).toBe(1);
    modelDown = false;

    await page.goto(url(`/console/dead-letters?correlationid=${order.correlationid}`));
    const letter = row("dead-letters", "fraud-screen");
    await letter.waitFor();
    expect(await letter.textContent()).toContain("invalid x-api-key");
    await letter.getByRole("button", { name: "Replay" }).click();
    await expect.poll(() => letter.textContent(), WAIT).toContain("replayed");
    expect(await page.locator("#dl-status").textContent()).toContain("replayed");
    await expect
      .poll(
        async () => {
          const { body } = await adminGet<{ runs: { agent: string; status: string }[] }>(
            target,
            `/v1/events/${order.id}`,
          );
          return body.runs.find((r) => r.agent === "fraud-screen")?.status;
        },
        { timeout: 20_000 },
      )
      .toBe("succeeded");
  });

  it("pauses an agent from the topology page, holds its work, and resumes it", async () => {
    const agentState = async () => {
      const { body } = await adminGet<{ agents: { name: string; state: string }[] }>(target, "/v1/agents");
      return body.agents.find((a) => a.name === "shipping-quote")?.state;
    };
    await page.goto(url("/console/topology"));
    await page.locator('#topo-graph svg g[data-node="agent:fraud-screen"]').waitFor(WAIT);
    // The graph is the registry's: the order workflow joins what the agents emit.
    expect(await page.locator('#topo-graph path[data-edge="agent:fraud-screen>type:fraud.assessed"]').count()).toBe(1);
    expect(await page.locator('#topo-graph path[data-edge="type:fraud.assessed>workflow:order"]').count()).toBe(1);
    const agent = page.locator('#topo-agents tr[data-agent="shipping-quote"]');
    await agent.getByRole("button", { name: "Pause" }).click();
    await expect.poll(agentState, WAIT).toBe("paused");
    await expect.poll(() => agent.textContent(), WAIT).toContain("paused");
    expect(await page.locator('g[data-node="agent:shipping-quote"]').getAttribute("class")).toContain("paused");

    const order = orderPlaced({ amount: 40 });
    expect((await postSigned(target, JSON.stringify(order))).status).toBe(202);
    await page.goto(url(`/console/events/${order.id}`));
    await expect.poll(() => page.locator("#ev-summary").textContent(), WAIT).toContain("shipping-quote (held");

    await page.goto(url("/console/topology"));
    await agent.getByRole("button", { name: "Resume" }).click();
    await expect.poll(agentState, WAIT).toBe("active");
    await expect.poll(() => page.locator("#topo-status").textContent(), WAIT).toMatch(/resumed; 1 held/);
    await expect
      .poll(async () => {
        const { body } = await adminGet<{ runs: { agent: string; status: string }[] }>(
          target,
          `/v1/events/${order.id}`,
        );
        return body.runs.find((r) => r.agent === "shipping-quote")?.status;
      }, WAIT)
      .toBe("succeeded");
  });

  it("sends a test event from the stream page and follows it to its timeline, runs and model calls", async () => {
    await page.goto(url("/console/stream"));
    await page.click("#test-event summary");
    await page.selectOption('#test-event select[name="type"]', "order.placed");
    const data = page.locator('#test-event textarea[name="data"]');
    await expect.poll(() => data.inputValue(), WAIT).toContain('"orderId"');
    const body = JSON.parse(await data.inputValue()) as { amount: number; customerId: string };
    await data.fill(JSON.stringify({ ...body, amount: 75, customerId: "cust_console" }));
    await page.fill('#test-event input[name="correlationid"]', "console-test-1");
    await page.click('#test-event button[type="submit"]');
    const sent = page.locator("#test-event-status a");
    await sent.waitFor(WAIT);
    const id = (await sent.textContent()) ?? "";
    await row("stream", id).waitFor({ timeout: 15_000 });

    await sent.click();
    await page.waitForURL((u) => u.pathname === `/console/events/${id}`);
    await expect.poll(() => page.locator("#ev-status").textContent(), { timeout: 20_000 }).toBe("All runs finished");
    expect(await page.locator("#ev-summary").textContent()).toContain("/console/test-events");
    expect(await page.locator("#ev-runs tbody tr").count()).toBe(3);
    // Each run: queued, then its attempt, on the timeline; the model call with its tier and tokens.
    expect(await page.locator('#ev-waterfall g[data-row="fraud-screen"] rect.bar.succeeded').count()).toBe(1);
    expect(await page.locator("#ev-waterfall g.row").count()).toBe(4);
    const call = page.locator('#ev-calls tr[data-agent="fraud-screen"]');
    expect(await call.textContent()).toContain("triage");
    expect(await call.textContent()).toContain("claude-haiku-5-5");
    // Its recorded step: the reply, in order, with the attempt that paid for it.
    const step = page.locator('#ev-steps tr[data-agent="fraud-screen"][data-kind="model"]');
    expect(await step.count()).toBe(1);
    expect(await step.textContent()).toContain("end_turn");
    // The workflow page draws the same runs under its events, and the decision as a line.
    await page.locator("#ev-summary a").click();
    await page.waitForURL(url("/console/workflows/console-test-1"));
    await page.locator("#wf-waterfall g.mark.decided").waitFor({ state: "attached", ...WAIT });
    expect(await page.locator("#wf-waterfall g.row.run").count()).toBeGreaterThanOrEqual(3);
    // Each run's steps fold under its agent in the tree's runs tables.
    const folded = page.locator('#wf-tree tr[data-agent="fraud-screen"] details.steps');
    expect(await folded.locator("summary").textContent()).toBe("1 step");
  });

  it("visits every section without a CSP violation or any other complaint", async () => {
    // The CSP is in force: Trusted Types refuse an HTML sink even to a script running in the page.
    const sink = await page.evaluate(
      `(() => { try { document.body.innerHTML = "<b>x</b>"; return "written"; } catch (e) { return e.name; } })()`,
    );
    expect(sink).toBe("TypeError");
    seen.splice(0, seen.length);
    for (const path of ["/console/workflows", "/console/dead-letters", "/console/topology", "/console/api"]) {
      await page.goto(url(path));
      await page.waitForLoadState("networkidle");
    }
    // The API reference is the OpenAPI document as a page: every operation, its parameters, a curl line.
    await page.goto(url("/console/api"));
    await expect.poll(() => page.locator("#api-status").textContent(), WAIT).toMatch(/^\d+ operations$/);
    const op = page.locator('#api-reference section.operation[data-op="GET /v1/events/{id}"]');
    expect(await op.textContent()).toContain("source");
    expect(await op.locator("pre.curl").textContent()).toContain("Authorization: Bearer $ADMIN_TOKEN");
    await page.fill("#api-reference nav input", "dead-letters");
    expect(await page.locator('#api-reference section.operation[data-op="GET /v1/health"]').isHidden()).toBe(true);
    // Anomalies and costs fill every section from the API: the approved order's model runs cost
    // something, and the dead letter replayed above left its duplicate-free trail.
    await page.goto(url("/console/anomalies"));
    await page.waitForLoadState("networkidle");
    const statuses = await page.locator("section [role=status]").allTextContents();
    expect(statuses.length).toBe(9);
    for (const text of statuses) expect(text).not.toMatch(/Loading|HTTP/);
    await page.goto(url("/console/costs"));
    await page.waitForLoadState("networkidle");
    expect(await page.locator("#costs-status").textContent()).toMatch(/last 7 days/);
    expect(await page.locator("#costs-days tbody tr").count()).toBeGreaterThan(0);
    expect(seen).toEqual([]);
    // The client scripts are static files with their own headers; public/ holds nothing else to serve.
    const script = await page.request.get(url("/console/assets/api.js"));
    expect(script.status()).toBe(200);
    expect(script.headers()["content-type"]).toMatch(/javascript/);
    expect(script.headers()["x-content-type-options"]).toBe("nosniff");
    expect((await page.request.get(url("/tsconfig.json"))).status()).toBe(404);
  });

  it("a forged cross-site form changes nothing, and signing out ends the session", async () => {
    // Another port on 127.0.0.1 is another origin but the same site: SameSite=Strict lets the cookie
    // through, and the Origin check is what stops it.
    const evil = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(
        `<form method="post" action="${url("/v1/agents/fraud-screen/pause")}" enctype="text/plain">` +
          `<input name='{"by":"attacker","x":"' value='"}'><button>win a prize</button></form>`,
      );
    });
    await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve));
    try {
      const attacker = await context.newPage();
      await attacker.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      const [answer] = await Promise.all([
        attacker.waitForResponse(/\/v1\/agents\/fraud-screen\/pause/),
        attacker.click("button"),
      ]);
      expect(answer.status()).toBe(403);
      expect(await answer.json()).toMatchObject({ error: { code: "cross_origin" } });
      await attacker.close();
    } finally {
      await new Promise((r) => evil.close(r));
    }
    const { body } = await adminGet<{ agents: { name: string; state: string }[] }>(target, "/v1/agents");
    expect(body.agents.find((a) => a.name === "fraud-screen")?.state).toBe("active");

    await page.goto(url("/console/stream"));
    await page.click(".sign-out button");
    await page.waitForURL(url("/console/sign-in"));
    expect(await context.cookies()).toEqual([]);
    const res = await page.request.get(url("/v1/events?limit=1"));
    expect(res.status()).toBe(401);
    await page.goto(url("/console/workflows"));
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
  });
});
