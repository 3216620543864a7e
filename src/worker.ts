// Builds the Worker from a registry: HTTP in, and one consumer per queue. The entry point passes
// the project's registry; tests pass one with extra fixture agents.
import { routeEvents } from "./consumers/route";
import { createApp } from "./http/app";
import { log } from "./log";
import { type Registry, subscriptionCycles } from "./registry";
import { recordDeadLetterBatch } from "./consumers/dead-letters";
import { runTasks } from "./consumers/run";
import { sweep } from "./sweep/sweep";

export function createWorker(registry: Registry) {
  const app = createApp(registry);
  for (const cycle of subscriptionCycles(registry.agents)) {
    log("registry.cycle", {
      status: "warning",
      agents: cycle,
      detail: "these agents can trigger each other in a loop",
    });
  }
  return {
    fetch: app.fetch,
    async queue(batch, env) {
      if (batch.queue.endsWith("-events")) return routeEvents(batch, env, registry);
      if (batch.queue.endsWith("-tasks")) return runTasks(batch, env, registry);
      if (batch.queue.endsWith("-dead-letters")) return recordDeadLetterBatch(batch, env);
      log("queue.unknown", { queue: batch.queue, status: "retried" });
      batch.retryAll();
    },
    // The cron trigger: the anti-entropy sweep (src/sweep/sweep.ts).
    async scheduled(_controller, env) {
      await sweep(env, registry);
    },
  } satisfies ExportedHandler<Env>;
}
