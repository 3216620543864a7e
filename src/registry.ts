// The registry: the catalog plus every agent and workflow, checked once at start-up so a
// misdeclared one fails loudly on deploy instead of quietly at 3 a.m.
import { TOOL_NAME } from "./runtime/tools";
import { ALERT_SOURCE, ALERT_TYPE } from "./alerts/raise";
import type { Catalog } from "./bus/catalog";
import { checkPublisher, declarations, type PublishCheck } from "./bus/catalog";
import { matchesPattern } from "./bus/subscriptions";
import { listensTo, type Workflow } from "./coordinator/define";
import type { Agent } from "./runtime/define";
import type { Destination } from "./destinations/define";
import type { Source } from "./sources/define";

export interface Registry {
  catalog: Catalog;
  /** The agents, then the destinations as subscribers delivered over HTTP (each with `destination`). */
  agents: readonly Agent[];
  /** Where events go out (POST to an outside system); also listed in `agents` for routing and recovery. */
  destinations: readonly Destination[];
  /** Whether a subscriber is a destination: its deliveries go to the deliveries queue. */
  isDestination(name: string): boolean;
  workflows: readonly Workflow[];
  /** The webhooks it takes in their senders' own formats (POST /v1/sources/:name). */
  sources: readonly Source[];
  agent(name: string): Agent | undefined;
  workflow(name: string): Workflow | undefined;
  source(name: string): Source | undefined;
  /** Whether any workflow starts on or joins this event type: only those go to a coordinator. */
  coordinates(type: string): boolean;
  /** Whether this event's source may publish its type (see src/bus/catalog.ts). */
  mayPublish: (event: { source: string; type: string }) => PublishCheck;
  /** What agents may use, built per batch from the env: the app declares it, the runtime lends it. */
  capabilities: (env: Env) => Record<string, unknown>;
}

/** Every type a workflow's coordinator publishes: its outcomes, its timeout and its approvals. */
export const workflowPublishes = (w: Workflow): string[] => [
  ...w.emits,
  ...(w.onTimeout === "timed_out" ? [`${w.name}.timed_out`] : []),
  ...(w.approval ? ["approval.granted", "approval.denied"] : []),
];

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * The app's registry: its catalog, agents, workflows, and the capabilities its agents may use.
 *
 * @example
 * export const registry = defineRegistry({
 *   catalog,
 *   agents: [fraudScreen, inventory],
 *   workflows: [orderWorkflow],
 *   sources: [github, stripe], // POST /v1/sources/github, /v1/sources/stripe
 *   capabilities: (env) => ({ stock: d1Stock(env.DB) }), // handlers get ctx.stock
 * });
 */
