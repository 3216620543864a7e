// The event catalog as data (admin token): each type's publishers, JSON Schema and an example; and
// test events, signed server-side with the webhook secret and sent through the same ingest as any
// webhook, so the console can "send a test event" without ever holding the secret.
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { matchesPattern } from "../bus/subscriptions";
import { settings } from "../config";
import { ingest } from "../ingest/ingest";
import { sign } from "../ingest/signature";
import type { Registry } from "../registry";
import { requireAdmin } from "./auth";
import { HttpError } from "./errors";
import { ADMIN, api, errors, ok, readJson, withJsonBody } from "./openapi";
import { AcceptedSchema } from "./schemas";

const TypeSchema = z.looseObject({
  type: z.string(),
  publishers: z.enum(["external", "internal"]),
  schema: z.unknown().meta({ description: "JSON Schema (draft 2020-12) of `data`" }),
  example: z.unknown().meta({ description: "A `data` that validates: the catalog's, or one derived from the schema" }),
  subscribers: z.array(z.string()).meta({ description: "Agents whose subscriptions match the type" }),
  emitters: z.array(z.string()).meta({ description: "Agents that may publish it" }),
});

const TestEvent = z.object({
  type: z.string().min(1).max(256),
  data: z.unknown().optional().meta({ description: "Default: the type's example" }),
  correlationid: z.string().min(1).max(256).optional(),
  subject: z.string().min(1).max(256).optional(),
});

/** The source of console-made events: outside the reserved namespace, so trusted as any sender. */
export const TEST_SOURCE = "/console/test-events";

export function catalogRoutes(registry: Registry) {
  const app = api();
  const list = createRoute({
    method: "get",
    path: "/",
    summary: "The event catalog: every type, who may publish it, its schema and an example",
    security: ADMIN,
    middleware: requireAdmin,
    responses: { 200: ok(z.object({ types: z.array(TypeSchema) }), "Every type"), ...errors(401) },
  });
  return app.openapi(list, (c) => c.json({ types: catalogTypes(registry) }, 200));
}

export function testEventRoutes(registry: Registry) {
  const app = api();
  const send = withJsonBody(
    app,
    createRoute({
      method: "post",
      path: "/",
      summary: "Send a test event of an external type, signed server-side, through the normal ingest",
      security: ADMIN,
      middleware: requireAdmin,
      responses: { 202: ok(AcceptedSchema, "Logged"), ...errors(400, 401, 403, 413, 422, 429, 503) },
    }),
    TestEvent,
    { required: true, description: "The type and its data" },
  );
  return app.openapi(send, async (c) => {
    const body = await readJson(c.req.raw, TestEvent);
    const entry = Object.hasOwn(registry.catalog, body.type) ? registry.catalog[body.type] : undefined;
    const data = body.data ?? entry?.example ?? (entry ? exampleOf(z.toJSONSchema(entry.schema)) : undefined);
    const event = {
      specversion: "1.0",
      id: crypto.randomUUID(),
      source: TEST_SOURCE,
      type: body.type,
      time: new Date().toISOString(),
      datacontenttype: "application/json",
      ...(body.correlationid ? { correlationid: body.correlationid } : {}),
      ...(body.subject ? { subject: body.subject } : {}),
      data,
    };
    const payload = JSON.stringify(event);
    const webhookId = `msg_console_${event.id}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const { WEBHOOK_SECRET } = settings(c.env, "ingest");
    const signature = await sign(WEBHOOK_SECRET, webhookId, timestamp, payload);
    const request = new Request(new URL("/v1/events", c.req.url), {
      method: "POST",
      headers: {
        "content-type": "application/cloudevents+json",
        "webhook-id": webhookId,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signature,
      },
      body: payload,
    });
    const result = await ingest(request, c.env, registry);
    if (!result.ok) throw new HttpError(result.status, result.code, result.message, result.issues, result.headers);
    return c.json({ accepted: result.accepted.map(({ id, duplicate }) => ({ id, duplicate })) }, 202);
  });
}

function catalogTypes(registry: Registry) {
  return Object.entries(registry.catalog).map(([type, entry]) => {
    const schema = z.toJSONSchema(entry.schema, { unrepresentable: "any", io: "input" });
    return {
      type,
      publishers: entry.publishers,
      schema,
      example: entry.example ?? exampleOf(schema),
      subscribers: registry.agents.filter((a) => a.subscribes.some((p) => matchesPattern(p, type))).map((a) => a.name),
      emitters: registry.agents.filter((a) => a.emits.includes(type)).map((a) => a.name),
    };
  });
}

/** A plausible value for a JSON Schema: enums' first value, bounds respected, one item per array. */
export function exampleOf(schema: unknown, depth = 0): unknown {
  if (typeof schema !== "object" || schema === null || depth > 8) return null;
  const s = schema as Record<string, unknown>;
  if ("const" in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  if (Array.isArray(s.anyOf)) return exampleOf(s.anyOf[0], depth + 1);
  if (Array.isArray(s.oneOf)) return exampleOf(s.oneOf[0], depth + 1);
  const type: unknown = Array.isArray(s.type) ? (s.type as unknown[])[0] : s.type;
  switch (type) {
    case "object": {
      const props = (s.properties ?? {}) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, exampleOf(v, depth + 1)]));
    }
    case "array":
      return [exampleOf(s.items, depth + 1)];
    case "integer":
    case "number":
      return typeof s.minimum === "number"
        ? s.minimum
        : typeof s.exclusiveMinimum === "number"
          ? s.exclusiveMinimum + 1
          : 0;
    case "boolean":
      return false;
    case "string":
      if (s.format === "email") return "someone@example.com";
      if (s.format === "date-time") return new Date(0).toISOString();
      if (s.format === "ipv4") return "192.0.2.1";
      return "x".repeat(typeof s.minLength === "number" ? Math.max(1, s.minLength) : 7).slice(0, 64);
    default:
      return null;
  }
}
