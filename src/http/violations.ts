// /v1/violations (admin token): what agents, agentwire's own publishers or outside senders tried to
// say without being allowed to: undeclared emits, results from a publisher that does not declare them.
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { listViolations } from "../db/violations";
import { requireAdmin } from "./auth";
import { ADMIN, api, errors, limit, ok } from "./openapi";
import { ViolationSchema } from "./schemas";

const ListQuery = z.object({
  kind: z.string().min(1).max(64).optional(),
  correlationid: z.string().min(1).max(256).optional(),
  eventId: z.string().min(1).max(256).optional(),
  source: z.string().min(1).max(1024).optional(),
  agent: z.string().min(1).max(64).optional(),
  before: z.coerce.number().int().nonnegative().optional().meta({ description: "The previous page's next.before" }),
  limit,
});

const list = createRoute({
  method: "get",
  path: "/",
  summary: "List policy violations",
  security: ADMIN,
  middleware: [requireAdmin] as const,
  request: { query: ListQuery },
  responses: {
    200: ok(
      z.object({ violations: z.array(ViolationSchema), next: z.object({ before: z.number() }).nullable() }),
      "Newest first",
    ),
    ...errors(400, 401),
  },
});

export function violationsRoutes() {
  return api().openapi(list, async (c) => {
    const q = c.req.valid("query");
    const violations = await listViolations(c.env.DB, q);
    const last = violations.at(-1);
    return c.json({ violations, next: violations.length === q.limit && last ? { before: last.seq } : null }, 200);
  });
}
