// The API reference page: reads /openapi.json and renders it as DOM.
import { byId, say } from "./dom.js";

say(byId("api-status", HTMLElement), "Not built yet.");
