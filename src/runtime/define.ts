// `defineAgent`: an agent is data — what it hears, what it may say, and a handler. Bound to an event
// catalog so that handlers see typed `data` and may only return events the agent declares.
import type { Catalog, DataOf } from "../bus/catalog";
import type { Envelope } from "../bus/envelope";
import type { Pattern } from "../bus/subscriptions";

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

/** The erased form the runtime works with. */
export interface Agent {
  kind: "agent";
  name: string;
  description: string;
  subscribes: readonly Pattern[];
  filter?: (event: Envelope) => boolean;
  emits: readonly string[];
  handle: (event: Envelope, ctx: AgentContext) => Promise<readonly Emit[]> | readonly Emit[];
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

export function agentDefiner<C extends Catalog>(_catalog: C) {
  return function defineAgent<const S extends Pattern, const E extends TypeOf<C>>(spec: AgentSpec<C, S, E>): Agent {
    // The runtime checks every event against the patterns before calling in, which is what makes
    // the narrowing from Envelope to EventOf sound.
    return { kind: "agent", ...spec } as unknown as Agent;
  };
}
