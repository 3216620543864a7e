// Recovery endpoints (admin token): dead letters and their replay, replay from the log, and agents
// (list, pause, resume).
import { pausedNames } from "../db/circuits";
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { ArchiveReadLimit } from "../archive/lines";
import { agentCounts, listDeadLetters, setPaused } from "../db/recovery";
import { errorMessage } from "../log";
import type { Registry } from "../registry";
import { releaseHeldDeliveries, replayDeadLetters, replayLog } from "../runtime/replay";
import { requireAdmin } from "./auth";
import { HttpError } from "./errors";
import { ADMIN, api, errors, limit, ok, readJson, withJsonBody } from "./openapi";
import { DeadLetterSchema, Loose } from "./schemas";

const ms = z.coerce.number().int().nonnegative();
/** Whether any filter is given: 0 and "" are values, only undefined is "not given". */
const given = (...values: unknown[]) => values.some((v) => v !== undefined);
const DeadLetterQuery = z.object({
  status: z.enum(["dead", "replayed"]).optional(),
  agent: z.string().min(1).max(64).optional(),
  correlationid: z.string().min(1).max(256).optional(),
  from: ms.optional(),
  to: ms.optional(),
  before: z.coerce.number().int().positive().optional().meta({ description: "The previous page's next.before" }),
  limit,
});
const BulkReplay = z
  .object({
    correlationid: z.string().min(1).max(256).optional(),
    agent: z.string().min(1).max(64).optional(),
    from: ms.optional(),
    to: ms.optional(),
    limit: z.number().int().min(1).max(1000).default(500),
  })
  .refine((b) => given(b.correlationid, b.agent, b.from, b.to), "give at least one of correlationid, agent, from, to");
const LogReplay = z
  .object({
    type: z.string().min(1).max(256).optional(),
    correlationid: z.string().min(1).max(256).optional(),
    from: ms.optional(),
    to: ms.optional(),
    agent: z.string().min(1).max(64).optional(),
    afterSeq: z.number().int().nonnegative().optional(),
    limit: z.number().int().min(1).max(1000).default(500),
    models: z.enum(["resume", "recorded", "fresh"]).default("resume").meta({
      description:
        "Model-backed agents' recorded steps: resume (reuse them, then continue live), recorded (reuse them and call no model: a missing step fails the run) or fresh (decide again)",
    }),
    rerun: z.boolean().default(false).meta({
      description:
        "Run the agent again on events it already handled (history through a changed agent): needs agent; the re-run's events are new events, with new ids",
    }),
  })
  .refine((b) => given(b.type, b.correlationid, b.from, b.to), "give at least one of type, correlationid, from, to")
  .refine((b) => !b.rerun || b.agent !== undefined, "a re-run names its agent");
const Actor = z.object({ by: z.string().min(1).max(200).default("admin").meta({ description: "Who (recorded)" }) });

const queueDown = (error: unknown) =>
  error instanceof ArchiveReadLimit
    ? error
    : new HttpError(503, "queue_unavailable", `could not enqueue: ${errorMessage(error)}`);

const admin = { security: ADMIN, middleware: requireAdmin };
const Replayed = z.object({ replayed: z.array(z.unknown()) });

export function deadLetterRoutes(registry: Registry) {
  const app = api();
  const bulk = withJsonBody(
    app,
    createRoute({
      method: "post",
      path: "/replay",
      summary: "Replay the dead letters a filter selects",
      ...admin,
      responses: { 200: ok(Replayed, "What was sent again"), ...errors(400, 401, 403, 413, 503) },
    }),
    BulkReplay,
    { required: true, description: "At least one filter" },
  );
  app.openapi(bulk, async (c) => {
    const body = await readJson(c.req.raw, BulkReplay);
    const replayed = await replayDeadLetters(c.env, registry, body).catch((e: unknown) => Promise.reject(queueDown(e)));
    return c.json({ replayed }, 200);
  });
  const one = createRoute({
    method: "post",
    path: "/{id}/replay",
    summary: "Replay one dead letter (twice replays once)",
    ...admin,
    request: { params: z.object({ id: z.coerce.number().int().positive() }) },
    responses: {
      200: ok(z.object({ id: z.number(), replayed: z.boolean(), status: z.string() }), "Replayed, or already"),
      ...errors(400, 401, 403, 404, 503),
    },
  });
  const list = createRoute({
    method: "get",
    path: "/",
    summary: "List dead letters with their error and attempts",
    ...admin,
    request: { query: DeadLetterQuery },
    responses: {
      200: ok(
        z.object({ deadLetters: z.array(DeadLetterSchema), next: z.object({ before: z.number() }).nullable() }),
        "Newest first",
      ),
      ...errors(400, 401),
    },
  });
  return app
    .openapi(list, async (c) => {
      const q = c.req.valid("query");
      const letters = await listDeadLetters(c.env.DB, q);
      const last = letters.at(-1);
      return c.json(
        { deadLetters: letters, next: letters.length === q.limit && last ? { before: last.id } : null },
        200,
      );
    })
    .openapi(one, async (c) => {
      const { id } = c.req.valid("param");
      const [letter] = await listDeadLetters(c.env.DB, { ids: [id], limit: 1 });
      if (!letter) throw new HttpError(404, "not_found", `no dead letter ${id}`);
      const replayed = await replayDeadLetters(c.env, registry, { ids: [id], limit: 1 }).catch((e: unknown) =>
        Promise.reject(queueDown(e)),
      );
      // Replaying twice replays once: the second answer says nothing was sent.
      return c.json({ id, replayed: replayed.length === 1, status: "replayed" }, 200);
    });
}

