// A request ingest refuses: the HTTP status, a stable machine-readable code and a human message.
import type { z } from "zod";

export interface Rejection {
  ok: false;
  status: 400 | 401 | 404 | 409 | 413 | 415 | 422 | 429 | 503;
  code: string;
  message: string;
  issues?: readonly z.core.$ZodIssue[];
  headers?: Record<string, string>;
}

export const reject = (status: Rejection["status"], code: string, message: string): Rejection => ({
  ok: false,
  status,
  code,
  message,
});
