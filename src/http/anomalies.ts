// The failure modes as lists (admin token): parked events, unrouted events, suppressed duplicates and
// late results, each filtered and paged with an opaque cursor. Policy violations: /v1/violations.
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { listDuplicates, listLate, listParked, listUnrouted } from "../db/anomalies";
import { requireAdmin } from "./auth";
import { ADMIN, api, cursor, encodeCursor, errors, limit, NextSchema, nextPage, ok } from "./openapi";
import { DuplicateSchema, LateSchema, ParkedSchema, UnroutedSchema } from "./schemas";

const text = (max: number) => z.string().min(1).max(max).optional();
/** Rows as answered: their position is only ever given back as the opaque cursor. */
const unpositioned = <T extends { position: unknown }>(rows: readonly T[]) =>
  rows.map(({ position: _, ...row }) => row);
const keyed = z.tuple([z.number().int(), z.string(), z.string()]);
const common = { type: text(256), correlationid: text(256), limit };

const page = <K extends string, S extends z.ZodType>(key: K, item: S) =>
  z.object({ [key]: z.array(item), next: NextSchema } as { [k in K]: z.ZodArray<S> } & { next: typeof NextSchema });

const route = <Q extends z.ZodObject, R extends z.ZodType>(path: string, summary: string, query: Q, answer: R) =>
  createRoute({
    method: "get",
    path,
    summary,
    security: ADMIN,
    middleware: requireAdmin,
    request: { query },
    responses: {
      200: ok(answer, "Newest first"),
      ...errors(400, 401),
    },
  });

const parked = route(
  "/parked",
  "Events parked instead of routed: over the hop limit, or their correlation over the event cap",
  z.object({
    ...common,
    reason: z.enum(["hop_limit", "correlation_cap"]).optional(),
    before: cursor(keyed).optional(),
  }),
  page("parked", ParkedSchema),
);
const unrouted = route(
  "/unrouted",
  "Events logged that no agent or workflow subscribes to",
  z.object({ ...common, before: cursor(keyed).optional() }),
  page("unrouted", UnroutedSchema),
);
const duplicates = route(
  "/duplicates",
  "Suppressed duplicates: events logged again, deliveries of finished runs",
  z.object({
    ...common,
    kind: z.enum(["event", "delivery"]).optional(),
    agent: text(64),
    before: cursor(z.tuple([z.number().int()])).optional(),
  }),
  page("duplicates", DuplicateSchema),
);
const late = route(
  "/late-results",
  "Results that reached a workflow after it had decided",
  z.object({ ...common, workflow: text(64), agent: text(64), before: cursor(keyed).optional() }),
  page("late", LateSchema),
);

export function anomalyRoutes() {
  return api()
    .openapi(parked, async (c) => {
      const q = c.req.valid("query");
      const rows = await listParked(c.env.DB, q);
      return c.json({ parked: unpositioned(rows), next: nextPage(rows, q.limit) }, 200);
    })
    .openapi(unrouted, async (c) => {
      const q = c.req.valid("query");
      const rows = await listUnrouted(c.env.DB, q);
      return c.json({ unrouted: unpositioned(rows), next: nextPage(rows, q.limit) }, 200);
    })
    .openapi(duplicates, async (c) => {
      const q = c.req.valid("query");
      const rows = await listDuplicates(c.env.DB, q);
      return c.json({ duplicates: unpositioned(rows), next: nextPage(rows, q.limit) }, 200);
    })
    .openapi(late, async (c) => {
      const q = c.req.valid("query");
      const { items, next } = await listLate(c.env.DB, q);
      return c.json({ late: unpositioned(items), next: next && { before: encodeCursor(next) } }, 200);
    });
}
