// The archive on demand (admin token): POST moves what is past the hot window to R2 now and answers
// what it moved; GET answers what the archive holds. The cron trigger runs the same archive.
import { createRoute } from "@hono/zod-openapi";
import { archive, ArchiveOptions } from "../archive/archive";
import { archiveTotals } from "../db/archive-index";
import { requireAdmin } from "./auth";
import { ADMIN, api, errors, ok, readJson, withJsonBody } from "./openapi";
import { Loose } from "./schemas";
import { z } from "zod";

const admin = { security: ADMIN, middleware: requireAdmin };
const Body = ArchiveOptions.strict();

export function archiveRoutes() {
  const app = api();
  const run = withJsonBody(
    app,
    createRoute({
      method: "post",
      path: "/",
      summary: "Archive what is past the hot window to R2 now",
      ...admin,
      responses: { 200: ok(Loose, "What moved"), ...errors(400, 401, 403, 413) },
    }),
    Body,
    { required: false, description: "Overrides of the archive's settings" },
  );
  const totals = createRoute({
    method: "get",
    path: "/",
    summary: "What the archive holds",
    ...admin,
    responses: { 200: ok(z.object({ totals: Loose }), "Objects, lines and bytes"), ...errors(401) },
  });
  return app
    .openapi(totals, async (c) => c.json({ totals: await archiveTotals(c.env.DB) }, 200))
    .openapi(run, async (c) => c.json(await archive(c.env, await readJson(c.req.raw, Body, {})), 200));
}
