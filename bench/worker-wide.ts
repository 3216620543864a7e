// The routing benchmark's Worker: agentwire's machinery with the wide registry (200 agents, one event
// heard by 50). Run with the project's wrangler.toml: `wrangler dev bench/worker-wide.ts`.
import { coordinatorClass } from "../src/coordinator/workflow-coordinator";
import { createWorker } from "../src/worker";
import { wideRegistry } from "./registry-wide";

export default createWorker(wideRegistry);
export class WorkflowCoordinator extends coordinatorClass(wideRegistry) {}
export { BudgetLedger } from "../src/models/budget-ledger";
