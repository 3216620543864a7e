// Query strings through zod: a bad parameter is a 400 with the issues, never a silent default.
import type { z } from "zod";
import { HttpError } from "./errors";

export function query<S extends z.ZodType>(schema: S, input: Record<string, string>): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new HttpError(400, "invalid_query", "invalid query parameters", parsed.error.issues);
  return parsed.data;
}
