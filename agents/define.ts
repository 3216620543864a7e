// The define* helpers bound to this project's catalog, so handlers and decisions are typed by event type.
import { workflowDefiner } from "../src/coordinator/define";
import { agentDefiner } from "../src/runtime/define";
import { catalog } from "./catalog";

export const defineAgent = agentDefiner(catalog);
export const defineWorkflow = workflowDefiner(catalog);
export { all, any, approve, first, quorum, reject, review } from "../src/coordinator/define";
