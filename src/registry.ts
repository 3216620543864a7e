// The registry: the catalog plus every agent (and later workflow), checked once at start-up so a
// misdeclared agent fails loudly on deploy instead of quietly at 3 a.m.
import type { Catalog } from "./bus/catalog";
import { matchesPattern } from "./bus/subscriptions";
import type { Agent } from "./runtime/define";

export interface Registry {
  catalog: Catalog;
  agents: readonly Agent[];
  agent(name: string): Agent | undefined;
}

const AGENT_NAME = /^[a-z][a-z0-9-]{0,62}$/;

export function defineRegistry(spec: { catalog: Catalog; agents: readonly Agent[] }): Registry {
  const byName = new Map<string, Agent>();
  const problems: string[] = [];
  const known = (type: string) => Object.hasOwn(spec.catalog, type);
  for (const agent of spec.agents) {
    if (!AGENT_NAME.test(agent.name)) problems.push(`agent name "${agent.name}" is not kebab-case`);
    if (byName.has(agent.name)) problems.push(`agent "${agent.name}" is registered twice`);
    byName.set(agent.name, agent);
    for (const type of agent.emits) {
      if (!known(type)) problems.push(`agent "${agent.name}" emits "${type}", which is not in the catalog`);
    }
    for (const pattern of agent.subscribes) {
      const matchesSome = Object.keys(spec.catalog).some((type) => matchesPattern(pattern, type));
      if (!matchesSome)
        problems.push(`agent "${agent.name}" subscribes to "${pattern}", which matches no catalog type`);
    }
  }
  if (problems.length > 0) throw new Error(`invalid registry:\n- ${problems.join("\n- ")}`);
  return { catalog: spec.catalog, agents: spec.agents, agent: (name) => byName.get(name) };
}
