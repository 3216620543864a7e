// Query strings through zod: a bad parameter is a 400 with the issues, never a silent default.
import type { z } from "zod";
import { readBody } from "../ingest/body";
import { HttpError } from "./errors";

/** Admin bodies are small filters and answers; anything bigger is refused before it is buffered. */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024;

export function query<S extends z.ZodType>(schema: S, input: Record<string, string>): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new HttpError(400, "invalid_query", "invalid query parameters", parsed.error.issues);
  return parsed.data;
}

/** A JSON request body through zod; `fallback` when the body is empty. Too large: 413; malformed or invalid: 400. */
export async function jsonBody<S extends z.ZodType>(
  request: Request,
  schema: S,
  fallback?: unknown,
): Promise<z.output<S>> {
  const body = await readBody(request, MAX_ADMIN_BODY_BYTES);
  if (!(body instanceof Uint8Array)) throw new HttpError(413, body.code, body.message);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    throw new HttpError(400, "invalid_utf8", "the body is not valid UTF-8");
  }
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
