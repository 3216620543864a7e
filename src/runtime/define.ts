// `defineAgent`: an agent is data — what it hears, what it may say, and a handler; a model-backed agent
// adds instructions, an output schema and its tier policy. Bound to an event catalog so that handlers
// see typed `data` and may only return events the agent declares.
import type { z } from "zod";
import type { Catalog, DataOf } from "../bus/catalog";
import type { Envelope } from "../bus/envelope";
import type { Pattern } from "../bus/subscriptions";
import type { Effort, Tier } from "../models/catalog";

export interface StockItem {
  sku: string;
  qty: number;
}

export type ReserveResult =
  | { ok: true; reservationId: string }
  | { ok: false; reason: "insufficient_stock" | "unknown_sku" | "cancelled"; message: string };

/** Capabilities the runtime lends an agent; agents never touch bindings themselves. */
export interface AgentContext {
  /** The queue delivery attempt, from 1. */
  attempt: number;
  stock: {
    /** Atomically reserves every item or none; idempotent per reservation id. */
    reserve(reservationId: string, items: readonly StockItem[]): Promise<ReserveResult>;
    /**
     * Returns a held reservation to stock; false if none was held. Either way the id is closed: a
     * reservation attempted after its release (a late delivery) is refused as cancelled.
     */
    release(reservationId: string): Promise<boolean>;
  };
}

/** What a handler returns: events to publish. */
export interface Emit {
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
export interface ModelSpec<Ev, O extends z.ZodType> {
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
  /** For a model-backed agent, `decision` is the validated model output. */
  handle: (event: Envelope, ctx: AgentContext, decision: unknown) => Promise<readonly Emit[]> | readonly Emit[];
}

type TypeOf<C extends Catalog> = keyof C & string;

/** The event a handler receives for patterns S: a union discriminated on `type` with typed `data`. */
export type EventOf<C extends Catalog, S extends Pattern> = Omit<Envelope, "type" | "data"> &
  (S extends TypeOf<C> ? { [T in S]: { type: T; data: DataOf<C, T> } }[S] : { type: string; data: unknown });

export type EmitOf<C extends Catalog, E extends TypeOf<C>> = {
  [T in E]: { type: T; data: DataOf<C, T>; subject?: string };
}[E];

export interface AgentSpec<C extends Catalog, S extends Pattern, E extends TypeOf<C>> {
  /** kebab-case, unique in the registry; part of every emitted event's source. */
  name: string;
  description: string;
  subscribes: readonly (S | TypeOf<C>)[];
  filter?: (event: EventOf<C, S>) => boolean;
  emits: readonly E[];
  handle: (event: EventOf<C, S>, ctx: AgentContext) => Promise<readonly EmitOf<C, E>[]> | readonly EmitOf<C, E>[];
}

export interface ModelAgentSpec<
  C extends Catalog,
  S extends Pattern,
  E extends TypeOf<C>,
  O extends z.ZodType,
> extends Omit<AgentSpec<C, S, E>, "handle"> {
  model: ModelSpec<EventOf<C, S>, O>;
  /** Turns the validated decision into events to publish. */
  handle: (
    event: EventOf<C, S>,
    decision: z.output<O>,
    ctx: AgentContext,
  ) => Promise<readonly EmitOf<C, E>[]> | readonly EmitOf<C, E>[];
}

export function agentDefiner<C extends Catalog>(_catalog: C) {
  function defineAgent<const S extends Pattern, const E extends TypeOf<C>, O extends z.ZodType>(
    spec: ModelAgentSpec<C, S, E, O>,
  ): Agent;
  function defineAgent<const S extends Pattern, const E extends TypeOf<C>>(spec: AgentSpec<C, S, E>): Agent;
  function defineAgent(
    spec: AgentSpec<C, Pattern, TypeOf<C>> | ModelAgentSpec<C, Pattern, TypeOf<C>, z.ZodType>,
  ): Agent {
    // The runtime checks every event against the patterns before calling in, and validates a model's
    // decision against `output` before handing it over: that is what makes these erasures sound.
    const erased = { kind: "agent", ...spec } as unknown as Agent;
    if ("model" in spec) {
      const handle = spec.handle as unknown as (e: Envelope, d: unknown, ctx: AgentContext) => readonly Emit[];
      return { ...erased, handle: (event, ctx, decision) => handle(event, decision, ctx) };
    }
    const handle = spec.handle as unknown as (e: Envelope, ctx: AgentContext) => readonly Emit[];
    return { ...erased, handle: (event, ctx) => handle(event, ctx) };
  }
  return defineAgent;
}
