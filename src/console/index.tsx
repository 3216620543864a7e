// The console: server-rendered pages over the same API and authorization as curl (issue 13). Pages
// are frames; their client scripts (public/console/assets, served as static files) read and act
// through /v1 with the session cookie and its CSRF token.
import { Hono } from "hono";
import { z } from "zod";
import type { Registry } from "../registry";
import { type ConsoleEnv, requireSession } from "./guard";
import { anomaliesPage } from "./pages/anomalies";
import { costsPage } from "./pages/costs";
import { deadLettersPage } from "./pages/dead-letters";
import { PLACEHOLDERS, placeholderPage } from "./pages/placeholder";
import { streamPage } from "./pages/stream";
import { workflowPage, workflowsPage } from "./pages/workflows";
import { consoleHeaders } from "./security";
import { signInRoutes } from "./sign-in";

const WorkflowId = z.string().min(1).max(256);

export function consoleRoutes(registry: Registry) {
  const app = new Hono<ConsoleEnv>()
    .use(...consoleHeaders)
    .route("/", signInRoutes())
    .get("/", requireSession, (c) => c.redirect("/console/stream", 303))
    .get("/stream", requireSession, (c) => c.html(streamPage(registry, c.var.session.csrf, c.req.query())))
    .get("/dead-letters", requireSession, (c) => c.html(deadLettersPage(registry, c.var.session.csrf, c.req.query())))
    .get("/anomalies", requireSession, (c) => c.html(anomaliesPage(c.var.session.csrf)))
    .get("/costs", requireSession, (c) => c.html(costsPage(c.var.session.csrf)))
    .get("/workflows", requireSession, (c) => c.html(workflowsPage(registry, c.var.session.csrf, c.req.query())))
    .get("/workflows/:id", requireSession, (c) => {
      const id = WorkflowId.safeParse(c.req.param("id"));
      if (!id.success) return c.redirect("/console/workflows", 303);
      return c.html(workflowPage(id.data, c.var.session.csrf));
    });
  for (const section of Object.keys(PLACEHOLDERS) as (keyof typeof PLACEHOLDERS)[]) {
    app.get(`/${section}`, requireSession, (c) => c.html(placeholderPage(section, c.var.session.csrf)));
  }
  return app;
}
