// Fixture agents that misbehave on purpose, registered only in the test worker.
import { z } from "zod";
import { catalog } from "../../agents/catalog";
import { agents, sources, workflows } from "../../agents";
import { capabilities } from "../../agents/capabilities";
import { desk, librarian, libraryCapabilities, libraryCatalog, loan } from "./library-domain";
import { defineCatalog, external, internal } from "../../src/bus/catalog";
import { defineDestination } from "../../src/destinations/define";
import { defineRegistry } from "../../src/registry";
import { agentDefiner } from "../../src/runtime/define";
import { toolDefiner } from "../../src/runtime/tools";
import { DeadLetter } from "../../src/runtime/errors";

export const testCatalog = defineCatalog({
  ...catalog,
  "test.explode": external(z.object({ mode: z.enum(["always", "permanent"]) })),
  "test.rogue": external(z.object({ note: z.string() })),
  "test.echoed": internal(z.object({ note: z.string() })),
  "test.repairable": external(z.object({ n: z.number() })),
  "test.history": external(z.object({ n: z.number() })),
  "loop.ping": external(z.object({ n: z.number() })),
  "loop.echoed": internal(z.object({ n: z.number() })),
  "test.sloppy": external(z.object({ note: z.string() })),
  "test.paced": external(z.object({ ms: z.number().int().min(0).max(10_000) })),
  "test.paced.done": internal(z.object({ ms: z.number() })),
  // Nobody subscribes: logged and listed as unrouted.
  "test.unheard": external(z.object({ n: z.number() })),
  // Delivered to the fixture destination below (test/destinations-queue.test.ts).
  "test.outbound": external(z.object({ n: z.number() })),
  // A model-backed agent with a tool (test/steps-queue.test.ts).
  "test.tooled": external(z.object({ customerId: z.string() })),
  "test.tooled.done": internal(z.object({ verdict: z.string(), note: z.string() })),
});
const defineAgent = agentDefiner(testCatalog);
const defineTool = toolDefiner<unknown>();

/** While on, toolsmith dead-letters after deciding: a run whose paid steps a replay can reuse. */
export const toolsmithStrict = { on: false };
/** What toolsmith's handler appends to the model's note: a changed agent, for re-runs of history. */
export const toolsmithNote = { suffix: "" };
/** Calls of toolsmith's lookup tool (its side effect), with the idempotency key it was given. */
export const toolsmithLookups: string[] = [];

/** Model-backed, with a tool: looks the customer up, then decides. */
export const toolsmith = defineAgent({
  name: "toolsmith",
  description: "Looks a customer up with its tool, then gives a verdict.",
  subscribes: ["test.tooled"],
  emits: ["test.tooled.done"],
  model: {
    instructions: "Give a verdict on the customer; look them up first.",
    output: z.object({ verdict: z.string(), note: z.string() }),
    local: () => ({ decision: { verdict: "local", note: "the rules" }, confidence: 0.9 }),
    tools: {
      lookup: defineTool({
        description: "The customer's record.",
        input: z.object({ customerId: z.string() }),
        run: ({ customerId }, { idempotencyKey }) => {
          toolsmithLookups.push(idempotencyKey);
          return { customerId, vip: customerId.startsWith("vip") };
        },
      }),
    },
  },
  handle: ({ decision }: { decision: { verdict: string; note: string } }) => {
    if (toolsmithStrict.on) throw new DeadLetter("toolsmith is strict today");
    return [{ type: "test.tooled.done", data: { ...decision, note: decision.note + toolsmithNote.suffix } }];
  },
});

/** Throws on every attempt: retried, then dead-lettered. */
export const exploder = defineAgent({
  name: "exploder",
  description: "Always fails.",
  subscribes: ["test.explode"],
  emits: [],
  handle({ event }) {
    if (event.data.mode === "permanent") throw new DeadLetter("permanently broken");
    throw new Error("kaboom");
  },
});

/** Emits one declared and one undeclared event type. */
export const rogue = defineAgent({
  name: "rogue",
  description: "Tries to publish what it does not declare.",
  subscribes: ["test.rogue"],
  emits: ["test.echoed"],
  handle({ event }) {
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
  handle: ({ event }) => [{ type: "loop.echoed", data: event.data as { n: number } }],
});

/** Tries an undeclared type, then emits a declared one with invalid data: fails for good, with a violation. */
export const sloppy = defineAgent({
  name: "sloppy",
  description: "Misbehaves, then fails.",
  subscribes: ["test.sloppy"],
  emits: ["test.echoed"],
  handle: () =>
    [
      { type: "order.confirmed", data: { orderId: "forged" } },
      { type: "test.echoed", data: { note: 42 } },
    ] as never,
});

/** Takes `ms` before answering: a slow delivery next to fast ones in the same batch. */
export const dawdler = defineAgent({
  name: "dawdler",
  description: "Answers after a delay.",
  subscribes: ["test.paced"],
  emits: ["test.paced.done"],
  async handle({ event }) {
    await new Promise((r) => setTimeout(r, event.data.ms));
    return [{ type: "test.paced.done", data: { ms: event.data.ms } }];
  },
});

/** A signed-CloudEvents receiver at TEST_OUTBOUND_URL (vitest.config.mts); the tests answer for it. */
export const outbound = defineDestination({
  name: "test-outbound",
  description: "A receiver the tests play.",
  types: ["test.outbound"],
  url: "TEST_OUTBOUND_URL",
  format: { kind: "cloudevents", secret: "TEST_OUTBOUND_SECRET" },
  timeoutMs: 500,
  circuitFailures: 3,
  circuitCooldownMs: 300,
});

/** The example app, the misbehaving fixtures, and a second domain (test/support/library-domain.ts). */
export const testRegistry = defineRegistry({
  catalog: { ...testCatalog, ...libraryCatalog },
  agents: [...agents, exploder, rogue, mendable, lateJoiner, echo, sloppy, dawdler, toolsmith, librarian, desk],
  workflows: [...workflows, loan],
  sources,
  destinations: [outbound],
  capabilities: (env) => ({ ...capabilities(env), ...libraryCapabilities() }),
});
