// /v1/violations (admin token): what agents, agentwire's own publishers or outside senders tried to
// say without being allowed to: undeclared emits, results from a publisher that does not declare them.
import { Hono } from "hono";
import { z } from "zod";
import { listViolations } from "../db/violations";
import { requireAdmin } from "./auth";
import { query } from "./query";

const ListQuery = z.object({
  kind: z.string().min(1).max(64).optional(),
  correlationid: z.string().min(1).max(256).optional(),
  eventId: z.string().min(1).max(256).optional(),
  source: z.string().min(1).max(1024).optional(),
  before: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export function violationsRoutes() {
  return new Hono<{ Bindings: Env }>().use(requireAdmin).get("/", async (c) => {
    const q = query(ListQuery, c.req.query());
    const violations = await listViolations(c.env.DB, q);
    const last = violations.at(-1);
    return c.json({ violations, next: violations.length === q.limit && last ? { before: last.seq } : null });
  });
}
