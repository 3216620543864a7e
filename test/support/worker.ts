// The test entry: the real machinery and agents plus the fixture agents.
import { coordinatorClass } from "../../src/coordinator/workflow-coordinator";
import { createWorker } from "../../src/worker";
import { testRegistry } from "./fixtures";

export default createWorker(testRegistry);
export class WorkflowCoordinator extends coordinatorClass(testRegistry) {}
export { BudgetLedger } from "../../src/models/budget-ledger";
