// Recovery endpoints (admin token): dead letters and their replay, replay from the log, and agents
// (list, pause, resume).
import { Hono } from "hono";
import { z } from "zod";
import { agentCounts, listDeadLetters, setPaused } from "../db/recovery";
import { errorMessage } from "../log";
import type { Registry } from "../registry";
import { releaseHeldDeliveries, replayDeadLetters, replayLog } from "../runtime/replay";
import { requireAdmin } from "./auth";
import { HttpError } from "./errors";
import { jsonBody, query } from "./query";

const ms = z.coerce.number().int().nonnegative();
/** Whether any filter is given: 0 and "" are values, only undefined is "not given". */
const given = (...values: unknown[]) => values.some((v) => v !== undefined);
const DeadLetterQuery = z.object({
  status: z.enum(["dead", "replayed"]).optional(),
  agent: z.string().min(1).max(64).optional(),
  correlationid: z.string().min(1).max(256).optional(),
  from: ms.optional(),
  to: ms.optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
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
  })
  .refine((b) => given(b.type, b.correlationid, b.from, b.to), "give at least one of type, correlationid, from, to");
const Actor = z.object({ by: z.string().min(1).max(200).default("admin") });

const queueDown = (error: unknown) =>
  new HttpError(503, "queue_unavailable", `could not enqueue: ${errorMessage(error)}`);

export function deadLetterRoutes() {
  return new Hono<{ Bindings: Env }>()
    .use(requireAdmin)
    .get("/", async (c) => {
      const q = query(DeadLetterQuery, c.req.query());
      const letters = await listDeadLetters(c.env.DB, q);
      const last = letters.at(-1);
      return c.json({ deadLetters: letters, next: letters.length === q.limit && last ? { before: last.id } : null });
    })
    .post("/replay", async (c) => {
      const body = await jsonBody(c.req.raw, BulkReplay);
      const replayed = await replayDeadLetters(c.env, body).catch((e: unknown) => Promise.reject(queueDown(e)));
      return c.json({ replayed });
    })
    .post("/:id/replay", async (c) => {
      const id = z.coerce.number().int().positive().safeParse(c.req.param("id"));
      if (!id.success) throw new HttpError(400, "invalid_id", "dead letter ids are positive integers");
      const [letter] = await listDeadLetters(c.env.DB, { ids: [id.data], limit: 1 });
      if (!letter) throw new HttpError(404, "not_found", `no dead letter ${id.data}`);
      const replayed = await replayDeadLetters(c.env, { ids: [id.data], limit: 1 }).catch((e: unknown) =>
        Promise.reject(queueDown(e)),
      );
      // Replaying twice replays once: the second answer says nothing was sent.
      return c.json({ id: id.data, replayed: replayed.length === 1, status: "replayed" });
    });
}

const knownAgent = (registry: Registry, name: string) => {
  if (!registry.agent(name)) throw new HttpError(404, "not_found", `no agent named "${name}"`);
  return name;
};

export function replayRoutes(registry: Registry) {
  return new Hono<{ Bindings: Env }>().use(requireAdmin).post("/", async (c) => {
    const { agent, afterSeq, ...slice } = await jsonBody(c.req.raw, LogReplay);
    if (agent) knownAgent(registry, agent);
    const result = await replayLog(c.env, registry, { ...slice, afterSeq }, agent).catch((e: unknown) =>
      Promise.reject(queueDown(e)),
    );
    return c.json(result, 202);
  });
}

export function agentRoutes(registry: Registry) {
  return new Hono<{ Bindings: Env }>()
    .use(requireAdmin)
    .get("/", async (c) => {
      const { paused, byAgent } = await agentCounts(c.env.DB);
      return c.json({
        agents: registry.agents.map((a) => ({
          name: a.name,
          description: a.description,
          subscribes: a.subscribes,
          emits: a.emits,
          modelBacked: a.model !== undefined,
          state: paused.get(a.name)?.paused ? "paused" : "active",
          stateChangedAt: paused.get(a.name)?.changed_at ?? null,
          counts: byAgent.get(a.name) ?? {},
        })),
      });
    })
    .post("/:name/pause", async (c) => {
      const name = knownAgent(registry, c.req.param("name"));
      const { by } = await jsonBody(c.req.raw, Actor, {});
      await setPaused(c.env.DB, name, true, by, Date.now());
      return c.json({ agent: name, state: "paused" });
    })
    .post("/:name/resume", async (c) => {
      const name = knownAgent(registry, c.req.param("name"));
      const { by } = await jsonBody(c.req.raw, Actor, {});
      await setPaused(c.env.DB, name, false, by, Date.now());
      const { released, done } = await releaseHeldDeliveries(c.env, name).catch((e: unknown) =>
        Promise.reject(queueDown(e)),
      );
      return c.json({ agent: name, state: "active", released, remaining: !done });
    });
}
