// /v1/workflows: workflow state and its causal tree of events and runs, and human approvals.
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { ApprovalAnswer } from "../coordinator/workflow-coordinator";
import { getWorkflow, listWorkflows } from "../db/workflows";
import { requireAdmin } from "./auth";
import { HttpError } from "./errors";
import { jsonBody, query } from "./query";
import { causalTree } from "./tree";

const ListQuery = z.object({
  status: z.enum(["running", "awaiting_approval", "completed", "rejected", "timed_out"]).optional(),
  workflow: z.string().min(1).max(64).optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const AnswerBody = z.object({
  by: z.string().trim().min(1).max(200),
  reason: z.string().max(2000).default(""),
  workflow: z.string().min(1).max(64).optional(),
});

export function workflowsRoutes() {
  const answer = (decision: "granted" | "denied") =>
    async function (c: Context<{ Bindings: Env }>) {
      const body = await jsonBody(c.req.raw, AnswerBody);
      const id = c.req.param("id") ?? "";
      const stub = c.env.COORDINATOR.get(c.env.COORDINATOR.idFromName(id));
      const result: ApprovalAnswer = await stub.answer({ ...body, decision });
      if (!result.ok) throw new HttpError(result.code === "not_found" ? 404 : 409, result.code, result.message);
      return c.json({ id, workflow: result.workflow, status: result.status, outcome: result.outcome ?? null });
    };

  return new Hono<{ Bindings: Env }>()
    .use(requireAdmin)
    .get("/", async (c) => {
      const q = query(ListQuery, c.req.query());
      const workflows = await listWorkflows(c.env.DB, q);
      const last = workflows.at(-1);
      return c.json({ workflows, next: workflows.length === q.limit && last ? { before: last.startedAt } : null });
    })
    .get("/:id", async (c) => {
      const id = c.req.param("id");
      const { instances, events, runs } = await getWorkflow(c.env.DB, id);
      const [main] = instances;
      if (!main) throw new HttpError(404, "not_found", `no workflow "${id}"`);
      const late = new Set(instances.flatMap((i) => i.late));
      return c.json({
        id,
        workflow: main.workflow,
        status: main.status,
        outcome: main.outcome,
        verdict: main.verdict,
        startedAt: main.startedAt,
        completedAt: main.completedAt,
        durationMs: main.durationMs,
        instances,
        events: causalTree(events, runs, late),
      });
    })
    .post("/:id/approve", answer("granted"))
    .post("/:id/reject", answer("denied"));
}
