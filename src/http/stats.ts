// GET /v1/stats: what the agents did and what it cost (admin token).
import { Hono } from "hono";
import { z } from "zod";
import { stats } from "../db/stats";
import { requireAdmin } from "./auth";
import { query } from "./query";

const StatsQuery = z.object({ since: z.coerce.number().int().nonnegative().default(0) });

export function statsRoutes() {
  return new Hono<{ Bindings: Env }>().use(requireAdmin).get("/", async (c) => {
    const { since } = query(StatsQuery, c.req.query());
    return c.json(await stats(c.env.DB, since));
  });
}
