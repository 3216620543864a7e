// Simulated agents and workflows for the workflow benchmark: fan-out agents that each take L ms,
// chained agents that take L ms per link, and workflows joining them. Never deployed.
import { z } from "zod";
import { agents, workflows } from "../agents";
import { catalog } from "../agents/catalog";
import { type Catalog, type CatalogEntry, defineCatalog, external, internal } from "../src/bus/catalog";
import { all, workflowDefiner } from "../src/coordinator/define";
import { capabilities } from "../agents/capabilities";
import { defineDestination } from "../src/destinations/define";
import { defineRegistry } from "../src/registry";
import { agentDefiner } from "../src/runtime/define";

const Sim = z.object({ n: z.number().int().min(1).max(8), latencyMs: z.number().int().min(0).max(10_000) });
const LINKS = [1, 2, 3, 4, 5, 6, 7, 8];

// The benchmark sends the start events; the agents and workflows publish the rest.
const benchTypes: Record<string, CatalogEntry> = {
  "bench.fanout3": external(Sim),
  "bench.fanout8": external(Sim),
  "bench.chain3": external(Sim),
  "bench.chain8": external(Sim),
  "bench.completed": internal(z.object({ mode: z.string() })),
  // Delivered to a local receiver by the destination below (npm run bench:deliveries).
  "bench.outbound": external(z.object({ n: z.number().int() })),
};
for (const k of LINKS) {
  benchTypes[`bench.done.${k}`] = internal(Sim);
  benchTypes[`bench.link.${k}`] = internal(Sim);
}
const benchCatalog: Catalog = defineCatalog({ ...catalog, ...benchTypes });
const defineAgent = agentDefiner(benchCatalog);
const defineWorkflow = workflowDefiner(benchCatalog);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const fanAgents = LINKS.map((k) =>
  defineAgent({
    name: `fan-${k}`,
    description: `simulated parallel agent ${k}`,
    subscribes: k <= 3 ? ["bench.fanout3", "bench.fanout8"] : ["bench.fanout8"],
    emits: [`bench.done.${k}`],
    async handle({ event }) {
      const data = Sim.parse(event.data);
      await sleep(data.latencyMs);
      return [{ type: `bench.done.${k}`, data }];
    },
  }),
);

const chainAgents = LINKS.map((k) =>
  defineAgent({
    name: `chain-${k}`,
    description: `simulated chained agent ${k}`,
    subscribes: k === 1 ? ["bench.chain3", "bench.chain8"] : [`bench.link.${k - 1}`],
    filter: (event) => Sim.parse(event.data).n >= k,
    emits: [`bench.link.${k}`],
    async handle({ event }) {
      const data = Sim.parse(event.data);
      await sleep(data.latencyMs);
      return [{ type: `bench.link.${k}`, data }];
    },
  }),
);

const benchWorkflow = (name: string, startsOn: string, slots: string[]) =>
  defineWorkflow({
    name,
    description: `benchmark: ${name}`,
    startsOn,
    join: all(...slots),
    deadlineMs: 60_000,
    onTimeout: "decide",
    emits: ["bench.completed"],
    decide: () => ({ type: "bench.completed", data: { mode: name } }),
  });

/** A signed-CloudEvents receiver on loopback (scripts/bench-deliveries.ts); unset URL: skipped. */
const sink = defineDestination({
  name: "bench-sink",
  description: "the delivery benchmark's local receiver",
  types: ["bench.outbound"],
  url: "BENCH_SINK_URL",
  format: { kind: "cloudevents", secret: "BENCH_SINK_SECRET" },
});

export const benchRegistry = defineRegistry({
  catalog: benchCatalog,
  destinations: [sink],
  agents: [...agents, ...fanAgents, ...chainAgents],
  capabilities,
  workflows: [
    ...workflows,
    benchWorkflow("fanout-3", "bench.fanout3", ["bench.done.1", "bench.done.2", "bench.done.3"]),
    benchWorkflow(
      "fanout-8",
      "bench.fanout8",
      LINKS.map((k) => `bench.done.${k}`),
    ),
    benchWorkflow("chain-3", "bench.chain3", ["bench.link.3"]),
    benchWorkflow("chain-8", "bench.chain8", ["bench.link.8"]),
  ],
});
