// `npm run bench:console`: how fast the console's pages and every API call they make answer with
// 100,000 events in the log. Seeds a throwaway local D1 (wrangler's own SQLite) with a week of orders
// — 25,000 workflows, each an order.placed and the three results its agents published, their
// deliveries, runs, model calls, plus dead letters, violations, parked, unrouted and duplicated
// events — then starts `wrangler dev` on it and times each request from loopback: the median, p95 and
// worst of 30 after a warm-up. Loopback wall time bounds the server time from above.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { applyMigrations, executeSql, freePort, startDev } from "./lib/dev";

const { values } = parseArgs({
  options: {
    orders: { type: "string", default: "25000" },
    repeat: { type: "string", default: "30" },
    // Keep the seeded state directory (printed) to look at the queries afterwards.
    keep: { type: "boolean", default: false },
  },
});
const ORDERS = Number(values.orders);
const REPEAT = Number(values.repeat);
const ADMIN_TOKEN = "bench-console-admin-token";
const DAY = 86_400_000;
const now = Date.now();
const start = now - 7 * DAY;
const step = Math.floor((7 * DAY) / ORDERS);

/** The seed as SQL: recursive CTEs make the rows inside SQLite, so the file stays small. */
function seedSql(): string {
  const orders = `WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < ${ORDERS})`;
  const t = (offset: number) => `${start} + n * ${step} + ${offset}`;
  const event = (source: string, id: string, type: string, hop: number, data: string, offset: number) => `
${orders}
INSERT INTO events (source, id, type, time, correlation_id, causation_id, hop_count, envelope, received_at, logged_at)
SELECT '${source}', ${id}, '${type}', NULL, 'ord_' || n, ${hop ? "'evt_ord_' || n" : "NULL"}, ${hop},
  json_object('specversion', '1.0', 'id', ${id}, 'source', '${source}', 'type', '${type}',
    'correlationid', 'ord_' || n, 'hopcount', ${hop}, 'datacontenttype', 'application/json', 'data', json(${data})),
  ${t(offset)}, ${t(offset + 2)}
FROM k;`;
  const run = (agent: string, model: boolean, offset: number) => `
${orders}
INSERT INTO agent_runs (event_source, event_id, agent, status, attempt, claim, started_at, finished_at, latency_ms,
  output, error, model, tier, escalated, escalation_reason, budget_limited, cost_micros, attempts)
SELECT '/shop/checkout', 'evt_ord_' || n, '${agent}', 'succeeded', 1, 'msg_' || n, ${t(offset)}, ${t(offset + 40)}, 40,
  '{"events":[]}', NULL, ${model ? "'claude-haiku-5-5', 'triage', n % 10 = 0, CASE WHEN n % 10 = 0 THEN 'low_confidence' END, 0, 900 + n % 500" : "NULL, NULL, NULL, NULL, NULL, NULL"},
  json_array(json_object('attempt', 1, 'status', 'succeeded', 'startedAt', ${t(offset)}, 'finishedAt', ${t(offset + 40)}))
FROM k;`;
  return [
    event(
      "/shop/checkout",
      "'evt_ord_' || n",
      "order.placed",
      0,
      `json_object('orderId', 'ord_' || n, 'customerId', 'cust_' || (n % 997), 'amount', 20 + n % 5000, 'currency', 'USD', 'items', json_array(json_object('sku', 'SKU-1', 'qty', 1)), 'shippingAddress', json_object('country', 'US'))`,
      0,
    ),
    event(
      "/agentwire/agents/fraud-screen",
      "'fa_' || n",
      "fraud.assessed",
      1,
      `json_object('orderId', 'ord_' || n, 'risk', 'low', 'score', 10, 'reasons', json_array('bench'))`,
      50,
    ),
    event(
      "/agentwire/agents/shipping-quote",
      "'sq_' || n",
      "shipping.quoted",
      1,
      `json_object('orderId', 'ord_' || n, 'carrier', 'DHL', 'costCents', 900, 'etaDays', 3)`,
      50,
    ),
    event(
      "/agentwire/agents/inventory",
      "'ir_' || n",
      "inventory.reserved",
      1,
      `json_object('orderId', 'ord_' || n, 'reservationId', 'res_' || n)`,
      50,
    ),
    ...["fraud-screen", "inventory", "shipping-quote"].map(
      (agent) => `
${orders}
INSERT INTO deliveries (event_source, event_id, agent, routed_at) SELECT '/shop/checkout', 'evt_ord_' || n, '${agent}', ${t(2)} FROM k;`,
    ),
    run("fraud-screen", true, 5),
    run("inventory", false, 5),
    run("shipping-quote", false, 5),
    `
${orders}
INSERT INTO model_calls (event_source, event_id, agent, attempt, ordinal, tier, model, input_tokens, output_tokens,
  cache_read_tokens, cache_write_tokens, cost_micros, always_escalate_micros, latency_ms, outcome, confidence, recorded_at)
SELECT '/shop/checkout', 'evt_ord_' || n, 'fraud-screen', 1, 1, 'triage', 'claude-haiku-5-5', 700, 120, 0, 0,
  900 + n % 500, 4000, 35, 'decided', 0.9, ${t(45)}
FROM k;`,
    `
${orders}
INSERT INTO workflows (id, workflow, status, version, start_event_id, started_at, deadline_at, completed_at, outcome,
  outcome_event_id, verdict, results, late, updated_at)
SELECT 'ord_' || n, 'order', CASE WHEN n % 50 = 0 THEN 'timed_out' WHEN n % 20 = 0 THEN 'rejected' ELSE 'completed' END, 3,
  'evt_ord_' || n, ${t(2)}, ${t(30_002)}, ${t(120)}, 'order.confirmed', 'oc_' || n,
  json_object('decision', 'approve', 'by', 'votes', 'reasons', json_array('bench'), 'conflict', json('false')),
  '[]', CASE WHEN n % 100 = 0 THEN '["late"]' ELSE '[]' END, ${t(120)}
FROM k;`,
    // The anomaly lists: a few hundred rows each, spread over the week.
    `
WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 500)
INSERT INTO dead_letters (kind, event_source, event_id, agent, attempts, error, message, recorded_at)
SELECT 'task', '/shop/checkout', 'evt_ord_' || (n * 50), 'fraud-screen', 4, '{"message":"bench: model refused","retryable":false}',
  json_object('kind', 'task', 'agent', 'fraud-screen', 'receivedAt', ${start}, 'event',
    json_object('specversion', '1.0', 'id', 'evt_ord_' || (n * 50), 'source', '/shop/checkout', 'type', 'order.placed',
      'correlationid', 'ord_' || (n * 50), 'hopcount', 0, 'data', json_object('orderId', 'ord_' || (n * 50)))),
  ${start} + n * ${Math.floor((7 * DAY) / 500)}
FROM k;`,
    `
WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 500)
INSERT INTO policy_violations (event_source, event_id, agent, kind, detail, recorded_at, detected_by, event_type, correlation_id)
SELECT '/shop/checkout', 'evt_ord_' || (n * 40), 'fraud-screen', 'undeclared_type', 'bench ' || n, ${start} + n * 1000000, 'run', 'order.placed', 'ord_' || (n * 40)
FROM k;`,
    `
WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 500)
INSERT INTO parked_events (event_source, event_id, reason, parked_at) SELECT '/agentwire/agents/inventory', 'ir_' || (n * 30), 'hop_limit', ${start} + n * 1000000 FROM k;`,
    `
WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 500)
INSERT INTO unrouted_events (event_source, event_id, recorded_at) SELECT '/agentwire/agents/shipping-quote', 'sq_' || (n * 30), ${start} + n * 1000000 FROM k;`,
    `
WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 500)
INSERT INTO duplicates (kind, event_source, event_id, agent, count, first_at, last_at)
SELECT 'event', '/shop/checkout', 'evt_ord_' || (n * 20), '', 2, ${start} + n * 1000000, ${start} + n * 1000000 + 5 FROM k;`,
  ].join("\n");
}

