// /v1/workflows: workflow state and its causal tree of events and runs, and human approvals.
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { withArchive } from "../archive/read";
import { getWorkflow, listWorkflows } from "../db/workflows";
import { requireAdmin } from "./auth";
import { HttpError } from "./errors";
import { ADMIN, api, cursor, errors, limit, NextSchema, nextPage, ok, readJson, withJsonBody } from "./openapi";
import { WorkflowDetailSchema, WorkflowSchema } from "./schemas";
import { causalTree } from "./tree";

const STATUSES = ["running", "awaiting_approval", "completed", "rejected", "timed_out"] as const;
const ListQuery = z.object({
  status: z.enum(STATUSES).optional(),
  workflow: z.string().min(1).max(64).optional(),
  before: cursor(z.tuple([z.number().int().nonnegative(), z.string(), z.string()])).optional(),
  limit,
});

const AnswerBody = z.object({
  by: z.string().trim().min(1).max(200).meta({ description: "Who answers (recorded in the verdict)" }),
  reason: z.string().max(2000).default(""),
  workflow: z.string().min(1).max(64).optional().meta({ description: "Which workflow, when several share the id" }),
});
const Id = z.object({ id: z.string().min(1).max(256).meta({ description: "The correlation id" }) });

const list = createRoute({
  method: "get",
  path: "/",
  summary: "List workflow instances, newest first",
  security: ADMIN,
  middleware: [requireAdmin] as const,
  request: { query: ListQuery },
  responses: {
    200: ok(z.object({ workflows: z.array(WorkflowSchema), next: NextSchema }), "A page of workflows"),
    ...errors(400, 401),
  },
});

const get = createRoute({
  method: "get",
  path: "/{id}",
  summary: "A workflow: its verdict and the causal tree of its events and runs",
  security: ADMIN,
  middleware: [requireAdmin] as const,
  request: { params: Id },
  responses: { 200: ok(WorkflowDetailSchema, "The workflow, from D1 or the archive"), ...errors(400, 401, 404) },
});

const answerRoute = (action: "approve" | "reject") =>
  createRoute({
    method: "post",
    path: `/{id}/${action}`,
    summary: action === "approve" ? "Approve a workflow waiting for a human" : "Reject a workflow waiting for a human",
    security: ADMIN,
    middleware: [requireAdmin] as const,
    request: { params: Id },
    responses: {
      200: ok(
        z.object({ id: z.string(), workflow: z.string(), status: z.string(), outcome: z.string().nullable() }),
        "Answered; the outcome is published once",
      ),
      ...errors(400, 401, 403, 404, 409, 413),
    },
  });

export function workflowsRoutes() {
  const app = api();
  for (const [action, decision] of [
    ["approve", "granted"],
    ["reject", "denied"],
  ] as const) {
    const route = withJsonBody(app, answerRoute(action), AnswerBody, { required: true, description: "The answer" });
    app.openapi(route, async (c) => {
      const body = await readJson(c.req.raw, AnswerBody);
      const { id } = c.req.valid("param");
      const stub = c.env.COORDINATOR.get(c.env.COORDINATOR.idFromName(id));
      const result = await stub.answer({ ...body, decision });
      if (!result.ok) throw new HttpError(result.code === "not_found" ? 404 : 409, result.code, result.message);
      return c.json({ id, workflow: result.workflow, status: result.status, outcome: result.outcome ?? null }, 200);
    });
  }
  return app
    .openapi(list, async (c) => {
      const q = c.req.valid("query");
      const before = q.before && { startedAt: q.before[0], id: q.before[1], workflow: q.before[2] };
      const workflows = await listWorkflows(c.env.DB, { ...q, before });
      const positioned = workflows.map((w) => ({ position: [w.startedAt, w.id, w.workflow] }));
      return c.json({ workflows, next: nextPage(positioned, q.limit) }, 200);
    })
    .openapi(get, async (c) => {
      const { id } = c.req.valid("param");
      const { instances, events, runs } = await withArchive(c.env, id, await getWorkflow(c.env.DB, id));
      const [main] = instances;
      if (!main) throw new HttpError(404, "not_found", `no workflow "${id}"`);
      const late = new Set(instances.flatMap((i) => i.late));
      const cost = runs.reduce((sum, r) => sum + (r.model?.costMicros ?? 0), 0);
      return c.json(
        {
          id,
          workflow: main.workflow,
          status: main.status,
          outcome: main.outcome,
          verdict: main.verdict,
          startedAt: main.startedAt,
          startedAtIso: main.startedAtIso,
          completedAt: main.completedAt,
          completedAtIso: main.completedAtIso,
          durationMs: main.durationMs,
          costMicros: cost,
          instances,
          events: causalTree(events, runs, late),
        },
        200,
      );
    });
}
