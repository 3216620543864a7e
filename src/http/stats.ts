// GET /v1/stats: what the agents did and what it cost (admin token), and the model configuration in
// force: the tiers, and any configured model near or past its end of life.
import { Hono } from "hono";
import { z } from "zod";
import { stats } from "../db/stats";
import { configReport } from "../config";
import { modelSetup } from "../models/lineup";
import { requireAdmin } from "./auth";
import { query } from "./query";

const StatsQuery = z.object({ since: z.coerce.number().int().nonnegative().default(0) });

export function statsRoutes() {
  return new Hono<{ Bindings: Env }>().use(requireAdmin).get("/", async (c) => {
    const { since } = query(StatsQuery, c.req.query());
    // The model configuration as validated once for this isolate (src/config.ts).
    const { problems, warnings } = configReport(c.env);
    const modelProblems = problems.filter((p) => p.parts.includes("models")).map((p) => `${p.name} ${p.problem}`);
    const configuration =
      modelProblems.length === 0
        ? { ok: true, tiers: modelSetup(c.env).tiers, warnings }
        : { ok: false, problems: modelProblems, warnings: [] };
    return c.json({ ...(await stats(c.env.DB, since)), modelConfiguration: configuration });
  });
}
