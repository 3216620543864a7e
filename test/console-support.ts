// Helpers for the console tests: sign in through the form, and call the API as a signed-in browser
// would (the session cookie, our Origin, and the CSRF token the pages carry).
import { call } from "./support/helpers";

export const BASE = "https://agentwire.test";
export const TOKEN = "test-admin-token";
/** What a browser sends with a request made by one of our own pages. */
export const SAME_ORIGIN = { origin: BASE, "sec-fetch-site": "same-origin" };

export interface Browser {
  cookie: string;
  csrf: string;
}

let clients = 0;
/** Each sign-in from its own address unless the test names one: the per-address rate limit is real. */
const nextClient = () => `198.51.100.${(clients++ % 250) + 1}`;

export function signIn(token: string, headers: Record<string, string> = SAME_ORIGIN, next?: string) {
  const body = new URLSearchParams({ token, ...(next === undefined ? {} : { next }) });
  return call(
    new Request(`${BASE}/console/sign-in`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": nextClient(), ...headers },
      body,
    }),
  );
}

/** The `name=value` part of a Set-Cookie header. */
export const cookiePair = (setCookie: string | null) => (setCookie ?? "").split(";")[0] ?? "";

export const csrfOf = (html: string) => /<meta name="csrf-token" content="([^"]+)"/.exec(html)?.[1] ?? "";

/** Signs in and reads the CSRF token from a console page, as the browser's scripts do. */
export async function signedInBrowser(): Promise<Browser> {
  const res = await signIn(TOKEN);
  if (res.status !== 303) throw new Error(`sign-in answered ${res.status}`);
  const cookie = cookiePair(res.headers.get("set-cookie"));
  const page = await call(new Request(`${BASE}/console/stream`, { headers: { cookie }, redirect: "manual" }));
  return { cookie, csrf: csrfOf(await page.text()) };
}

/** A request as the browser sends it: the cookie, plus whatever headers the test gives. */
export function asBrowser(
  b: Browser,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
) {
  return call(
    new Request(`${BASE}${path}`, {
      method,
      redirect: "manual",
      headers: {
        cookie: b.cookie,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? null : JSON.stringify(body),
    }),
  );
}
