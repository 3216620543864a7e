// GET /v1/stats: what the agents did and what it cost (admin token), and the model configuration in
// force: the tiers, and any configured model near or past its end of life.
import { Hono } from "hono";
import { z } from "zod";
import { stats } from "../db/stats";
import { resolveModels } from "../models/lineup";
import { requireAdmin } from "./auth";
import { query } from "./query";

const StatsQuery = z.object({ since: z.coerce.number().int().nonnegative().default(0) });

export function statsRoutes() {
  return new Hono<{ Bindings: Env }>().use(requireAdmin).get("/", async (c) => {
    const { since } = query(StatsQuery, c.req.query());
    const models = resolveModels(c.env);
    const configuration = models.ok
      ? { ok: true, tiers: models.setup.tiers, warnings: models.setup.warnings }
      : { ok: false, problems: models.problems, warnings: [] };
    return c.json({ ...(await stats(c.env.DB, since)), modelConfiguration: configuration });
  });
}
