// Worker entry: the project's registry wired into the machinery, plus the Durable Object class.
import { registry } from "../agents";
import { coordinatorClass } from "./coordinator/workflow-coordinator";
import { createWorker } from "./worker";

export default createWorker(registry);
export class WorkflowCoordinator extends coordinatorClass(registry) {}
export { BudgetLedger } from "./models/budget-ledger";
