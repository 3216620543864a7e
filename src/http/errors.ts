// The one error shape every endpoint answers with: {"error":{"code","message","issues"?}}.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { ArchiveReadLimit } from "../archive/lines";
import { ConfigError } from "../config";
import { logError } from "../log";

export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly issues?: readonly z.core.$ZodIssue[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export function errorBody(code: string, message: string, issues?: readonly z.core.$ZodIssue[]) {
  return { error: { code, message, ...(issues ? { issues } : {}) } };
}

export function onError(error: Error, c: Context) {
  if (error instanceof HttpError) {
    return c.json(errorBody(error.code, error.message, error.issues), error.status, error.headers);
  }
  // Hono's own refusals (a validator's malformed body, an unsupported media type), in our shape.
  if (error instanceof HTTPException && error.status < 500) {
    const code =
      error.status === 415 ? "unsupported_media_type" : error.status === 413 ? "body_too_large" : "bad_request";
    return c.json(errorBody(code, error.message || "bad request"), error.status);
  }
  // A read that would take more archive objects than it may: refused whole, with how to narrow it.
  if (error instanceof ArchiveReadLimit) return c.json(errorBody("archive_read_limit", error.message), 422);
  // A part of agentwire whose settings are wrong answers 503 with the reasons (names and fixes only).
  if (error instanceof ConfigError) {
    const problems = error.problems.map(({ name, problem, fix }) => ({ name, problem, fix }));
    return c.json({ error: { code: "misconfigured", message: error.message, problems } }, 503);
  }
  // `npx wrangler dev` without the migrations: say how to apply them instead of "internal error".
  if (/no such table/i.test(error.message)) {
    const message =
      "the database has no tables: apply the migrations (`npm run dev` does; or `npx wrangler d1 migrations apply DB --local`)";
    return c.json(errorBody("database_not_migrated", message), 503);
  }
  logError("http.error", { method: c.req.method, path: c.req.path }, error);
  return c.json(errorBody("internal", "internal error"), 500);
}
