// Bearer-token auth for reads and admin actions. Tokens are compared as SHA-256 digests with
// timingSafeEqual, so neither their content nor their length leaks through timing.
import { createMiddleware } from "hono/factory";
import { settings } from "../config";
import { HttpError } from "./errors";

const encoder = new TextEncoder();
const digest = async (s: string) => crypto.subtle.digest("SHA-256", encoder.encode(s));

export async function tokensEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

export const requireAdmin = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1] || !(await tokensEqual(match[1], settings(c.env).ADMIN_TOKEN))) {
    throw new HttpError(401, "unauthorized", "send Authorization: Bearer <ADMIN_TOKEN>");
  }
  await next();
});