const dir = mkdtempSync(path.join(tmpdir(), "agentwire-bench-console-"));
const seedFile = path.join(dir, "seed.sql");
console.log(`seeding ${ORDERS * 4} events (${ORDERS} workflows) into a throwaway local D1 …`);
applyMigrations(dir);
writeFileSync(seedFile, seedSql());
const seeded = Date.now();
executeSql(seedFile, dir);
console.log(`seeded in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);

const server = await startDev({
  port: await freePort(),
  persistTo: dir,
  vars: {
    WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ADMIN_TOKEN,
    EVENT_ID_SECRET: "bench-console-event-id-secret-0123456789",
    ANTHROPIC_API_KEY: "",
    ANTHROPIC_BASE_URL: "",
  },
});

try {
  // A console session, as the browser holds it.
  const signIn = await fetch(`${server.url}/console/sign-in`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url },
    body: new URLSearchParams({ token: ADMIN_TOKEN }),
  });
  const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  if (!cookie) throw new Error(`sign-in answered ${signIn.status}`);
  const mid = Math.floor(ORDERS / 2);
  const stats = await get<{ events: { seq: number }[] }>("/v1/events?limit=1");
  const newest = stats.events[0]?.seq ?? 0;

  // What each page asks for (public/console/assets/*.js), page by page.
  const requests: [string, string][] = [
    ["Stream", "/console/stream"],
    ["Stream", "/v1/events?limit=50"],
    ["Stream", `/v1/events?after=${newest - 50}&limit=200`],
    ["Stream", "/v1/events?type=order.placed&limit=50"],
    ["Stream", "/v1/catalog"],
    ["Event", `/console/events/evt_ord_${mid}`],
    ["Event", `/v1/events/evt_ord_${mid}`],
    ["Workflows", "/console/workflows"],
    ["Workflows", "/v1/workflows?limit=50"],
    ["Workflows", "/v1/workflows?status=rejected&limit=50"],
    ["Workflow", `/console/workflows/ord_${mid}`],
    ["Workflow", `/v1/workflows/ord_${mid}`],
    ["Topology", "/console/topology"],
    ["Topology", "/v1/topology"],
    ["Dead letters", "/console/dead-letters"],
    ["Dead letters", "/v1/dead-letters?status=dead&limit=50"],
    ["Anomalies", "/console/anomalies"],
    ["Anomalies", "/v1/parked?limit=20"],
    ["Anomalies", "/v1/unrouted?limit=20"],
    ["Anomalies", "/v1/late-results?limit=20"],
    ["Anomalies", "/v1/violations?limit=20"],
    ["Anomalies", "/v1/duplicates?limit=20"],
    ["Anomalies", "/v1/workflows?status=timed_out&limit=20"],
    ["Anomalies", "/v1/dead-letters?limit=20"],
    ["Anomalies", "/v1/topology?since=" + (now - 3_600_000)],
    ["Costs", "/console/costs"],
    ["Costs", "/v1/costs"],
    ["API", "/console/api"],
    ["API", "/openapi.json"],
  ];
  const rows: string[] = [];
  let over = 0;
  for (const [page, url] of requests) {
    const times: number[] = [];
    for (let i = 0; i < REPEAT + 3; i++) {
      const t0 = performance.now();
      const res = await fetch(`${server.url}${url}`, { headers: { cookie, accept: "application/json" } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
      if (i >= 3) times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? 0;
    if (q(0.5) > 100) over++;
    rows.push(
      `| ${page} | \`${url.replace(/\d{10,}/, "<since>")}\` | ${q(0.5).toFixed(1)} | ${q(0.95).toFixed(1)} | ${q(1).toFixed(1)} |`,
    );
  }
  console.log(
    `\n${ORDERS * 4} events, ${ORDERS} workflows; ${REPEAT} requests each after 3 warm-up, ms on loopback:\n`,
  );
  console.log("| page | request | p50 | p95 | max |\n| --- | --- | ---: | ---: | ---: |");
  console.log(rows.join("\n"));
  console.log(
    `\n${over === 0 ? "every request's median is under 100 ms" : `${over} request(s) over 100 ms at the median`}`,
  );

  async function get<T>(url: string): Promise<T> {
    const res = await fetch(`${server.url}${url}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    return await res.json();
  }
} finally {
  await server.stop();
  if (values.keep) console.log(`kept the seeded state in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
