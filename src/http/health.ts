// GET /v1/health: whether this deployment can work — every setting valid (names and fixes, never a
// value of a secret) and the database migrated. No token: deploy scripts, CI and load balancers call it.
import { Hono } from "hono";
import { configReport, type Part } from "../config";
import { latestMigration } from "../db/health";

const PARTS: Part[] = ["ingest", "admin", "runs", "models", "archive"];

export function healthRoutes() {
  return new Hono<{ Bindings: Env }>().get("/", async (c) => {
    const { problems, warnings } = configReport(c.env);
    const parts = Object.fromEntries(
      PARTS.map((part) => [part, problems.some((p) => p.parts.includes(part)) ? "misconfigured" : "ok"]),
    );
    const database = await latestMigration(c.env.DB);
    const ok = problems.length === 0 && database.ok;
    return c.json(
      {
        name: "agentwire",
        status: ok ? "ok" : problems.length > 0 ? "misconfigured" : "degraded",
        parts,
        problems: problems.map(({ name, problem, fix }) => ({ name, problem, fix })),
        warnings,
        database,
      },
      ok ? 200 : 503,
      { "cache-control": "no-store" },
    );
  });
}
