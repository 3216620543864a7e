// Builds the Worker from a registry: HTTP in, and one consumer per queue. The entry point passes
// the project's registry; tests pass one with extra fixture agents.
import { archive } from "./archive/archive";
import { routeEvents } from "./consumers/route";
import { createApp } from "./http/app";
import { log, logError, setLogLevel } from "./log";
import { type Registry, subscriptionCycles } from "./registry";
import { recordDeadLetterBatch } from "./consumers/dead-letters";
import { runTasks } from "./consumers/run";
import { checkAlerts } from "./sweep/alerts";
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
    fetch(request: Request, env: Env, ctx: ExecutionContext) {
      setLogLevel(env.LOG_LEVEL);
      return app.fetch(request, env, ctx);
    },
    async queue(batch, env) {
      setLogLevel(env.LOG_LEVEL);
      if (batch.queue.endsWith("-events")) return routeEvents(batch, env, registry);
      if (batch.queue.endsWith("-tasks") || batch.queue.endsWith("-deliveries")) return runTasks(batch, env, registry);
      if (batch.queue.endsWith("-dead-letters")) return recordDeadLetterBatch(batch, env, registry.catalog);
      log("queue.unknown", { queue: batch.queue, status: "retried" });
      batch.retryAll();
    },
    // The cron trigger: the anti-entropy sweep (src/sweep/sweep.ts), then the archive of what is past
    // the hot window (src/archive/archive.ts). Each runs whether the other failed; a failure still
    // fails the invocation, so it shows.
    async scheduled(_controller, env) {
      setLogLevel(env.LOG_LEVEL);
      const steps = {
        sweep: async () => checkAlerts(env, registry, await sweep(env, registry)),
        archive: () => archive(env),
      };
      const failed: unknown[] = [];
      for (const [step, run] of Object.entries(steps)) {
        try {
          await run();
        } catch (error) {
          logError("scheduled.failed", { step }, error);
          failed.push(error);
        }
      }
      if (failed.length === 1) throw failed[0];
      if (failed.length > 1) throw new AggregateError(failed, "the sweep and the archive failed");
    },
  } satisfies ExportedHandler<Env>;
}
