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

/** The subscribers an event goes to. A filter that throws excludes the agent rather than the event. */
export function subscribersOf<S extends Subscriber>(subscribers: readonly S[], event: Envelope): S[] {
  return subscribers.filter((s) => {
    if (!s.subscribes.some((p) => matchesPattern(p, event.type))) return false;
    if (!s.filter) return true;
    try {
      return s.filter(event);
    } catch {
      return false;
    }
  });
}
