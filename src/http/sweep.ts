// The anti-entropy sweep on demand (admin token): POST runs one now and answers its repairs per
// kind with the running totals; GET answers the totals. The cron trigger runs the same sweep.
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { sweepTotals } from "../db/sweep";
import type { Registry } from "../registry";
import { sweep, SweepOptions } from "../sweep/sweep";
import { requireAdmin } from "./auth";
import { ADMIN, api, errors, ok, readJson, withJsonBody } from "./openapi";
import { Loose } from "./schemas";

const admin = { security: ADMIN, middleware: requireAdmin };
const Body = SweepOptions.strict();

export function sweepRoutes(registry: Registry) {
  const app = api();
  const run = withJsonBody(
    app,
    createRoute({
      method: "post",
      path: "/",
      summary: "Run the anti-entropy sweep now",
      ...admin,
      responses: { 200: ok(Loose, "Repairs per kind, with the totals"), ...errors(400, 401, 403, 413) },
    }),
    Body,
    { required: false, description: "Overrides of the sweep's settings" },
  );
  const totals = createRoute({
    method: "get",
    path: "/",
    summary: "What the sweep has repaired so far",
    ...admin,
    responses: {
      200: ok(
        z.object({
          totals: z.record(
            z.string(),
            z.object({
              repaired: z.number(),
              unrepairable: z.number(),
              runs: z.number(),
              lastRepaired: z.number(),
              lastRunAt: z.number().nullable(),
            }),
          ),
        }),
        "Totals per kind",
      ),
      ...errors(401),
    },
  });
  return app
    .openapi(totals, async (c) => c.json({ totals: await sweepTotals(c.env.DB) }, 200))
    .openapi(run, async (c) => c.json(await sweep(c.env, registry, await readJson(c.req.raw, Body, {})), 200));
}
