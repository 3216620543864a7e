// The archive on demand (admin token): POST moves what is past the hot window to R2 now and answers
// what it moved; GET answers what the archive holds. The cron trigger runs the same archive.
import { Hono } from "hono";
import { archive, ArchiveOptions } from "../archive/archive";
import { archiveTotals } from "../db/archive-index";
import { requireAdmin } from "./auth";
import { jsonBody } from "./query";

export function archiveRoutes() {
  return new Hono<{ Bindings: Env }>()
    .use(requireAdmin)
    .get("/", async (c) => c.json({ totals: await archiveTotals(c.env.DB) }))
    .post("/", async (c) => {
      const options = await jsonBody(c.req.raw, ArchiveOptions.strict(), {});
      return c.json(await archive(c.env, options));
    });
}
