// /v1/events: signed ingest (public) and reads of the log (admin token).
import { Hono } from "hono";
import { z } from "zod";
import { archivedEvent } from "../archive/read";
import { getEvent, listEvents } from "../db/events";
import { ingest } from "../ingest/ingest";
import { log } from "../log";
import type { Registry } from "../registry";
import { requireAdmin } from "./auth";
import { HttpError } from "./errors";
import { query } from "./query";

const ListQuery = z.object({
  type: z.string().min(1).max(256).optional(),
  correlationid: z.string().min(1).max(256).optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export function eventsRoutes(registry: Registry) {
  return new Hono<{ Bindings: Env }>()
    .post("/", async (c) => {
      const result = await ingest(c.req.raw, c.env, registry);
      if (!result.ok) {
        // Why a webhook was refused, never its body or signature.
        log("ingest.rejected", {
          status: result.status,
          code: result.code,
          reason: result.message.slice(0, 300),
          webhookId: c.req.header("webhook-id")?.slice(0, 128),
          contentType: c.req.header("content-type")?.slice(0, 100),
        });
        throw new HttpError(result.status, result.code, result.message, result.issues, result.headers);
      }
      return c.json({ accepted: result.accepted.map(({ id, duplicate }) => ({ id, duplicate })) }, 202);
    })
    .get("/", requireAdmin, async (c) => {
      const q = query(ListQuery, c.req.query());
      const events = await listEvents(c.env.DB, q);
      const last = events.at(-1);
      return c.json({ events, next: events.length === q.limit && last ? { before: last.seq } : null });
    })
    .get("/:id", requireAdmin, async (c) => {
      // Past the hot window, the archive answers in the same shape, marked archived.
      const [id, source] = [c.req.param("id"), c.req.query("source")];
      const hot = await getEvent(c.env.DB, id, source);
      const found = hot ? { ...hot, archived: false } : await archivedEvent(c.env, id, source);
      if (!found) {
        // A refused event is never logged; its policy violation says why.
        const message = `no event with id "${id}" in the log (refused events: GET /v1/violations?eventId=${encodeURIComponent(id)})`;
        throw new HttpError(404, "not_found", message);
      }
      return c.json(found);
    });
}
