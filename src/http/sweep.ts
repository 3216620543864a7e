// The anti-entropy sweep on demand (admin token): POST runs one now and answers its repairs per
// kind with the running totals; GET answers the totals. The cron trigger runs the same sweep.
import { Hono } from "hono";
import { sweepTotals } from "../db/sweep";
import type { Registry } from "../registry";
import { sweep, SweepOptions } from "../sweep/sweep";
import { requireAdmin } from "./auth";
import { jsonBody } from "./query";

export function sweepRoutes(registry: Registry) {
  return new Hono<{ Bindings: Env }>()
    .use(requireAdmin)
    .get("/", async (c) => c.json({ totals: await sweepTotals(c.env.DB) }))
    .post("/", async (c) => {
      const options = await jsonBody(c.req.raw, SweepOptions.strict(), {});
      return c.json(await sweep(c.env, registry, options));
    });
}
