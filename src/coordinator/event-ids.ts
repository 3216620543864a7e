// Ids of the events a workflow publishes: HMAC under the server's key (src/bus/publish.ts), stable for
// (workflow, correlation id, key), so an outcome is published once and nobody outside can predict
// it. The coordinator applies transitions inside synchronous storage transactions, which cannot
// await crypto.subtle, so the ids are derived ahead of them and looked up inside.
import { derivedId } from "../bus/publish";
import type { Emit } from "./transitions";

/** Every key a workflow instance derives an event id for. */
const EMIT_KEYS: readonly Emit["key"][] = ["outcome", "review", "approval", "timeout"];

export function workflowEventId(key: CryptoKey, workflow: string, id: string, emitKey: string): Promise<string> {
  return derivedId(key, "wf", [workflow, id, emitKey]);
}

export class WorkflowEventIds {
  private readonly ids = new Map<string, string>();

  /** Derives, once per object, every id these workflows may publish for these correlation ids. */
  async prepare(key: CryptoKey, workflows: readonly string[], correlationIds: readonly string[]): Promise<void> {
    for (const id of new Set(correlationIds)) {
      for (const workflow of workflows) {
        for (const emitKey of EMIT_KEYS) {
          const name = JSON.stringify([workflow, id, emitKey]);
          if (!this.ids.has(name)) this.ids.set(name, await workflowEventId(key, workflow, id, emitKey));
        }
      }
    }
  }

  get(workflow: string, id: string, emitKey: string): string {
    const derived = this.ids.get(JSON.stringify([workflow, id, emitKey]));
    // Only a bug gets here: every entry point prepares the ids of the instances it may change.
    if (derived === undefined) throw new Error(`event id for ${workflow}/${emitKey} was not prepared`);
    return derived;
  }
}
