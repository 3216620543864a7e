// Subscription matching: an exact type, a prefix wildcard (`order.*`), or everything (`*`),
// narrowed by an optional filter predicate over the whole event.
import type { Envelope } from "./envelope";

export type Pattern = string;

export function matchesPattern(pattern: Pattern, type: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith(".*")) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

export interface Subscriber {
  name: string;
  subscribes: readonly Pattern[];
  filter?: (event: Envelope) => boolean;
}

/** The source of every event an agent publishes. */
export const agentSource = (agent: string) => `/agentwire/agents/${agent}`;

/**
 * The subscribers an event goes to. An agent never hears its own events through a wildcard, only by
 * subscribing to the exact type. A filter that throws excludes the agent rather than the event.
 */
export function subscribersOf<S extends Subscriber>(subscribers: readonly S[], event: Envelope): S[] {
  return subscribers.filter((s) => {
    const own = event.source === agentSource(s.name);
    if (!s.subscribes.some((p) => (own ? p === event.type : matchesPattern(p, event.type)))) return false;
    if (!s.filter) return true;
    try {
      return s.filter(event);
    } catch {
      return false;
    }
  });
}
