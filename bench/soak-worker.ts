// The soak test's Worker: the real machinery with fault-injecting agents (bench/soak-registry.ts).
// Run with the project's wrangler.toml: `wrangler dev bench/soak-worker.ts`.
import { coordinatorClass } from "../src/coordinator/workflow-coordinator";
import { createWorker } from "../src/worker";
import { soakRegistry } from "./soak-registry";

export default createWorker(soakRegistry);
export class WorkflowCoordinator extends coordinatorClass(soakRegistry) {}
export { BudgetLedger } from "../src/models/budget-ledger";
