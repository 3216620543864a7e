// The console's response headers: a strict Content-Security-Policy (scripts and styles from our own
// static files only, no inline code, no framing) and no caching of pages that carry a CSRF token.
import { createMiddleware } from "hono/factory";
import { secureHeaders } from "hono/secure-headers";

export const consoleHeaders = [
  secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'"],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      // Trusted Types with no policy: the browser itself refuses innerHTML and every other HTML sink, so
      // data can only reach the page as text (the client scripts use textContent and createElement).
      requireTrustedTypesFor: ["'script'"],
      trustedTypes: ["'none'"],
    },
    xFrameOptions: "DENY",
    referrerPolicy: "same-origin",
  }),
  createMiddleware(async (c, next) => {
    await next();
    c.header("Cache-Control", "no-store");
  }),
] as const;
