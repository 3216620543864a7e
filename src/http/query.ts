// Query strings through zod: a bad parameter is a 400 with the issues, never a silent default.
import type { z } from "zod";
import { HttpError } from "./errors";

export function query<S extends z.ZodType>(schema: S, input: Record<string, string>): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new HttpError(400, "invalid_query", "invalid query parameters", parsed.error.issues);
  return parsed.data;
}

/** A JSON request body through zod; `fallback` when the body is empty. Malformed or invalid: 400. */
export async function jsonBody<S extends z.ZodType>(
  request: Request,
  schema: S,
  fallback?: unknown,
): Promise<z.output<S>> {
  const text = await request.text();
  let raw: unknown = fallback;
  if (text.trim() !== "" || fallback === undefined) {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new HttpError(400, "malformed_json", "the body is not valid JSON");
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new HttpError(400, "invalid_body", "invalid request body", parsed.error.issues);
  return parsed.data;
}