const agentPaused = async (db: D1Database, agent: string) => (await pausedNames(db)).has(agent);

const knownAgent = (registry: Registry, name: string) => {
  if (!registry.agent(name)) throw new HttpError(404, "not_found", `no agent named "${name}"`);
  return name;
};

export function replayRoutes(registry: Registry) {
  const app = api();
  const route = withJsonBody(
    app,
    createRoute({
      method: "post",
      path: "/",
      summary: "Replay events from the log (and the archive) to their subscribers, or to one agent",
      ...admin,
      responses: { 202: ok(Loose, "Sent; page on with afterSeq"), ...errors(400, 401, 403, 404, 413, 503) },
    }),
    LogReplay,
    { required: true, description: "At least one of type, correlationid, from, to" },
  );
  return app.openapi(route, async (c) => {
    const { agent, afterSeq, models, rerun, ...slice } = await readJson(c.req.raw, LogReplay);
    if (agent) knownAgent(registry, agent);
    if (rerun && agent && (await agentPaused(c.env.DB, agent))) {
      throw new HttpError(409, "agent_paused", `agent "${agent}" is paused: resume it before a re-run`);
    }
    const options = {
      ...(models === "resume" ? {} : { models }),
      ...(rerun ? { rerun: `rr_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}` } : {}),
    };
    const result = await replayLog(c.env, registry, { ...slice, afterSeq }, agent, options).catch((e: unknown) =>
      Promise.reject(queueDown(e)),
    );
    return c.json(result, 202);
  });
}

const AgentSchema = z.looseObject({
  name: z.string(),
  description: z.string(),
  subscribes: z.array(z.string()),
  emits: z.array(z.string()),
  modelBacked: z.boolean(),
  state: z.enum(["active", "paused"]),
  stateChangedAt: z.number().nullable(),
  counts: z.record(z.string(), z.number()),
});
const Name = z.object({ name: z.string().min(1).max(64) });

export function agentRoutes(registry: Registry) {
  const app = api();
  const pause = withJsonBody(
    app,
    createRoute({
      method: "post",
      path: "/{name}/pause",
      summary: "Pause an agent: its deliveries are held until it resumes",
      ...admin,
      request: { params: Name },
      responses: {
        200: ok(z.object({ agent: z.string(), state: z.string() }), "Paused"),
        ...errors(400, 401, 403, 404, 413),
      },
    }),
    Actor,
    { required: false, description: "Who pauses it" },
  );
  const resume = withJsonBody(
    app,
    createRoute({
      method: "post",
      path: "/{name}/resume",
      summary: "Resume an agent and release its held deliveries",
      ...admin,
      request: { params: Name },
      responses: {
        200: ok(
          z.object({ agent: z.string(), state: z.string(), released: z.number(), remaining: z.boolean() }),
          "Resumed",
        ),
        ...errors(400, 401, 403, 404, 413, 503),
      },
    }),
    Actor,
    { required: false, description: "Who resumes it" },
  );
  const list = createRoute({
    method: "get",
    path: "/",
    summary: "The registered agents with their state and run counts",
    ...admin,
    responses: { 200: ok(z.object({ agents: z.array(AgentSchema) }), "Every agent"), ...errors(401) },
  });
  return app
    .openapi(list, async (c) => {
      const { paused, byAgent } = await agentCounts(c.env.DB);
      const agents = registry.agents.map((a) => ({
        name: a.name,
        description: a.description,
        subscribes: [...a.subscribes],
        emits: [...a.emits],
        modelBacked: a.model !== undefined,
        state: paused.get(a.name)?.paused ? ("paused" as const) : ("active" as const),
        stateChangedAt: paused.get(a.name)?.changed_at ?? null,
        counts: byAgent.get(a.name) ?? {},
      }));
      return c.json({ agents }, 200);
    })
    .openapi(pause, async (c) => {
      const name = knownAgent(registry, c.req.valid("param").name);
      const { by } = await readJson(c.req.raw, Actor, {});
      await setPaused(c.env.DB, name, true, by, Date.now());
      return c.json({ agent: name, state: "paused" }, 200);
    })
    .openapi(resume, async (c) => {
      const name = knownAgent(registry, c.req.valid("param").name);
      const { by } = await readJson(c.req.raw, Actor, {});
      await setPaused(c.env.DB, name, false, by, Date.now());
      const { released, done } = await releaseHeldDeliveries(c.env, registry, name).catch((e: unknown) =>
        Promise.reject(queueDown(e)),
      );
      return c.json({ agent: name, state: "active", released, remaining: !done }, 200);
    });
}
