// `npm run send`: pushes one signed order.placed event to a running agentwire and prints what the
// agents made of it, then the workflow's outcome. Options: --url, --secret, --admin-token, --amount,
// --sku, --qty, --country, --customer. Locally the secrets come from .dev.vars; for a deployed
// agentwire pass --url and --secret (or set WEBHOOK_SECRET and ADMIN_TOKEN in the environment).
import { parseArgs } from "node:util";
import { adminGet, orderPlaced, postSigned, waitForRuns } from "./lib/client";
import { devVars } from "./lib/dev";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: process.env.AGENTWIRE_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8787}` },
    secret: { type: "string", default: process.env.WEBHOOK_SECRET },
    "admin-token": { type: "string", default: process.env.ADMIN_TOKEN },
    amount: { type: "string" },
    sku: { type: "string" },
    qty: { type: "string" },
    country: { type: "string" },
    customer: { type: "string" },
  },
});
const local = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(values.url);
const vars = local ? devVars() : {};
const secret = values.secret ?? vars.WEBHOOK_SECRET;
if (!secret) {
  console.error(`no webhook secret for ${values.url}: pass --secret whsec_… (or set WEBHOOK_SECRET)`);
  process.exit(1);
}
const target = { url: values.url, secret, adminToken: values["admin-token"] ?? vars.ADMIN_TOKEN ?? "" };
const event = orderPlaced({
  amount: values.amount ? Number(values.amount) : undefined,
  sku: values.sku,
  qty: values.qty ? Number(values.qty) : undefined,
  country: values.country,
  customerId: values.customer,
});

const res = await postSigned(target, JSON.stringify(event));
console.log(`POST /v1/events → ${res.status} ${await res.text()}`);
if (res.status !== 202) process.exit(1);
if (!target.adminToken) {
  console.log("\n(pass --admin-token to see what the agents and the workflow did)");
  process.exit(0);
}

const detail = await waitForRuns(target, event.id);
console.log(
  `\n${event.type} ${event.id} (order ${event.data.orderId}) was routed to ${detail.deliveries.length} agents:`,
);
for (const run of detail.runs) {
  const emitted = run.output?.events.map((e) => `${e.type} ${JSON.stringify(e.data)}`).join(", ");
  const failed = run.error ? `✗ ${run.error.message}` : "-";
  console.log(
    `  ${run.agent.padEnd(16)} ${run.status.padEnd(13)} ${String(run.latencyMs ?? "-").padStart(4)} ms  → ${emitted ?? failed}`,
  );
}

// The workflow's outcome: wait until it is decided or waits for a person.
interface Workflow {
  status: string;
  outcome: string | null;
  verdict: { decision?: string; by?: string; reasons?: string[] } | null;
}
const deadline = Date.now() + 15_000;
let workflow: Workflow | undefined;
while (Date.now() < deadline) {
  const { status, body } = await adminGet<Workflow>(target, `/v1/workflows/${encodeURIComponent(event.correlationid)}`);
  if (status === 200 && body.status !== "running") {
    workflow = body;
    break;
  }
  await new Promise((r) => setTimeout(r, 200));
}
if (workflow) {
  const v = workflow.verdict;
  const how = v?.by ? ` by ${v.by}` : "";
  const why = v?.reasons?.length ? `: ${v.reasons.join("; ")}` : "";
  console.log(
    `\nworkflow order ${event.correlationid}: ${workflow.status}${workflow.outcome ? ` → ${workflow.outcome}` : ""}${how}${why}`,
  );
  if (workflow.status === "awaiting_approval") {
    console.log(
      `  approve: curl -X POST -H "Authorization: Bearer <ADMIN_TOKEN>" -H 'content-type: application/json' \\`,
    );
    console.log(
      `    -d '{"by":"you@example.com","reason":"checked"}' ${target.url}/v1/workflows/${event.correlationid}/approve`,
    );
  }
} else {
  console.log(`\nworkflow order ${event.correlationid}: still running after 15 s`);
}
console.log(
  `\nthe whole record: curl -H "Authorization: Bearer <ADMIN_TOKEN>" ${target.url}/v1/workflows/${event.correlationid}`,
);
console.log(`in the console: ${target.url}/console/workflows/${encodeURIComponent(event.correlationid)}`);
