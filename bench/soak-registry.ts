// The soak test's registry: agentwire's own agents and workflows, each agent failing its first
// attempt on 5% of events (chosen by a hash, so a retry succeeds), plus a poison event type whose
// agent always fails. Never deployed.
import { z } from "zod";
import { agents, workflows } from "../agents";
import { catalog } from "../agents/catalog";
import { defineCatalog, external } from "../src/bus/catalog";
import { capabilities } from "../agents/capabilities";
import { defineRegistry } from "../src/registry";
import { type Agent, agentDefiner } from "../src/runtime/define";

const soakCatalog = defineCatalog({ ...catalog, "soak.poison": external(z.object({ n: z.number() })) });

/** FNV-1a of the text, as a fraction in [0, 1). */
function fraction(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h / 2 ** 32;
}

export const FAIL_ONCE_SHARE = 0.05;

const failingOnce = (agent: Agent): Agent => ({
  ...agent,
  handle: (input) => {
    if (input.ctx.attempt === 1 && fraction(`${input.event.id}/${agent.name}`) < FAIL_ONCE_SHARE) {
      throw new Error("soak: injected first-attempt failure");
    }
    return agent.handle(input);
  },
});

const poisoned = agentDefiner(soakCatalog)({
  name: "poisoned",
  description: "Always fails: every soak.poison event ends in the dead letters.",
  subscribes: ["soak.poison"],
  emits: [],
  handle() {
    throw new Error("soak: poison event");
  },
});

export const soakRegistry = defineRegistry({
  catalog: soakCatalog,
  agents: [...agents.map(failingOnce), poisoned],
  workflows,
  capabilities,
});
