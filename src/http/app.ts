// The HTTP surface: one sub-app per resource, one error handler, JSON everywhere (the console's pages
// aside), and /openapi.json generated from the same zod schemas the routes validate with.
import { OpenAPIHono } from "@hono/zod-openapi";
import { consoleRoutes } from "../console";
import type { Registry } from "../registry";
import { anomalyRoutes } from "./anomalies";
import { archiveRoutes } from "./archive";
import { isAdmin } from "./auth";
import { catalogRoutes, testEventRoutes } from "./catalog";
import { destinationRoutes } from "./destinations";
import { errorBody, onError } from "./errors";
import { eventsRoutes } from "./events";
import { healthRoutes } from "./health";
import { insightRoutes } from "./insights";
import { registerSecurity } from "./openapi";
import { sourceRoutes } from "./sources";
import { agentRoutes, deadLetterRoutes, replayRoutes } from "./recovery";
import { statsRoutes } from "./stats";
import { sweepRoutes } from "./sweep";
import { violationsRoutes } from "./violations";
import { workflowsRoutes } from "./workflows";

export function createApp(registry: Registry) {
  const app = new OpenAPIHono<{ Bindings: Env }>();
  // No browser may sniff an answer into something else.
  app.use(async (c, next) => {
    await next();
    c.header("X-Content-Type-Options", "nosniff");
  });
  registerSecurity(app);
  app.route("/v1/health", healthRoutes());
  app.route("/v1/events", eventsRoutes(registry));
  app.route("/v1/sources", sourceRoutes(registry));
  app.route("/v1/workflows", workflowsRoutes());
  app.route("/v1/stats", statsRoutes());
  app.route("/v1/dead-letters", deadLetterRoutes(registry));
  app.route("/v1/replay", replayRoutes(registry));
  app.route("/v1/agents", agentRoutes(registry));
  app.route("/v1/destinations", destinationRoutes(registry));
  app.route("/v1/violations", violationsRoutes());
  app.route("/v1", anomalyRoutes());
  app.route("/v1", insightRoutes(registry));
  app.route("/v1/catalog", catalogRoutes(registry));
  app.route("/v1/test-events", testEventRoutes(registry));
  app.route("/v1/sweep", sweepRoutes(registry));
  app.route("/v1/archive", archiveRoutes());
  app.route("/console", consoleRoutes(registry));

  // Generated once per isolate: the routes do not change while it lives.
  let document: unknown;
  const openapi = () =>
    (document ??= app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "agentwire",
        version: "1",
        description:
          "Event-driven multi-agent orchestration. Send signed CloudEvents to POST /v1/events; read and operate with the admin token (or a console session).",
      },
    }));
  // The contract is public (it names no agent, workflow or secret); the listing below is not.
  app.get("/openapi.json", (c) => c.json(openapi()));
  // The listing names the agents and workflows: only the admin token sees it.
  app.get("/", async (c) => {
    if (!(await isAdmin(c.req.header("authorization"), c.env))) return c.json({ name: "agentwire" });
    const paths = (openapi() as { paths?: Record<string, Record<string, unknown>> }).paths ?? {};
    return c.json({
      name: "agentwire",
      openapi: "/openapi.json",
      console: "/console",
      endpoints: Object.entries(paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`),
      ),
      agents: registry.agents.map((a) => a.name),
      workflows: registry.workflows.map((w) => w.name),
    });
  });
  app.notFound((c) => c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404));
  app.onError(onError);
  return app;
}
