// The define* helpers bound to this app's catalog and capabilities, so handlers see typed `data` per
// event type and a typed `ctx`. Agent and workflow files import from here and from zod, nothing else.
import { agentDefiner, toolDefiner, workflowDefiner } from "../src/define";
import { capabilities } from "./capabilities";
import { catalog } from "./catalog";

export const defineAgent = agentDefiner(catalog, capabilities);
export const defineTool = toolDefiner(capabilities);
export const defineWorkflow = workflowDefiner(catalog);
export { all, any, approve, DeadLetter, first, quorum, reject, RetryAfter, review } from "../src/define";
