// `defineAgent`: an agent is data — what it hears, what it may say, and a handler; a model-backed agent
// adds instructions, an output schema and its tier policy. Bound to an event catalog so that handlers
// see typed `data` and may only return events the agent declares.
import type { z } from "zod";
import type { Catalog, DataOf } from "../bus/catalog";
import type { Envelope } from "../bus/envelope";
import type { Pattern } from "../bus/subscriptions";
import type { Destination } from "../destinations/define";
import type { Effort, Tier } from "../models/lineup";
import type { Tools } from "./tools";

/**
 * What the runtime lends a handler: the delivery attempt (from 1) and the capabilities the registry
 * declares (`defineRegistry({ capabilities: (env) => ({ ... }) })`). Agents never touch bindings.
 */
export type AgentContext<Caps = unknown> = Caps & {
  /** The queue delivery attempt, from 1. */
  attempt: number;
};

/** What a handler returns: one event to publish (the runtime adds ids, source and extensions). */
export interface Publish {
  type: string;
  data: unknown;
  subject?: string;
}

/** What the local model (the agent's rules) answers: the same shape a model is asked for. */
export interface LocalAnswer<D> {
  decision: D;
  confidence: number;
  rationale?: string;
}

/** What a guard answers when a model's decision goes below the agent's floor. */
export interface Guarded<D> {
  decision: D;
  reason: string;
}

/** How a model-backed agent decides: the triage tier first, the escalation tier only when needed. */
export interface ModelSpec<Ev, O extends z.ZodType, Caps = unknown> {
  /** The agent's system prompt (after a fixed preamble about untrusted event data). */
  instructions: string;
  /** The decision the model must return (validated before anything is published). */
  output: O;
  /** Escalate when triage's confidence is below this. Default 0.75. */
  confidenceThreshold?: number;
  /** A rule that sends the event straight to the escalation tier: the reason, or undefined. */
  escalateWhen?: (event: Ev) => string | undefined;
  /** The deterministic local model: answers when no ANTHROPIC_API_KEY is set. */
  local: (event: Ev) => LocalAnswer<z.input<O>>;
  /**
   * A floor the model cannot lower. Given a model's decision, returns a stricter one with the reason,
   * or undefined when the decision respects the agent's rules. A triage decision it objects to is
   * escalated; an escalation decision it objects to is replaced (and recorded as a policy violation).
   * `injectionSuspected`: the event reads like instructions to the model — the floor should then be
   * the rules' own decision, so that suspected injection never yields anything more permissive.
   */
  guard?: (event: Ev, decision: z.output<O>, ctx: { injectionSuspected: boolean }) => Guarded<z.input<O>> | undefined;
  /** Output token cap per call, thinking included. Default 1024 for triage, 4096 for escalation. */
  maxTokens?: number;
  /**
   * `output_config.effort` per tier, sent to models that accept it. Default: low for triage,
   * medium for escalation.
   */
  effort?: Partial<Record<Tier, Effort>>;
  /**
   * Tools the model may call before it answers (see `defineTool`), keyed by the name the model calls
   * them by. Each tier runs its own loop through the SDK's tool runner; every reply and every result
   * is a recorded step, never paid for or run twice across retries.
   */
  tools?: Tools<Caps>;
  /** Model calls per tier's loop, the last of which must answer (no more tool calls). Default 6. */
  maxTurns?: number;
  /** Input plus output tokens per tier's loop; past it the loop stops and the run is flagged bounded. Default 60,000. */
  maxRunTokens?: number;
}

/** The erased form the runtime works with. */
export interface Agent {
  kind: "agent";
  name: string;
  description: string;
  subscribes: readonly Pattern[];
  filter?: (event: Envelope) => boolean;
  emits: readonly string[];
  model?: ModelSpec<Envelope, z.ZodType>;
  /** A destination (src/destinations): delivered over HTTP by the runtime instead of handled. */
  destination?: Destination;
  /** For a model-backed agent, `decision` is the validated model output; otherwise undefined. */
  handle: (
    input: HandlerInput<Envelope, unknown, Record<string, unknown>>,
  ) => Promise<readonly Publish[]> | readonly Publish[];
}

/** The one object every handler receives, plain or model-backed: add a field, move no argument. */
export interface HandlerInput<Ev, D, Caps> {
  event: Ev;
  /** The model-backed agent's validated decision; undefined for a plain agent. */
  decision: D;
  ctx: AgentContext<Caps>;
}

type TypeOf<C extends Catalog> = keyof C & string;

