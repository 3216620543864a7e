// `npm run screenshots`: the README's pictures of the console, taken from a throwaway `wrangler dev`
// (its own state, the deterministic local model) after a few signed orders and sign-ups, by a real
// Chromium. Fails if any page complains (console error, CSP refusal, failed load) on the way.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { adminGet, orderPlaced, postSigned, type Target } from "./lib/client";
import { launchChromium } from "./lib/chromium";
import { applyMigrations, freePort, ROOT, startDev } from "./lib/dev";

const OUT = path.join(ROOT, "docs/console");
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ADMIN_TOKEN = "screenshots-admin-token";

const dir = mkdtempSync(path.join(tmpdir(), "agentwire-shots-"));
applyMigrations(dir);
const server = await startDev({
  port: await freePort(),
  persistTo: dir,
  vars: {
    WEBHOOK_SECRET: SECRET,
    ADMIN_TOKEN,
    EVENT_ID_SECRET: "screenshots-event-id-secret-0123456789",
    RETRY_BASE_DELAY_SECONDS: "0",
    ANTHROPIC_API_KEY: "",
    ANTHROPIC_BASE_URL: "",
  },
});
const target: Target = { url: server.url, secret: SECRET, adminToken: ADMIN_TOKEN };
const problems: string[] = [];
try {
  // Orders of each risk (the local model: amount decides), and sign-ups for the second workflow.
  const orders = [
    orderPlaced({ amount: 129.5 }),
    orderPlaced({ amount: 3200, country: "DE" }),
    orderPlaced({ amount: 18_000 }),
    orderPlaced({ amount: 48, sku: "SKU-2", qty: 3 }),
    orderPlaced({ amount: 2600, customerId: "cust_7" }),
  ];
  for (const order of orders) await post(JSON.stringify(order));
  for (let i = 0; i < 2; i++) {
    const userId = `usr_${randomUUID().slice(0, 8)}`;
    await post(
      JSON.stringify({
        specversion: "1.0",
        id: `evt_${userId}`,
        source: "/accounts",
        type: "user.created",
        correlationid: userId,
        data: { userId, email: `${userId}@example.com`, country: "US" },
      }),
    );
  }
  const medium = orders[1];
  if (!medium) throw new Error("no order");
  await waitFor(async () => {
    const { body } = await adminGet<{ status: string }>(target, `/v1/workflows/${medium.correlationid}`);
    return body.status === "awaiting_approval";
  });

  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${page.url()}: uncaught ${e.message}`));
  await page.goto(`${server.url}/console/sign-in`);
  await page.fill('input[name="token"]', ADMIN_TOKEN);
  await page.click('button[type="submit"]');
  await page.waitForURL(`${server.url}/console/stream`);

  mkdirSync(OUT, { recursive: true });
  const shots: [string, string, string][] = [
    ["stream", "/console/stream", "#stream tbody tr"],
    ["workflow", `/console/workflows/${medium.correlationid}`, "#wf-approval:not([hidden])"],
    ["event", `/console/events/${medium.id}`, "#ev-waterfall .bar"],
    ["topology", "/console/topology", "#topo-graph svg"],
    ["costs", "/console/costs", "#costs-days tbody tr"],
    ["anomalies", "/console/anomalies", "#anomaly-unrouted .status"],
    ["api", "/console/api", "#api-reference section.operation"],
  ];
  for (const [name, url, ready] of shots) {
    await page.goto(`${server.url}${url}`);
    await page.locator(ready).first().waitFor({ timeout: 15_000 });
    await page.waitForTimeout(300);
    // The workflow and the event: the whole page, so the timeline and the runs show too.
    const whole = name === "workflow" || name === "event";
    await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: whole });
    console.log(`docs/console/${name}.png ← ${url}`);
  }
  await browser.close();
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
if (problems.length > 0) {
  console.error(`the pages complained:\n${problems.join("\n")}`);
  process.exit(1);
}

async function post(body: string) {
  const res = await postSigned(target, body);
  if (res.status !== 202) throw new Error(`POST /v1/events → ${res.status} ${await res.text()}`);
}

async function waitFor(done: () => Promise<boolean>, ms = 20_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("timed out waiting for the workflows");
}
