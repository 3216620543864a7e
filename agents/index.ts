// The registry: adding an agent, workflow, webhook source or destination is adding its file and one line here.
import { defineRegistry } from "../src/define";
import { capabilities } from "./capabilities";
import { catalog } from "./catalog";
import { destinations } from "./destinations";
import fraudScreen from "./fraud-screen";
import inventory from "./inventory";
import issueTriage from "./issue-triage";
import orderWorkflow from "./order-workflow";
import profileEnrichment from "./profile-enrichment";
import replyDrafter from "./reply-drafter";
import replyPolicy from "./reply-policy";
import securityAudit from "./security-audit";
import shippingQuote from "./shipping-quote";
import { sources } from "./sources";
import supportReplyWorkflow from "./support-reply-workflow";
import supportTriage from "./support-triage";
import userScreeningWorkflow from "./user-screening-workflow";

export const agents = [
  fraudScreen,
  inventory,
  shippingQuote,
  securityAudit,
  profileEnrichment,
  supportTriage,
  replyDrafter,
  replyPolicy,
  issueTriage,
];
export const workflows = [orderWorkflow, userScreeningWorkflow, supportReplyWorkflow];
export { destinations, sources };

export const registry = defineRegistry({ catalog, agents, workflows, sources, destinations, capabilities });
