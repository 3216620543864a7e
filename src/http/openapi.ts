// The API's routes are declared with @hono/zod-openapi: the zod schemas that validate a request are
// the ones /openapi.json documents. Bad input answers our one error shape; JSON bodies go through
// our own reader (size cap, strict UTF-8, empty-body defaults), declared for the document alongside.
import { OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import { z } from "zod";
import { HttpError } from "./errors";
import { jsonBody } from "./query";

/** A sub-app whose failed validations throw our 400 (`invalid_query`, `invalid_param`). */
export const api = () =>
  new OpenAPIHono<{ Bindings: Env }>({
    defaultHook: (result) => {
      if (!result.success) {
        const code = result.target === "param" ? "invalid_param" : `invalid_${result.target}`;
        throw new HttpError(400, code, `invalid ${result.target === "param" ? "path" : result.target} parameters`, [
          ...result.error.issues,
        ]);
      }
    },
  });

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ example: "not_found" }),
      message: z.string(),
      issues: z.array(z.unknown()).optional(),
    }),
  })
  .meta({ id: "Error" });

const ERROR_TEXT: Record<number, string> = {
  400: "Malformed request or invalid parameters",
  401: "Missing or wrong credentials",
  403: "Refused: a cookie session without its CSRF token, or from another origin",
  404: "Not found",
  409: "Conflict with the current state",
  413: "Body too large",
  415: "Unsupported content type",
  422: "Valid JSON the catalog or trust rules refuse",
  429: "Rate limited; see retry-after",
  503: "A dependency (D1, a queue) is unavailable, or the deployment is misconfigured; retry",
};

/** Error responses in our one shape, for the statuses given. */
export function errors<const S extends readonly number[]>(...statuses: S) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: ERROR_TEXT[s] ?? "Error", content: { "application/json": { schema: ErrorSchema } } },
    ]),
  ) as { [K in S[number]]: { description: string; content: { "application/json": { schema: typeof ErrorSchema } } } };
}

/** A JSON response. */
export const ok = <S extends z.ZodType>(schema: S, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** The admin endpoints' security: the admin token as a bearer, or a console session cookie. */
export const ADMIN: Record<string, string[]>[] = [{ adminToken: [] }, { consoleSession: [] }];

export function registerSecurity(app: OpenAPIHono<{ Bindings: Env }>) {
  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", {
    type: "http",
    scheme: "bearer",
    description: "ADMIN_TOKEN (a secret; `wrangler secret put ADMIN_TOKEN`)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "consoleSession", {
    type: "apiKey",
    in: "cookie",
    name: "agentwire_session",
    description: "The console's session (sign in at /console); state changes also need the x-csrf-token header",
  });
}

/**
 * A route with a JSON body: documented with the body schema, validated by `jsonBody` with that same
 * schema in the handler (zod-openapi's own body validator would skip our size cap and UTF-8 check).
 * Returns the route to pass to `app.openapi`, which then validates only its query and path.
 */
export function withJsonBody<R extends RouteConfig, S extends z.ZodType>(
  app: OpenAPIHono<{ Bindings: Env }>,
  route: R,
  schema: S,
  options: { required: boolean; description: string },
): R & { hide: true } {
  app.openAPIRegistry.registerPath({
    ...route,
    request: {
      ...route.request,
      body: {
        required: options.required,
        description: options.description,
        content: { "application/json": { schema } },
      },
    },
  });
  return { ...route, hide: true };
}

/** Reads a body declared with withJsonBody. */
export const readJson = <S extends z.ZodType>(request: Request, schema: S, fallback?: unknown) =>
  jsonBody(request, schema, fallback);

/**
 * Paging cursors, opaque to clients: base64url of a JSON tuple (the last row's position). A cursor
 * that does not decode to the tuple is a 400, never a silent first page.
 */
export function cursor<T extends z.ZodTuple>(tuple: T) {
  return z
    .string()
    .min(1)
    .max(2048)
    .transform((text, ctx): z.output<T> => {
      try {
        const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
        const json = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
          Uint8Array.from(binary, (ch) => ch.charCodeAt(0)),
        );
        return tuple.parse(JSON.parse(json));
      } catch {
        ctx.addIssue({ code: "custom", message: "not a cursor from a previous page's next.before" });
        return z.NEVER;
      }
    })
    .meta({ description: "The `next.before` of the previous page", example: "WzE3NjM3NjAwMDAwMDBd" });
}

export function encodeCursor(position: readonly (string | number)[]): string {
  const bytes = new TextEncoder().encode(JSON.stringify(position));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** The `next` of a page: a cursor when the page is full, else null. */
export const nextPage = (rows: readonly { position: readonly (string | number)[] }[], limit: number) => {
  const last = rows.at(-1);
  return rows.length === limit && last ? { before: encodeCursor(last.position) } : null;
};

export const limit = z.coerce.number().int().min(1).max(500).default(50).meta({ description: "Page size" });

export const NextSchema = z.object({ before: z.string() }).nullable();
