// A wide registry for the routing benchmark: 200 simulated agents, of which one `wide.start` event
// reaches 50. Of the other 150, 50 subscribe to it but their filter says no, and 100 subscribe to
// other types. A workflow joins the 50 results. Never deployed.
import { z } from "zod";
import { type Catalog, type CatalogEntry, defineCatalog, external, internal } from "../src/bus/catalog";
import { all, workflowDefiner } from "../src/coordinator/define";
import { defineRegistry } from "../src/registry";
import { agentDefiner } from "../src/runtime/define";

export const WIDE_AGENTS = 200;
/** Agents that hear a `wide.start` event: `audience` of the first 2 × HEARD, which subscribe to it. */
export const WIDE_HEARD = 50;

const Start = z.object({ latencyMs: z.number().int().min(0).max(10_000), audience: z.number().int().min(0) });
const Done = z.object({ latencyMs: z.number().int().min(0) });
const ks = Array.from({ length: WIDE_AGENTS }, (_, i) => i + 1);
const listening = (k: number) => k <= 2 * WIDE_HEARD;

const types: Record<string, CatalogEntry> = {
  "wide.start": external(Start),
  "wide.completed": internal(z.object({ results: z.number() })),
};
for (let j = 0; j < 10; j++) types[`wide.other.${j}`] = external(Start);
for (const k of ks.filter(listening)) types[`wide.done.${k}`] = internal(Done);
const wideCatalog: Catalog = defineCatalog(types);
const defineAgent = agentDefiner(wideCatalog);
const defineWorkflow = workflowDefiner(wideCatalog);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const wideAgents = ks.map((k) =>
  listening(k)
    ? defineAgent({
        name: `wide-${k}`,
        description: `simulated agent ${k}, hears wide.start when the audience reaches it`,
        subscribes: ["wide.start"],
        filter: (event) => Start.parse(event.data).audience >= k,
        emits: [`wide.done.${k}`],
        async handle({ event }) {
          const { latencyMs } = Start.parse(event.data);
          await sleep(latencyMs);
          return [{ type: `wide.done.${k}`, data: { latencyMs } }];
        },
      })
    : defineAgent({
        name: `wide-${k}`,
        description: `simulated agent ${k}, subscribed elsewhere`,
        subscribes: [`wide.other.${k % 10}`],
        emits: [],
        handle: () => [],
      }),
);

export const wideRegistry = defineRegistry({
  catalog: wideCatalog,
  agents: wideAgents,
  workflows: [
    defineWorkflow({
      name: "wide-join",
      description: `benchmark: joins the ${WIDE_HEARD} results of one wide.start`,
      startsOn: "wide.start",
      join: all(...ks.slice(0, WIDE_HEARD).map((k) => `wide.done.${k}`)),
      deadlineMs: 60_000,
      onTimeout: "decide",
      emits: ["wide.completed"],
      decide: ({ results }) => ({ type: "wide.completed", data: { results: Object.keys(results).length } }),
    }),
  ],
});
