// GET /v1/stats: what the agents did and what it cost (admin token), and the model configuration in
// force: the tiers, and any configured model near or past its end of life.
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { stats } from "../db/stats";
import { configReport } from "../config";
import { modelSetup } from "../models/lineup";
import { requireAdmin } from "./auth";
import { ADMIN, api, errors, ok } from "./openapi";
import { Loose } from "./schemas";

const StatsQuery = z.object({
  since: z.coerce.number().int().nonnegative().default(0).meta({ description: "ms since the epoch" }),
});

const route = createRoute({
  method: "get",
  path: "/",
  summary: "Counts, escalation rates, costs and the always-escalate counterfactual since a time",
  security: ADMIN,
  middleware: requireAdmin,
  request: { query: StatsQuery },
  responses: { 200: ok(Loose, "The statistics and the model configuration"), ...errors(400, 401) },
});

export function statsRoutes() {
  return api().openapi(route, async (c) => {
    const { since } = c.req.valid("query");
    // The model configuration as validated once for this isolate (src/config.ts).
    const { problems, warnings } = configReport(c.env);
    const modelProblems = problems.filter((p) => p.parts.includes("models")).map((p) => `${p.name} ${p.problem}`);
    const configuration =
      modelProblems.length === 0
        ? { ok: true, tiers: modelSetup(c.env).tiers, warnings }
        : { ok: false, problems: modelProblems, warnings: [] };
    return c.json({ ...(await stats(c.env.DB, since)), modelConfiguration: configuration }, 200);
  });
}