/** The event a handler receives for patterns S: a union discriminated on `type` with typed `data`. */
export type EventOf<C extends Catalog, S extends Pattern> = Omit<Envelope, "type" | "data"> &
  (S extends TypeOf<C> ? { [T in S]: { type: T; data: DataOf<C, T> } }[S] : { type: string; data: unknown });

export type EmitOf<C extends Catalog, E extends TypeOf<C>> = {
  [T in E]: { type: T; data: DataOf<C, T>; subject?: string };
}[E];

/**
 * A plain agent: what it hears, what it may publish, and a handler.
 *
 * @example
 * export default defineAgent({
 *   name: "vip-desk",
 *   description: "Flags large orders.",
 *   subscribes: ["order.placed"],          // exact types, prefix wildcards ("order.*") or "*"
 *   filter: (event) => event.data.amount > 1000, // optional; default: every matching event
 *   emits: ["order.flagged"],              // the only types it may publish
 *   handle: ({ event }) => [{ type: "order.flagged", data: { orderId: event.data.orderId } }],
 * });
 */
export interface AgentSpec<C extends Catalog, S extends Pattern, E extends TypeOf<C>, Caps> {
  /** kebab-case, unique in the registry; part of every published event's source. */
  name: string;
  /** One sentence for people (and, for a model-backed agent, its system prompt). */
  description: string;
  /** Exact event types, prefix wildcards ("order.*") or "*". An agent never hears its own events by wildcard. */
  subscribes: readonly (S | TypeOf<C>)[];
  /** Optional: hear only the events it returns true for. Default: every event matched. */
  filter?: (event: EventOf<C, S>) => boolean;
  /** Every type it may publish; anything else is dropped and recorded as a policy violation. */
  emits: readonly E[];
  /**
   * Turns one event into events to publish. Throw `DeadLetter` to give up at once, `RetryAfter` to be
   * retried after a delay; any other error is retried with exponential backoff, then dead-lettered.
   */
  handle: (
    input: HandlerInput<EventOf<C, S>, undefined, Caps>,
  ) => Promise<readonly EmitOf<C, E>[]> | readonly EmitOf<C, E>[];
}

/**
 * A model-backed agent: the same, plus `model` — instructions, an output schema, and its tier policy.
 * The handler receives the validated decision.
 *
 * @example
 * export default defineAgent({
 *   name: "fraud-screen",
 *   description: "Scores an order's fraud risk.",
 *   subscribes: ["order.placed"],
 *   emits: ["fraud.assessed"],
 *   model: {
 *     instructions: "Assess the fraud risk of one order...",
 *     output: z.object({ risk: z.enum(["low", "medium", "high"]), reasons: z.array(z.string()) }),
 *     local: ({ data }) => ({ decision: rules(data), confidence: 0.9 }), // offline stand-in
 *   },
 *   handle: ({ event, decision }) => [{ type: "fraud.assessed", data: { orderId: event.data.orderId, ...decision } }],
 * });
 */
export interface ModelAgentSpec<
  C extends Catalog,
  S extends Pattern,
  E extends TypeOf<C>,
  O extends z.ZodType,
  Caps,
> extends Omit<AgentSpec<C, S, E, Caps>, "handle"> {
  model: ModelSpec<EventOf<C, S>, O, Caps>;
  /** Turns the validated decision into events to publish. */
  handle: (
    input: HandlerInput<EventOf<C, S>, z.output<O>, Caps>,
  ) => Promise<readonly EmitOf<C, E>[]> | readonly EmitOf<C, E>[];
}

/**
 * `defineAgent` bound to an event catalog (typed `data` per event type) and to the capabilities the
 * registry lends (typed `ctx`). The app's `agents/define.ts` makes one; agents import it from there.
 */
export function agentDefiner<C extends Catalog, Caps = unknown>(_catalog: C, _capabilities?: (env: Env) => Caps) {
  function defineAgent<const S extends Pattern, const E extends TypeOf<C>, O extends z.ZodType>(
    spec: ModelAgentSpec<C, S, E, O, Caps>,
  ): Agent;
  function defineAgent<const S extends Pattern, const E extends TypeOf<C>>(spec: AgentSpec<C, S, E, Caps>): Agent;
  function defineAgent(
    spec: AgentSpec<C, Pattern, TypeOf<C>, Caps> | ModelAgentSpec<C, Pattern, TypeOf<C>, z.ZodType, Caps>,
  ): Agent {
    // The runtime checks every event against the patterns before calling in, validates a model's
    // decision against `output` before handing it over, and builds ctx from the same capabilities:
    // that is what makes this erasure sound.
    return { kind: "agent", ...spec } as unknown as Agent;
  }
  return defineAgent;
}
