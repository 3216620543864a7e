// The HTTP surface: one sub-app per resource, one error handler, JSON everywhere.
import { Hono } from "hono";
import type { Registry } from "../registry";
import { errorBody, onError } from "./errors";
import { eventsRoutes } from "./events";
import { agentRoutes, deadLetterRoutes, replayRoutes } from "./recovery";
import { statsRoutes } from "./stats";
import { workflowsRoutes } from "./workflows";

export function createApp(registry: Registry) {
  const app = new Hono<{ Bindings: Env }>();
  app.get("/", (c) =>
    c.json({
      name: "agentwire",
      endpoints: [
        "POST /v1/events",
        "GET /v1/events",
        "GET /v1/events/:id",
        "GET /v1/workflows",
        "GET /v1/workflows/:id",
        "POST /v1/workflows/:id/approve",
        "POST /v1/workflows/:id/reject",
        "GET /v1/stats",
        "GET /v1/dead-letters",
        "POST /v1/dead-letters/:id/replay",
        "POST /v1/dead-letters/replay",
        "POST /v1/replay",
        "GET /v1/agents",
        "POST /v1/agents/:name/pause",
        "POST /v1/agents/:name/resume",
      ],
      agents: registry.agents.map((a) => a.name),
      workflows: registry.workflows.map((w) => w.name),
    }),
  );
  app.route("/v1/events", eventsRoutes(registry));
  app.route("/v1/workflows", workflowsRoutes());
  app.route("/v1/stats", statsRoutes());
  app.route("/v1/dead-letters", deadLetterRoutes());
  app.route("/v1/replay", replayRoutes(registry));
  app.route("/v1/agents", agentRoutes(registry));
  app.notFound((c) => c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404));
  app.onError(onError);
  return app;
}
