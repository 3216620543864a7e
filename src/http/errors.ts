// The one error shape every endpoint answers with: {"error":{"code","message","issues"?}}.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
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
  logError("http.error", { method: c.req.method, path: c.req.path }, error);
  return c.json(errorBody("internal", "internal error"), 500);
}
