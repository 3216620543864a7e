// Bearer-token auth for reads and admin actions. Tokens are compared as SHA-256 digests with
// timingSafeEqual, so neither their content nor their length leaks through timing.
import { log } from "../log";
import { createMiddleware } from "hono/factory";
import { settings } from "../config";
import { HttpError } from "./errors";

const encoder = new TextEncoder();
const digest = async (s: string) => crypto.subtle.digest("SHA-256", encoder.encode(s));

export async function tokensEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

/** Whether an Authorization header carries the admin token. */
export async function isAdmin(header: string | undefined, env: Env): Promise<boolean> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1] !== undefined && (await tokensEqual(match[1], settings(env, "admin").ADMIN_TOKEN));
}

export const requireAdmin = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  if (!(await isAdmin(c.req.header("authorization"), c.env))) {
    throw new HttpError(401, "unauthorized", "send Authorization: Bearer <ADMIN_TOKEN>");
  }
  await next();
  // Every state-changing admin action leaves a line: what, the answer, and from where (the token
  // is the only identity an admin has; approvals also name their approver in the workflow's line).
  if (c.req.method !== "GET") {
    log("admin.action", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      by: "admin token",
      ip: c.req.header("cf-connecting-ip") ?? null,
    });
  }
});
