// The public surface an app is written against: everything agents/ may import from src/. Catalog,
// agents, workflows, webhook sources, the registry and the errors an agent throws on purpose; nothing else.
export { defineCatalog, external, internal } from "./bus/catalog";
export { all, any, approve, first, quorum, reject, review, workflowDefiner } from "./coordinator/define";
export { defineRegistry } from "./registry";
export { agentDefiner, type AgentContext, type HandlerInput } from "./runtime/define";
export { DeadLetter, RetryAfter } from "./runtime/errors";
export { toolDefiner, type ToolCall, type ToolSpec } from "./runtime/tools";
export { defineSource, type MappedEvent, type SourceRequest } from "./sources/define";
export { defineDestination, type SlackMessage } from "./destinations/define";
export { AlertSchema, type Alert } from "./alerts/raise";
