// GET /v1/destinations (admin): each destination with what it receives, its format, whether it is
// configured here (never its URL, whose path can be the secret), its limits, its circuit and whether
// it is paused. Pause, resume, dead letters and replay are the agents' (/v1/agents/:name/…).
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { circuits, pausedNames } from "../db/circuits";
import { limitsOf } from "../destinations/limits";
import { targetOf } from "../destinations/deliver";
import type { Registry } from "../registry";
import { requireAdmin } from "./auth";
import { ADMIN, api, errors, ok } from "./openapi";
import { iso } from "../db/runs";

const DestinationSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    types: z.array(z.string()),
    format: z.enum(["cloudevents", "slack"]),
    urlVar: z.string().meta({ description: "The env var holding its URL" }),
    configured: z.boolean().meta({ description: "The URL is set and allowed (https, or http to loopback)" }),
    problem: z.string().nullable(),
    timeoutMs: z.number(),
    circuitFailures: z.number(),
    circuitCooldownMs: z.number(),
    paused: z.boolean(),
    circuit: z.object({
      state: z.enum(["closed", "open"]),
      failures: z.number().meta({ description: "Consecutive failed attempts" }),
      openedAt: z.number().nullable(),
      openedAtIso: z.string().nullable(),
    }),
  })
  .meta({ id: "Destination" });

export function destinationRoutes(registry: Registry) {
  const list = createRoute({
    method: "get",
    path: "/",
    summary: "The destinations: what each receives, whether it is configured, its circuit breaker",
    security: ADMIN,
    middleware: requireAdmin,
    responses: { 200: ok(z.object({ destinations: z.array(DestinationSchema) }), "Every destination"), ...errors(401) },
  });
  return api().openapi(list, async (c) => {
    const [state, paused] = await Promise.all([circuits(c.env.DB), pausedNames(c.env.DB)]);
    const destinations = registry.destinations.map((d) => {
      const target = targetOf(c.env, d);
      const circuit = state.get(d.name);
      return {
        name: d.name,
        description: d.description,
        types: [...d.types],
        format: d.format.kind,
        urlVar: d.url,
        configured: target.url !== undefined,
        problem: target.problem ?? (target.url ? null : `${d.url} is not set: deliveries are skipped`),
        ...limitsOf(c.env, d),
        paused: paused.has(d.name),
        circuit: {
          state: circuit?.state ?? ("closed" as const),
          failures: circuit?.failures ?? 0,
          openedAt: circuit?.openedAt ?? null,
          openedAtIso: iso(circuit?.openedAt ?? null),
        },
      };
    });
    return c.json({ destinations }, 200);
  });
}
