// Who may publish what. agentwire's own publishers live under the reserved source namespace
// `/agentwire/`: an agent may publish the types it declares in `emits`, a workflow its outcomes,
// timeouts and approvals. Every other source is an outside sender and may publish external types only.
import { type Catalog, entryOf } from "./catalog";
import type { PublisherViolation } from "../db/violations";
import { agentSource } from "./subscriptions";

export const RESERVED_SOURCE_PREFIX = "/agentwire/";

/** The source of every event a workflow's coordinator publishes. */
export const workflowSource = (workflow: string) => `/agentwire/workflows/${workflow}`;

/**
 * Whether a source falls in the reserved namespace, however it is spelled: case, percent-encoding,
 * repeated slashes and dot segments are normalized first, so "/AgentWire//agents/x" is reserved too.
 */
export function isReservedSource(source: string): boolean {
  let text = source;
  try {
    text = decodeURIComponent(source);
  } catch {
    // not percent-decodable: judge the raw text
  }
  const path = text
    .toLowerCase()
    .replace(/\\/g, "/")
    .replace(/\/+/g, "/")
    .split("/")
    .filter((segment) => segment !== ".")
    .join("/");
  return path === "/agentwire" || path.startsWith(RESERVED_SOURCE_PREFIX) || path === "agentwire";
}

/** What each of agentwire's own sources declares it publishes. */
export type Declarations = ReadonlyMap<string, ReadonlySet<string>>;

export function declarations(
  agents: readonly { name: string; emits: readonly string[] }[],
  workflows: readonly { name: string; publishes: readonly string[] }[],
): Declarations {
  return new Map([
    ...agents.map((a) => [agentSource(a.name), new Set(a.emits)] as const),
    ...workflows.map((w) => [workflowSource(w.name), new Set(w.publishes)] as const),
  ]);
}

export type PublishCheck =
  { ok: true } | { ok: false; kind: "undeclared_publisher" | "unknown_publisher" | "internal_type"; detail: string };

/**
 * Whether `source` may publish `type`: agentwire's own sources only what they declare, outside
 * sources only external types. Exact source strings: an outside spelling of a reserved source never
 * passes as agentwire's own, and ingest refuses it before it gets here.
 */
export function checkPublisher(
  catalog: Catalog,
  declared: Declarations,
  event: { source: string; type: string },
): PublishCheck {
  const { source, type } = event;
  const own = declared.get(source);
  if (own) {
    if (own.has(type)) return { ok: true };
    return { ok: false, kind: "undeclared_publisher", detail: `${source} does not declare "${type}"` };
  }
  if (isReservedSource(source)) {
    return {
      ok: false,
      kind: "unknown_publisher",
      detail: `${source} is reserved and belongs to no agent or workflow`,
    };
  }
  if (entryOf(catalog, type)?.publishers === "external") return { ok: true };
  const by = [...declared].filter(([, types]) => types.has(type)).map(([s]) => s);
  const who = by.length > 0 ? by.join(", ") : "no registered publisher";
  return { ok: false, kind: "internal_type", detail: `"${type}" is internal (published by ${who}), not by ${source}` };
}

export type { PublisherViolation };

/** Splits events into those their publishers may publish and the violations of the rest. */
export function screenPublishers<E extends { source: string; id: string; type: string; correlationid: string }>(
  mayPublish: (event: E) => PublishCheck,
  events: readonly E[],
  detectedBy: PublisherViolation["detectedBy"],
): { allowed: E[]; refused: PublisherViolation[] } {
  const allowed: E[] = [];
  const refused: PublisherViolation[] = [];
  for (const event of events) {
    const check = mayPublish(event);
    if (check.ok) allowed.push(event);
    else {
      const { source, id, type, correlationid } = event;
      refused.push({
        source,
        id,
        type,
        correlationId: correlationid,
        kind: check.kind,
        detail: check.detail,
        detectedBy,
      });
    }
  }
  return { allowed, refused };
}
