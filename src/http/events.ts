// /v1/events: signed ingest (public) and reads of the log (admin token).
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { archivedEvent } from "../archive/read";
import { getEvent, listEvents } from "../db/events";
import { ingest } from "../ingest/ingest";
import { log } from "../log";
import type { Registry } from "../registry";
import { requireAdmin } from "./auth";
import { HttpError } from "./errors";
import { ADMIN, api, errors, limit, ok } from "./openapi";
import { AcceptedSchema, CloudEventSchema, EventDetailSchema, LoggedEventSchema } from "./schemas";

const seq = z.coerce.number().int().nonnegative();
const ListQuery = z
  .object({
    type: z.string().min(1).max(256).optional(),
    correlationid: z.string().min(1).max(256).optional(),
    before: seq.optional().meta({ description: "Older than this log position (the previous page's next.before)" }),
    after: seq.optional().meta({ description: "Newer than this log position, oldest first: a live stream's cursor" }),
    limit,
  })
  .refine((q) => q.before === undefined || q.after === undefined, "give before or after, not both");

const ListedEventSchema = LoggedEventSchema.extend({
  status: z.enum(["routed", "parked", "unrouted"]),
  duplicates: z.number().meta({ description: "Deliveries of this event suppressed as duplicates" }),
});

const list = createRoute({
  method: "get",
  path: "/",
  summary: "List logged events",
  description:
    "Newest first, paged with `before`; or, with `after`, oldest first from a position (poll for new events).",
  security: ADMIN,
  middleware: [requireAdmin] as const,
  request: { query: ListQuery },
  responses: {
    200: ok(
      z.object({
        events: z.array(ListedEventSchema),
        next: z.union([z.object({ before: z.number() }), z.object({ after: z.number() })]).nullable(),
      }),
      "A page of events",
    ),
    ...errors(400, 401),
  },
});

const get = createRoute({
  method: "get",
  path: "/{id}",
  summary: "One event: its routing, every run (model, tier, cost, calls, attempts) and violations",
  security: ADMIN,
  middleware: [requireAdmin] as const,
  request: {
    params: z.object({ id: z.string().min(1).max(256) }),
    query: z.object({ source: z.string().min(1).max(1024).optional() }),
  },
  responses: { 200: ok(EventDetailSchema, "The event, from D1 or the archive"), ...errors(400, 401, 404) },
});

const WEBHOOK_HEADERS = z.object({
  "webhook-id": z.string().max(256).meta({ description: "Standard Webhooks message id; a retry sends the same" }),
  "webhook-timestamp": z.string().meta({ description: "Unix seconds; ±WEBHOOK_TOLERANCE_SECONDS" }),
  "webhook-signature": z
    .string()
    .meta({ description: "v1,<base64 HMAC-SHA256>; several, space-separated, rotate secrets" }),
});

export function eventsRoutes(registry: Registry) {
  const app = api();
  // Ingest reads the raw body (the signature covers its bytes), so it is documented, not validated, here.
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/",
    summary: "Send events (signed CloudEvents)",
    description:
      "CloudEvents 1.0: structured, batch (up to 100) or binary mode (ce-* headers). A 202 means logged. A rejected request writes nothing.",
    request: {
      headers: WEBHOOK_HEADERS,
      body: {
        required: true,
        content: {
          "application/cloudevents+json": { schema: CloudEventSchema },
          "application/cloudevents-batch+json": { schema: z.array(CloudEventSchema).max(100) },
          "application/json": {
            schema: z.unknown().meta({ description: "Binary mode: the data; attributes in ce-* headers" }),
          },
        },
      },
    },
    responses: {
      202: ok(AcceptedSchema, "Logged (duplicates are accepted and logged once)"),
      ...errors(400, 401, 409, 413, 415, 422, 429, 503),
    },
  });
  app.post("/", async (c) => {
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
  });
  app.openapi(list, async (c) => {
    const q = c.req.valid("query");
    const events = await listEvents(c.env.DB, q);
    const last = events.at(-1);
    // A live stream polls from its last position whether or not the page was full.
    const next =
      q.after !== undefined
        ? { after: last?.seq ?? q.after }
        : events.length === q.limit && last
          ? { before: last.seq }
          : null;
    return c.json({ events, next }, 200);
  });
  app.openapi(get, async (c) => {
    // Past the hot window, the archive answers in the same shape, marked archived.
    const { id } = c.req.valid("param");
    const { source } = c.req.valid("query");
    const hot = await getEvent(c.env.DB, id, source);
    const found = hot ? { ...hot, archived: false } : await archivedEvent(c.env, id, source);
    if (!found) {
      // A refused event is never logged; its policy violation says why.
      const message = `no event with id "${id}" in the log (refused events: GET /v1/violations?eventId=${encodeURIComponent(id)})`;
      throw new HttpError(404, "not_found", message);
    }
    return c.json(found, 200);
  });
  return app;
}