export function defineRegistry(spec: {
  catalog: Catalog;
  agents: readonly Agent[];
  workflows?: readonly Workflow[];
  /** Default: none. */
  sources?: readonly Source[];
  /** Where events go out; default: none. */
  destinations?: readonly Destination[];
  /** Default: none; handlers get only ctx.attempt. */
  capabilities?: (env: Env) => object;
}): Registry {
  const workflows = spec.workflows ?? [];
  const problems: string[] = [];
  const known = (type: string) => Object.hasOwn(spec.catalog, type);
  const unique = <T extends { name: string }>(kind: string, items: readonly T[]) => {
    const byName = new Map<string, T>();
    for (const item of items) {
      if (!NAME.test(item.name)) problems.push(`${kind} name "${item.name}" is not kebab-case`);
      if (byName.has(item.name)) problems.push(`${kind} "${item.name}" is registered twice`);
      byName.set(item.name, item);
    }
    return byName;
  };
  const destinations = spec.destinations ?? [];
  const subscribers = [...spec.agents, ...destinations.map(destinationAgent)];
  const agents = unique("agent or destination", subscribers);
  const flows = unique("workflow", workflows);
  const sources = unique("source", spec.sources ?? []);

  for (const agent of spec.agents) {
    for (const type of agent.emits) {
      if (!known(type)) problems.push(`agent "${agent.name}" emits "${type}", which is not in the catalog`);
    }
    for (const pattern of agent.subscribes) {
      const matchesSome = Object.keys(spec.catalog).some((type) => matchesPattern(pattern, type));
      if (!matchesSome)
        problems.push(`agent "${agent.name}" subscribes to "${pattern}", which matches no catalog type`);
    }
    for (const tool of Object.keys(agent.model?.tools ?? {})) {
      if (!TOOL_NAME.test(tool))
        problems.push(`agent "${agent.name}" names a tool "${tool}": 1 to 64 letters, digits, "_" or "-"`);
    }
  }
  for (const w of workflows) {
    if (w.join.slots.length === 0 && !w.refine) problems.push(`workflow "${w.name}" needs a join or a refine loop`);
    if (w.refine && !(w.refine.maxRounds >= 1 && w.refine.maxRounds <= 10))
      problems.push(`workflow "${w.name}" refines for ${w.refine.maxRounds} rounds: 1 to 10`);
    const needs = [...listensTo(w), ...workflowPublishes(w)];
    for (const type of needs) {
      if (!known(type)) problems.push(`workflow "${w.name}" uses "${type}", which is not in the catalog`);
    }
    if (w.join.mode === "quorum" && (w.join.k < 1 || w.join.k > w.join.slots.length)) {
      problems.push(`workflow "${w.name}" needs a quorum between 1 and ${w.join.slots.length}`);
    }
    if (w.onTimeout === "approval" && !w.approval) {
      problems.push(`workflow "${w.name}" asks for approval on timeout but defines no approval step`);
    }
  }
  for (const d of destinations) {
    for (const pattern of d.types) {
      if (!Object.keys(spec.catalog).some((type) => matchesPattern(pattern, type)))
        problems.push(`destination "${d.name}" receives "${pattern}", which matches no catalog type`);
    }
  }
  if (problems.length > 0) throw new Error(`invalid registry:\n- ${problems.join("\n- ")}`);

  const coordinated = new Set(workflows.flatMap(listensTo));
  // agentwire's own alerts (src/alerts) are the one publisher no agent or workflow declares.
  const declared = new Map([
    ...declarations(
      spec.agents,
      workflows.map((w) => ({ name: w.name, publishes: workflowPublishes(w) })),
    ),
    [ALERT_SOURCE, new Set([ALERT_TYPE])],
  ]);
  return {
    catalog: spec.catalog,
    agents: subscribers,
    destinations,
    isDestination: (name) => agents.get(name)?.destination !== undefined,
    workflows,
    sources: spec.sources ?? [],
    agent: (name) => agents.get(name),
    workflow: (name) => flows.get(name),
    source: (name) => sources.get(name),
    coordinates: (type) => coordinated.has(type),
    mayPublish: (event) => checkPublisher(spec.catalog, declared, event),
    capabilities: (env) => ({ ...spec.capabilities?.(env) }),
  };
}

/** A destination as the runtime routes, holds, retries and dead-letters it: an agent that emits nothing. */
function destinationAgent(d: Destination): Agent {
  return {
    kind: "agent",
    name: d.name,
    description: d.description,
    subscribes: d.types,
    ...(d.filter ? { filter: d.filter } : {}),
    emits: [],
    destination: d,
    handle: () => {
      throw new Error(`destination "${d.name}" is delivered by the runtime, never handled`);
    },
  };
}

/**
 * Cycles in the agents' subscription graph (A → B when A may emit a type B hears): each a list of
 * agent names, first repeated last. Workflows are left out: they emit once per instance, so a loop
 * through one ends there.
 */
export function subscriptionCycles(agents: readonly Agent[]): string[][] {
  const hears = (b: Agent, type: string, from: Agent) =>
    b.subscribes.some((p) => (b === from ? p === type : matchesPattern(p, type)));
  const next = new Map(
    agents.map((a) => [a.name, agents.filter((b) => a.emits.some((t) => hears(b, t, a))).map((b) => b.name)]),
  );
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const walk = (name: string, path: string[]) => {
    for (const n of next.get(name) ?? []) {
      const at = path.indexOf(n);
      if (at >= 0) {
        const cycle = [...path.slice(at), n];
        const key = [...cycle.slice(0, -1)].sort().join(",");
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cycle);
        }
      } else walk(n, [...path, n]);
    }
  };
  for (const a of agents) walk(a.name, [a.name]);
  return cycles;
}
