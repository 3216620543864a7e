// The HTTP surface: one sub-app per resource, one error handler, JSON everywhere.
import { Hono } from "hono";
import type { Registry } from "../registry";
import { archiveRoutes } from "./archive";
import { isAdmin } from "./auth";
import { errorBody, onError } from "./errors";
import { eventsRoutes } from "./events";
import { healthRoutes } from "./health";
import { agentRoutes, deadLetterRoutes, replayRoutes } from "./recovery";
import { statsRoutes } from "./stats";
import { sweepRoutes } from "./sweep";
import { violationsRoutes } from "./violations";
import { workflowsRoutes } from "./workflows";

export function createApp(registry: Registry) {
  const app = new Hono<{ Bindings: Env }>();
  // Every answer is JSON and says so: no browser may sniff it into something else.
  app.use(async (c, next) => {
    await next();
    c.header("X-Content-Type-Options", "nosniff");
  });
  // The listing names the agents and workflows: only the admin token sees it.
  app.get("/", async (c) => {
    if (!(await isAdmin(c.req.header("authorization"), c.env))) return c.json({ name: "agentwire" });
    return c.json({
      name: "agentwire",
      endpoints: [
        "GET /v1/health",
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
        "GET /v1/violations",
        "GET /v1/agents",
        "POST /v1/agents/:name/pause",
        "POST /v1/agents/:name/resume",
        "GET /v1/sweep",
        "POST /v1/sweep",
        "GET /v1/archive",
        "POST /v1/archive",
      ],
      agents: registry.agents.map((a) => a.name),
      workflows: registry.workflows.map((w) => w.name),
    });
  });
  app.route("/v1/health", healthRoutes());
  app.route("/v1/events", eventsRoutes(registry));
  app.route("/v1/workflows", workflowsRoutes());
  app.route("/v1/stats", statsRoutes());
  app.route("/v1/dead-letters", deadLetterRoutes());
  app.route("/v1/replay", replayRoutes(registry));
  app.route("/v1/agents", agentRoutes(registry));
  app.route("/v1/violations", violationsRoutes());
  app.route("/v1/sweep", sweepRoutes(registry));
  app.route("/v1/archive", archiveRoutes());
  app.notFound((c) => c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404));
  app.onError(onError);
  return app;
}
