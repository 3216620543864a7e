// The benchmark's Worker: agentwire's machinery with the simulated agents and workflows added.
// Run with the project's wrangler.toml: `wrangler dev bench/worker.ts`.
import { coordinatorClass } from "../src/coordinator/workflow-coordinator";
import { createWorker } from "../src/worker";
import { benchRegistry } from "./registry";

export default createWorker(benchRegistry);
export class WorkflowCoordinator extends coordinatorClass(benchRegistry) {}
export { BudgetLedger } from "../src/models/budget-ledger";
