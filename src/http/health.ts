// GET /v1/health: whether this deployment can work — every setting valid (names and fixes, never a
// value of a secret) and the database migrated. No token: deploy scripts, CI and load balancers call it.
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { configReport, type Part } from "../config";
import { latestMigration } from "../db/health";
import { api, ok } from "./openapi";

const PARTS: Part[] = ["ingest", "admin", "runs", "models", "archive", "sources"];

const HealthSchema = z.looseObject({
  name: z.string(),
  status: z.enum(["ok", "misconfigured", "degraded"]),
  parts: z.record(z.string(), z.string()),
  problems: z.array(z.object({ name: z.string(), problem: z.string(), fix: z.string() })),
  warnings: z.array(z.unknown()),
  database: z.looseObject({ ok: z.boolean() }),
});

const route = createRoute({
  method: "get",
  path: "/",
  summary: "Whether this deployment can work (no token)",
  responses: { 200: ok(HealthSchema, "Ready"), 503: ok(HealthSchema, "Misconfigured or not migrated: the reasons") },
});

export function healthRoutes() {
  return api().openapi(route, async (c) => {
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
      ok ? (200 as const) : (503 as const),
      { "cache-control": "no-store" },
    );
  });
}
