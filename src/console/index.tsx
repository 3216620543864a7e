// The console: server-rendered pages over the same API and authorization as curl (issue 13). Pages
// are frames; their client scripts (public/console/assets, served as static files) read and act
// through /v1 with the session cookie and its CSRF token.
import { Hono } from "hono";
import { z } from "zod";
import type { Registry } from "../registry";
import { type ConsoleEnv, requireSession } from "./guard";
import { anomaliesPage } from "./pages/anomalies";
import { apiReferencePage } from "./pages/api-reference";
import { costsPage } from "./pages/costs";
import { eventPage } from "./pages/event";
import { deadLettersPage } from "./pages/dead-letters";
import { streamPage } from "./pages/stream";
import { topologyPage } from "./pages/topology";
import { workflowPage, workflowsPage } from "./pages/workflows";
import { consoleHeaders } from "./security";
import { signInRoutes } from "./sign-in";

const WorkflowId = z.string().min(1).max(256);
const EventId = z.string().min(1).max(256);
const EventSource = z.string().min(1).max(1024).optional();

export function consoleRoutes(registry: Registry) {
  const app = new Hono<ConsoleEnv>()
    .use(...consoleHeaders)
    .route("/", signInRoutes())
    .get("/", requireSession, (c) => c.redirect("/console/stream", 303))
    .get("/stream", requireSession, (c) => c.html(streamPage(registry, c.var.session.csrf, c.req.query())))
    .get("/dead-letters", requireSession, (c) => c.html(deadLettersPage(registry, c.var.session.csrf, c.req.query())))
    .get("/anomalies", requireSession, (c) => c.html(anomaliesPage(c.var.session.csrf)))
    .get("/costs", requireSession, (c) => c.html(costsPage(c.var.session.csrf)))
    .get("/topology", requireSession, (c) => c.html(topologyPage(c.var.session.csrf)))
    .get("/api", requireSession, (c) => c.html(apiReferencePage(c.var.session.csrf)))
    .get("/workflows", requireSession, (c) => c.html(workflowsPage(registry, c.var.session.csrf, c.req.query())))
    .get("/events/:id", requireSession, (c) => {
      const id = EventId.safeParse(c.req.param("id"));
      const source = EventSource.safeParse(c.req.query("source"));
      if (!id.success || !source.success) return c.redirect("/console/stream", 303);
      return c.html(eventPage(id.data, source.data, c.var.session.csrf));
    })
    .get("/workflows/:id", requireSession, (c) => {
      const id = WorkflowId.safeParse(c.req.param("id"));
      if (!id.success) return c.redirect("/console/workflows", 303);
      return c.html(workflowPage(id.data, c.var.session.csrf));
    });
  return app;
}
