// The define* helpers bound to this project's catalog, so agent handlers are typed by event type.
import { agentDefiner } from "../src/runtime/define";
import { catalog } from "./catalog";

export const defineAgent = agentDefiner(catalog);
