// Admin auth for reads and admin actions: `Authorization: Bearer <ADMIN_TOKEN>` (curl, scripts) or a
// console session cookie (a browser), which must also show its CSRF token and come from our own origin
// to change anything. Tokens are compared as SHA-256 digests with timingSafeEqual, so neither their
// content nor their length leaks through timing.
import { log } from "../log";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { settings } from "../config";
import { csrfMatches, currentSession, sameOrigin } from "../console/session";
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

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Who is asking, or a 401/403. An Authorization header is judged alone: a wrong token never falls back to a cookie. */
async function caller(c: Context<{ Bindings: Env }>): Promise<"admin token" | "console session"> {
  // Misconfigured, every caller hears so (503 naming the setting), signed in or not.
  settings(c.env, "admin");
  const header = c.req.header("authorization");
  if (header !== undefined) {
    if (await isAdmin(header, c.env)) return "admin token";
    throw new HttpError(401, "unauthorized", "send Authorization: Bearer <ADMIN_TOKEN>");
  }
  const session = await currentSession(c);
  if (!session) {
    throw new HttpError(401, "unauthorized", "send Authorization: Bearer <ADMIN_TOKEN>, or sign in at /console");
  }
  // A cookie rides along on requests other sites make the browser send: a change needs proof it is ours.
  if (!SAFE_METHODS.has(c.req.method)) {
    if (!sameOrigin(c.req.raw)) {
      throw new HttpError(403, "cross_origin", "a console session may change things only from its own origin");
    }
    if (!csrfMatches(c.req.header("x-csrf-token"), session)) {
      throw new HttpError(403, "csrf_token", "send the console session's CSRF token as x-csrf-token");
    }
  }
  return "console session";
}

export const requireAdmin = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const by = await caller(c);
  await next();
  // Every state-changing admin action leaves a line: what, the answer, and from where (the token or a
  // session opened with it is the only identity an admin has; approvals also name their approver in
  // the workflow's line).
  if (c.req.method !== "GET") {
    log("admin.action", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      by,
      ip: c.req.header("cf-connecting-ip") ?? null,
    });
  }
});
