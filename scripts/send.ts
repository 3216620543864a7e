// `npm run send`: pushes one signed order.placed event to a running agentwire and prints what the
// agents made of it. Options: --url, --amount, --sku, --qty, --country, --customer.
import { parseArgs } from "node:util";
import { devVars } from "./lib/dev";
import { orderPlaced, postSigned, waitForRuns } from "./lib/client";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: process.env.AGENTWIRE_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8787}` },
    amount: { type: "string" },
    sku: { type: "string" },
    qty: { type: "string" },
    country: { type: "string" },
    customer: { type: "string" },
  },
});
const vars = devVars();
const target = { url: values.url, secret: vars.WEBHOOK_SECRET ?? "", adminToken: vars.ADMIN_TOKEN ?? "" };
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

const detail = await waitForRuns(target, event.id);
console.log(
  `\n${event.type} ${event.id} (order ${event.data.orderId}) was routed to ${detail.deliveries.length} agents:`,
);
for (const run of detail.runs) {
  const emitted = run.output?.events.map((e) => `${e.type} ${JSON.stringify(e.data)}`).join(", ") ?? "-";
  console.log(
    `  ${run.agent.padEnd(16)} ${run.status.padEnd(10)} ${String(run.latencyMs ?? "-").padStart(4)} ms  → ${emitted}`,
  );
}
console.log(`\nthe whole record: curl -H "Authorization: Bearer <ADMIN_TOKEN>" ${target.url}/v1/events/${event.id}`);
