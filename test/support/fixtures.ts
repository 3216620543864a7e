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
  "test.repairable": z.object({ n: z.number() }),
  "test.history": z.object({ n: z.number() }),
  "loop.ping": z.object({ n: z.number() }),
  "loop.echoed": z.object({ n: z.number() }),
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

/** Switches the tests flip: an agent that is "repaired", and one that is "added" later. */
export const switches = { repaired: false, lateJoinerAdded: false };

/** Fails until repaired: its dead letters are replayed once it is. */
export const mendable = defineAgent({
  name: "mendable",
  description: "Broken until a test repairs it.",
  subscribes: ["test.repairable"],
  emits: [],
  handle() {
    if (!switches.repaired) throw new Error("broken until repaired");
    return [];
  },
});

/** Hears nothing until a test "adds" it: then it catches up by replay. */
export const lateJoiner = defineAgent({
  name: "late-joiner",
  description: "An agent added after its events were logged.",
  subscribes: ["test.history"],
  filter: () => switches.lateJoinerAdded,
  emits: [],
  handle: () => [],
});

/** Hears every loop.* event and answers with loop.echoed: it must not hear its own answer. */
export const echo = defineAgent({
  name: "echo",
  description: "Echoes loop.* events.",
  subscribes: ["loop.*"],
  emits: ["loop.echoed"],
  handle: (event) => [{ type: "loop.echoed", data: event.data as { n: number } }],
});

export const testRegistry = defineRegistry({
  catalog: testCatalog,
  agents: [...agents, exploder, rogue, mendable, lateJoiner, echo],
  workflows,
});
