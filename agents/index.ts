// The registry: adding an agent or workflow is adding its file and one line here.
import { defineRegistry } from "../src/define";
import { capabilities } from "./capabilities";
import { catalog } from "./catalog";
import fraudScreen from "./fraud-screen";
import inventory from "./inventory";
import orderWorkflow from "./order-workflow";
import profileEnrichment from "./profile-enrichment";
import securityAudit from "./security-audit";
import shippingQuote from "./shipping-quote";
import supportTriage from "./support-triage";
import userScreeningWorkflow from "./user-screening-workflow";

export const agents = [fraudScreen, inventory, shippingQuote, securityAudit, profileEnrichment, supportTriage];
export const workflows = [orderWorkflow, userScreeningWorkflow];

export const registry = defineRegistry({ catalog, agents, workflows, capabilities });
