// /v1/sources/:name: webhooks in their senders' own formats (GitHub, Stripe, Shopify, Standard
// Webhooks, a bearer token), verified by the source's scheme and accepted like /v1/events.
import { z } from "zod";
import { log } from "../log";
import type { Registry } from "../registry";
import { receive } from "../sources/receive";
import { HttpError } from "./errors";
import { api, errors, ok } from "./openapi";
import { AcceptedSchema } from "./schemas";

const SIGNATURE_HEADERS = z.object({
  "x-hub-signature-256": z.string().optional().meta({ description: "GitHub: sha256=<hex HMAC-SHA256 of the body>" }),
  "stripe-signature": z
    .string()
    .optional()
    .meta({ description: "Stripe: t=<unix seconds>,v1=<hex HMAC-SHA256 of t.body> (several v1 allowed)" }),
  "x-shopify-hmac-sha256": z.string().optional().meta({ description: "Shopify: base64 HMAC-SHA256 of the body" }),
  "webhook-signature": z
    .string()
    .optional()
    .meta({ description: "Standard Webhooks, with webhook-id and webhook-timestamp" }),
  authorization: z.string().optional().meta({ description: "A bearer source: Bearer <token>" }),
});

export function sourceRoutes(registry: Registry) {
  const app = api();
  // The signature covers the raw bytes, so the body is documented here and read by the receiver.
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/{name}",
    summary: "Receive a source's webhook (GitHub, Stripe, Shopify, …)",
    description:
      "Verified by the source's own scheme over the raw body, then mapped to CloudEvents (source `/sources/<name>`) " +
      "that go through the same checks, log and routing as POST /v1/events. Idempotent on the sender's delivery id. " +
      "Only external catalog types are accepted. A rejected request writes nothing.",
    request: {
      params: z.object({ name: z.string().meta({ description: "The source's name, e.g. github", example: "github" }) }),
      headers: SIGNATURE_HEADERS,
      body: {
        required: true,
        content: { "application/json": { schema: z.unknown().meta({ description: "The sender's JSON payload" }) } },
      },
    },
    responses: {
      202: ok(AcceptedSchema, "Logged (a resend is accepted as a duplicate and logged once)"),
      ...errors(400, 401, 404, 409, 413, 415, 422, 429, 503),
    },
  });
  app.post("/:name", async (c) => {
    const name = c.req.param("name");
    const result = await receive(c.req.raw, c.env, registry, name);
    if (!result.ok) {
      // Why a webhook was refused, never its body or signature.
      log("ingest.rejected", {
        status: result.status,
        code: result.code,
        reason: result.message.slice(0, 300),
        sourceName: name.slice(0, 64),
        contentType: c.req.header("content-type")?.slice(0, 100),
      });
      throw new HttpError(result.status, result.code, result.message, result.issues, result.headers);
    }
    return c.json({ accepted: result.accepted.map(({ id, duplicate }) => ({ id, duplicate })) }, 202);
  });
  return app;
}
