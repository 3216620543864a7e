// Console sessions: the cookie holds a random secret; D1 keeps only its HMAC keyed with ADMIN_TOKEN, so
// rotating the token ends every session; the CSRF token is another HMAC of the same secret, bound to
// the session and stored nowhere.
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { CookieOptions } from "hono/utils/cookie";
import { settings } from "../config";
import { deleteSession, findSession, insertSession } from "../db/sessions";

/** How long a sign-in lasts, used or not: a working day, then the token is asked for again. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** Over https it is `__Host-agentwire_session`: Secure, Path=/, no Domain, so no subdomain can plant one. */
export const SESSION_COOKIE = "agentwire_session";

export interface Session {
  /** The key of its D1 row. */
  id: string;
  /** What the console sends back as `x-csrf-token` on every state-changing request. */
  csrf: string;
  expiresAt: number;
}

/** Any console or API context: a session needs only the env, the request and its cookies. */
type WithEnv = { Bindings: Env };
const encoder = new TextEncoder();
const SECRET_SHAPE = /^[A-Za-z0-9_-]{43}$/;

const base64url = (bytes: ArrayBuffer | Uint8Array) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

/** The session's row key and CSRF token, both keyed with the current ADMIN_TOKEN. */
async function keysOf(env: Env, secret: string): Promise<{ id: string; csrf: string }> {
  const token = settings(env, "admin").ADMIN_TOKEN;
  const key = await crypto.subtle.importKey("raw", encoder.encode(token), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = async (label: string) =>
    base64url(await crypto.subtle.sign("HMAC", key, encoder.encode(`${label}\0${secret}`)));
  const [id, csrf] = await Promise.all([mac("agentwire console session"), mac("agentwire console csrf")]);
  return { id, csrf };
}

const isHttps = (c: Context) => new URL(c.req.url).protocol === "https:";
/** Secure and `__Host-` over https; plain http (wrangler dev on 127.0.0.1) cannot keep a Secure cookie. */
const cookieOptions = (c: Context): CookieOptions => ({
  path: "/",
  httpOnly: true,
  sameSite: "Strict",
  ...(isHttps(c) ? { secure: true, prefix: "host" as const } : {}),
});

function readSecret(c: Context): string | undefined {
  const value = isHttps(c) ? getCookie(c, SESSION_COOKIE, "host") : getCookie(c, SESSION_COOKIE);
  return value !== undefined && SECRET_SHAPE.test(value) ? value : undefined;
}

/** Signs the browser in: a new row, and the cookie that names it. */
export async function startSession<E extends WithEnv>(c: Context<E>, now = Date.now()): Promise<Session> {
  const secret = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const { id, csrf } = await keysOf(c.env, secret);
  const expiresAt = now + SESSION_TTL_MS;
  await insertSession(c.env.DB, { id, createdAt: now, expiresAt });
  setCookie(c, SESSION_COOKIE, secret, { ...cookieOptions(c), maxAge: SESSION_TTL_MS / 1000 });
  return { id, csrf, expiresAt };
}

/** The request's session: its cookie names a row that exists, has not expired, and was keyed with today's token. */
export async function currentSession<E extends WithEnv>(c: Context<E>, now = Date.now()): Promise<Session | null> {
  const secret = readSecret(c);
  if (secret === undefined) return null;
  const { id, csrf } = await keysOf(c.env, secret);
  const row = await findSession(c.env.DB, id, now);
  return row ? { id, csrf, expiresAt: row.expiresAt } : null;
}

/** Deletes the request's session row, if any: its cookie opens nothing afterwards, even a copy of it. */
export async function forgetSession<E extends WithEnv>(c: Context<E>): Promise<void> {
  const secret = readSecret(c);
  if (secret !== undefined) await deleteSession(c.env.DB, (await keysOf(c.env, secret)).id);
}

/** Signs the browser out: the row goes, and so does the cookie. */
export async function endSession<E extends WithEnv>(c: Context<E>): Promise<void> {
  await forgetSession(c);
  deleteCookie(c, SESSION_COOKIE, cookieOptions(c));
}

/** Whether `given` is the session's CSRF token, compared in constant time (its length is fixed and public). */
export function csrfMatches(given: string | undefined | null, session: Session): boolean {
  if (typeof given !== "string" || given.length !== session.csrf.length) return false;
  return crypto.subtle.timingSafeEqual(encoder.encode(given), encoder.encode(session.csrf));
}

/**
 * Whether a browser says the request comes from a page of this origin: Origin, when sent, is ours, and
 * Sec-Fetch-Site, when sent, is same-origin (same-site would let a sibling subdomain in). A request with
 * neither is refused: every current browser sends Origin on a POST.
 */
export function sameOrigin(request: Request): boolean {
  const origin = request.headers.get("origin");
  const site = request.headers.get("sec-fetch-site");
  if (origin === null && site === null) return false;
  if (origin !== null && origin !== new URL(request.url).origin) return false;
  return site === null || site === "same-origin";
}
