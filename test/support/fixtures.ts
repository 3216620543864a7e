// Fixture agents that misbehave on purpose, registered only in the test worker.
import { z } from "zod";
import { catalog } from "../../agents/catalog";
import { agents, workflows } from "../../agents";
import { defineCatalog } from "../../src/bus/catalog";
import { defineRegistry } from "../../src/registry";
import { agentDefiner } from "../../src/runtime/define";
import { AgentError } from "../../src/runtime/emit";

export const testCatalog = defineCatalog({
  ...catalog,
  "test.explode": z.object({ mode: z.enum(["always", "permanent"]) }),
  "test.rogue": z.object({ note: z.string() }),
  "test.echoed": z.object({ note: z.string() }),
});
const defineAgent = agentDefiner(testCatalog);

/** Throws on every attempt: retried, then dead-lettered. */
export const exploder = defineAgent({
  name: "exploder",
  description: "Always fails.",
  subscribes: ["test.explode"],
  emits: [],
  handle(event) {
    if (event.data.mode === "permanent") throw new AgentError("permanently broken", false);
    throw new Error("kaboom");
  },
});

/** Emits one declared and one undeclared event type. */
export const rogue = defineAgent({
  name: "rogue",
  description: "Tries to publish what it does not declare.",
  subscribes: ["test.rogue"],
  emits: ["test.echoed"],
  handle(event) {
    const note = event.data.note;
    return [
      { type: "test.echoed", data: { note } },
      { type: "order.placed", data: { orderId: "forged" } },
    ] as never;
  },
});

export const testRegistry = defineRegistry({ catalog: testCatalog, agents: [...agents, exploder, rogue], workflows });
