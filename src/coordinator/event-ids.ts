// Ids of the events a workflow publishes: HMAC under the server's key (src/bus/publish.ts), stable for
// (workflow, correlation id, key), so an outcome is published once and nobody outside can predict
// it. The coordinator applies transitions inside synchronous storage transactions, which cannot
// await crypto.subtle, so the ids are derived ahead of them and looked up inside.
import { derivedId } from "../bus/publish";
import type { EmitKey } from "./state";

/** Every key a workflow instance derives an event id for: a refine loop's rounds too. */
const emitKeys = (w: { refine?: { maxRounds: number } }): EmitKey[] => [
  "outcome",
  "review",
  "approval",
  "timeout",
  ...Array.from({ length: w.refine?.maxRounds ?? 0 }, (_, i) => `round.${i + 1}` as const),
];

export function workflowEventId(key: CryptoKey, workflow: string, id: string, emitKey: string): Promise<string> {
  return derivedId(key, "wf", [workflow, id, emitKey]);
}

export class WorkflowEventIds {
  private readonly ids = new Map<string, string>();

  /** Derives, once per object, every id these workflows may publish for these correlation ids. */
  async prepare(
    key: CryptoKey,
    workflows: readonly { name: string; refine?: { maxRounds: number } }[],
    correlationIds: readonly string[],
  ): Promise<void> {
    const missing = [...new Set(correlationIds)].flatMap((id) =>
      workflows.flatMap((w) =>
        emitKeys(w).map((emitKey) => ({
          workflow: w.name,
          id,
          emitKey,
          name: JSON.stringify([w.name, id, emitKey]),
        })),
      ),
    );
    // In parallel: a first event derives an id per workflow and key (a dozen HMACs), not one by one.
    const derived = await Promise.all(
      missing
        .filter((m) => !this.ids.has(m.name))
        .map(async (m) => [m.name, await workflowEventId(key, m.workflow, m.id, m.emitKey)] as const),
    );
    for (const [name, id] of derived) this.ids.set(name, id);
  }

  get(workflow: string, id: string, emitKey: string): string {
    const derived = this.ids.get(JSON.stringify([workflow, id, emitKey]));
    // Only a bug gets here: every entry point prepares the ids of the instances it may change.
    if (derived === undefined) throw new Error(`event id for ${workflow}/${emitKey} was not prepared`);
    return derived;
  }
}
