// Console pages need a session: without one the browser is sent to the sign-in page, which brings it
// back here afterwards.
import { createMiddleware } from "hono/factory";
import { currentSession, type Session } from "./session";

export type ConsoleEnv = { Bindings: Env; Variables: { session: Session } };

/** Where sign-in may send the browser afterwards: a console path on this origin (no dot segments), nothing else. */
export const SAFE_NEXT = /^\/console(?!.*(?:\.\.|%2[eE]))(?:\/[A-Za-z0-9\-._~%/]*)?(?:\?[A-Za-z0-9\-._~%&=+]*)?$/;

export const requireSession = createMiddleware<ConsoleEnv>(async (c, next) => {
  const session = await currentSession(c);
  if (!session) {
    const url = new URL(c.req.url);
    const back = url.pathname + url.search;
    const query = SAFE_NEXT.test(back) ? `?next=${encodeURIComponent(back)}` : "";
    return c.redirect(`/console/sign-in${query}`, 303);
  }
  c.set("session", session);
  await next();
});
