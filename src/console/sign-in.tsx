// Sign-in and sign-out. The admin token is typed once into a form and sent in a POST body (never in a
// URL); the answer is a session cookie. Signing out deletes the session's row, so the cookie is dead
// even where a copy of it survives.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { settings } from "../config";
import { tokensEqual } from "../http/auth";
import { log } from "../log";
import { type ConsoleEnv, SAFE_NEXT } from "./guard";
import { Document } from "./layout";
import { csrfMatches, currentSession, endSession, forgetSession, sameOrigin, startSession } from "./session";

const HOME = "/console/stream";
const Next = z.string().regex(SAFE_NEXT).catch(HOME);
const SignInForm = z.object({ token: z.string().max(4096).default(""), next: Next.default(HOME) });
const SignOutForm = z.object({ csrf: z.string().max(256).optional() });

function SignInPage(props: { next: string; error?: string }) {
  return (
    <Document title="Sign in">
      <body class="sign-in">
        <main>
          <h1>agentwire console</h1>
          <form method="post" action="/console/sign-in">
            <label>
              Admin token
              <input type="password" name="token" autocomplete="current-password" required autofocus />
            </label>
            <input type="hidden" name="next" value={props.next} />
            <button type="submit">Sign in</button>
          </form>
          {props.error ? (
            <p class="error" role="alert">
              {props.error}
            </p>
          ) : null}
          <p class="hint">
            The token is the Worker's ADMIN_TOKEN (locally, the one in .dev.vars). It is sent once, in this form's body;
            the browser then holds a session cookie for 12 hours, until you sign out, or until the token is rotated.
          </p>
        </main>
      </body>
    </Document>
  );
}

const ip = (header: string | undefined) => header ?? null;
/** Form bodies are a token and a path: anything bigger is refused before it is read. */
const small = bodyLimit({ maxSize: 8 * 1024, onError: (c) => c.text("request body too large", 413) });

export function signInRoutes() {
  return new Hono<ConsoleEnv>()
    .get("/sign-in", async (c) => {
      const next = Next.parse(c.req.query("next"));
      if (await currentSession(c)) return c.redirect(next, 303);
      return c.html(<SignInPage next={next} />);
    })
    .post("/sign-in", small, async (c) => {
      // Login CSRF (a forged form signing the browser in elsewhere) needs the token too; refused anyway.
      if (!sameOrigin(c.req.raw)) return c.html(<SignInPage next={HOME} error="Sign in from this page." />, 403);
      // Every attempt counts, per client address, before the token is even compared.
      const client = c.req.header("cf-connecting-ip") ?? "unknown";
      if (!(await c.env.SIGN_IN_RATE_LIMITER.limit({ key: client })).success) {
        log("console.session", { status: "rate_limited", ip: ip(client) });
        c.header("retry-after", "60");
        return c.html(<SignInPage next={HOME} error="Too many sign-in attempts; wait a minute." />, 429);
      }
      const form = SignInForm.safeParse(await c.req.parseBody());
      const next = form.success ? form.data.next : HOME;
      const token = form.success ? form.data.token : "";
      if (token === "" || !(await tokensEqual(token, settings(c.env, "admin").ADMIN_TOKEN))) {
        log("console.session", { status: "refused", ip: ip(c.req.header("cf-connecting-ip")) });
        return c.html(<SignInPage next={next} error="That is not the admin token." />, 401);
      }
      // A previous session of this browser ends here rather than lingering until it expires.
      await forgetSession(c);
      await startSession(c);
      log("console.session", { status: "signed_in", ip: ip(c.req.header("cf-connecting-ip")) });
      return c.redirect(next, 303);
    })
    .post("/sign-out", small, async (c) => {
      const session = await currentSession(c);
      if (session) {
        const form = SignOutForm.safeParse(await c.req.parseBody());
        if (!sameOrigin(c.req.raw) || !csrfMatches(form.success ? form.data.csrf : undefined, session)) {
          return c.text("sign out from the console's own button", 403);
        }
        log("console.session", { status: "signed_out", ip: ip(c.req.header("cf-connecting-ip")) });
      }
      await endSession(c);
      return c.redirect("/console/sign-in", 303);
    });
}
