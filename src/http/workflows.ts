// /v1/workflows: workflow state and its causal tree of events and runs, and human approvals.
import { type Context, Hono } from "hono";
import { z } from "zod";
import { withArchive } from "../archive/read";
import type { ApprovalAnswer } from "../coordinator/workflow-coordinator";
import { getWorkflow, listWorkflows, type WorkflowCursor } from "../db/workflows";
import { requireAdmin } from "./auth";
import { HttpError } from "./errors";
import { jsonBody, query } from "./query";
import { causalTree } from "./tree";

/** The paging cursor, opaque to clients: base64url of [startedAt, id, workflow]. */
const Cursor = z.tuple([z.number().int().nonnegative(), z.string(), z.string()]);
const encodeCursor = (w: WorkflowCursor) => {
  const bytes = new TextEncoder().encode(JSON.stringify([w.startedAt, w.id, w.workflow]));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
};
const decodeCursor = (text: string, ctx: z.RefinementCtx): WorkflowCursor => {
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const json = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(binary, (ch) => ch.charCodeAt(0)),
    );
    const [startedAt, id, workflow] = Cursor.parse(JSON.parse(json));
    return { startedAt, id, workflow };
  } catch {
    ctx.addIssue({ code: "custom", message: "not a cursor from a previous page's next.before" });
    return z.NEVER;
  }
};

const ListQuery = z.object({
  status: z.enum(["running", "awaiting_approval", "completed", "rejected", "timed_out"]).optional(),
  workflow: z.string().min(1).max(64).optional(),
  before: z.string().min(1).max(2048).transform(decodeCursor).optional(),
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
      const next = workflows.length === q.limit && last ? { before: encodeCursor(last) } : null;
      return c.json({ workflows, next });
    })
    .get("/:id", async (c) => {
      const id = c.req.param("id");
      const { instances, events, runs } = await withArchive(c.env, id, await getWorkflow(c.env.DB, id));
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
