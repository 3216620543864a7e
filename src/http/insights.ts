// The console's graph and money views as API (admin token): /v1/topology (who hears what, who emits
// what, what each workflow joins, with each agent's live health and subscription cycles) and
// /v1/costs (spend per agent and day, escalations and why, the always-escalate counterfactual, budgets).
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { listensTo } from "../coordinator/define";
import { agentHealth, costs } from "../db/insights";
import { pausedNames } from "../db/circuits";
import { type Registry, subscriptionCycles, workflowPublishes } from "../registry";
import { requireAdmin } from "./auth";
import { ADMIN, api, errors, ok } from "./openapi";

const HOUR = 3_600_000;
const Window = z.object({
  since: z.coerce
    .number()
    .int()
    .nonnegative()
    .optional()
    .meta({ description: "ms since the epoch; default: the last 24 hours (topology) or 7 days (costs)" }),
});

const HealthSchema = z.object({
  runs: z.number(),
  failed: z.number(),
  deadLettered: z.number(),
  running: z.number(),
  errorRate: z.number(),
  p50LatencyMs: z.number().nullable(),
});
const TopologySchema = z.object({
  since: z.number(),
  agents: z.array(
    z.looseObject({
      name: z.string(),
      subscribes: z.array(z.string()),
      emits: z.array(z.string()),
      modelBacked: z.boolean(),
      destination: z.boolean().meta({ description: "A destination: delivered over HTTP, emits nothing" }),
      paused: z.boolean(),
      health: HealthSchema,
    }),
  ),
  workflows: z.array(
    z.looseObject({
      name: z.string(),
      startsOn: z.string(),
      joins: z.array(z.string()),
      emits: z.array(z.string()),
      deadlineMs: z.number(),
      approval: z.boolean(),
    }),
  ),
  types: z.array(z.object({ type: z.string(), publishers: z.enum(["external", "internal"]) })),
  cycles: z.array(z.array(z.string())).meta({ description: "Agent subscription cycles, first name repeated last" }),
});

const CostsSchema = z.looseObject({
  since: z.number(),
  byDay: z.array(
    z.object({
      day: z.string(),
      agent: z.string(),
      calls: z.number(),
      costMicros: z.number(),
      alwaysEscalateMicros: z.number(),
    }),
  ),
  escalation: z.array(z.looseObject({ agent: z.string(), runs: z.number(), escalated: z.number(), rate: z.number() })),
  workflows: z.array(z.object({ correlationId: z.string(), costMicros: z.number(), runs: z.number() })),
  budget: z.looseObject({ day: z.string(), dailySpentMicros: z.number(), dailyCapMicros: z.number() }),
});

const route = <R extends z.ZodType>(path: string, summary: string, answer: R) =>
  createRoute({
    method: "get",
    path,
    summary,
    security: ADMIN,
    middleware: requireAdmin,
    request: { query: Window },
    responses: { 200: ok(answer, summary), ...errors(400, 401) },
  });

export function insightRoutes(registry: Registry) {
  const topology = route("/topology", "The agents, types and workflows as a graph, with live health", TopologySchema);
  const money = route("/costs", "Spend per agent and day, escalations, the counterfactual and budgets", CostsSchema);
  return api()
    .openapi(topology, async (c) => {
      const since = c.req.valid("query").since ?? Date.now() - 24 * HOUR;
      const [health, paused] = await Promise.all([agentHealth(c.env.DB, since), pausedNames(c.env.DB)]);
      const idle = { runs: 0, failed: 0, deadLettered: 0, running: 0, errorRate: 0, p50LatencyMs: null };
      return c.json(
        {
          since,
          agents: registry.agents.map((a) => ({
            name: a.name,
            description: a.description,
            subscribes: [...a.subscribes],
            emits: [...a.emits],
            modelBacked: a.model !== undefined,
            destination: a.destination !== undefined,
            paused: paused.has(a.name),
            health: health.get(a.name) ?? idle,
          })),
          workflows: registry.workflows.map((w) => ({
            name: w.name,
            description: w.description,
            startsOn: w.startsOn,
            joins: listensTo(w).slice(1),
            emits: workflowPublishes(w),
            deadlineMs: w.deadlineMs,
            approval: w.approval !== undefined,
          })),
          types: Object.entries(registry.catalog).map(([type, e]) => ({ type, publishers: e.publishers })),
          cycles: subscriptionCycles(registry.agents),
        },
        200,
      );
    })
    .openapi(money, async (c) => {
      const since = c.req.valid("query").since ?? Date.now() - 7 * 24 * HOUR;
      const ledger = c.env.BUDGET.get(c.env.BUDGET.idFromName("ledger"));
      const [spend, budget] = await Promise.all([costs(c.env.DB, since), ledger.status()]);
      return c.json({ since, ...spend, budget }, 200);
    });
}
