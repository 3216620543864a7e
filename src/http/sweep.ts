// The anti-entropy sweep on demand (admin token): POST runs one now and answers its repairs per
// kind with the running totals and the alerts its checks raised; GET answers the totals. The cron
// trigger runs the same sweep and checks.
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { sweepTotals } from "../db/sweep";
import type { Registry } from "../registry";
import { checkAlerts } from "../sweep/alerts";
import { sweep, SweepOptions } from "../sweep/sweep";
import { requireAdmin } from "./auth";
import { ADMIN, api, errors, ok, readJson, withJsonBody } from "./openapi";
import { Loose } from "./schemas";

const admin = { security: ADMIN, middleware: requireAdmin };
const Body = SweepOptions.extend({
  alerts: z.boolean().default(true).meta({ description: "Run the cron's alert checks after the sweep" }),
}).strict();

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
    .openapi(run, async (c) => {
      const { alerts: check, ...options } = await readJson(c.req.raw, Body, {});
      const report = await sweep(c.env, registry, options);
      // The cron's alert checks too, so a sweep run by hand raises what the cron would.
      const alerts = check ? await checkAlerts(c.env, registry, report) : [];
      const raised = alerts.map(({ condition, subject, severity, summary }) => ({
        condition,
        subject,
        severity,
        summary,
      }));
      return c.json({ ...report, alerts: raised }, 200);
    });
}
