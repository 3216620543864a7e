// Console sign-in: the admin token once, in a form body; then an HttpOnly, SameSite=Strict session
// cookie that opens the same /v1 API as the token, changes nothing without its CSRF token from our own
// origin, and dies on sign-out, on expiry and when ADMIN_TOKEN is rotated.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN, call } from "./support/helpers";
import worker from "./support/worker";
import {
  asBrowser,
  BASE,
  type Browser,
  cookiePair,
  SAME_ORIGIN,
  signedInBrowser,
  signIn,
  TOKEN,
} from "./console-support";

afterEach(() => vi.restoreAllMocks());

const agentState = async (name: string) => {
  const res = await call(new Request(`${BASE}/v1/agents`, { headers: ADMIN }));
  const { agents } = await res.json<{ agents: { name: string; state: string }[] }>();
  return agents.find((a) => a.name === name)?.state;
};
const pause = (b: Browser, headers: Record<string, string>) =>
  asBrowser(b, "POST", "/v1/agents/shipping-quote/pause", headers, { by: "console test" });
const resume = (b: Browser) =>
  asBrowser(b, "POST", "/v1/agents/shipping-quote/resume", { ...SAME_ORIGIN, "x-csrf-token": b.csrf }, {});

describe("sign-in", () => {
  it("refuses a wrong token with 401 and sets no cookie", async () => {
    const res = await signIn("not-the-token");
    expect(res.status).toBe(401);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await res.text()).toContain("That is not the admin token.");
  });

  it("answers the right token with a session cookie: __Host-, HttpOnly, Secure, SameSite=Strict, an expiry", async () => {
    const res = await signIn(TOKEN);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/console/stream");
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^__Host-agentwire_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).toMatch(/; Max-Age=43200/);
    expect(cookie).not.toMatch(/Domain=/i);
    // D1 keeps a keyed hash of the cookie, never the cookie itself.
    const secret = cookiePair(cookie).split("=")[1] ?? "";
    const { results } = await env.DB.prepare("SELECT id FROM console_sessions").all<{ id: string }>();
    expect(results.length).toBeGreaterThan(0);
    expect(results.map((r) => r.id)).not.toContain(secret);
  });

  it("refuses a sign-in posted from another site, and a token in the URL is never read", async () => {
    const forged = await signIn(TOKEN, { origin: "https://evil.example", "sec-fetch-site": "cross-site" });
    expect(forged.status).toBe(403);
    expect(forged.headers.get("set-cookie")).toBeNull();
    const inUrl = await call(
      new Request(`${BASE}/console/sign-in?token=${TOKEN}`, {
        method: "POST",
        headers: SAME_ORIGIN,
        redirect: "manual",
      }),
    );
    expect(inUrl.status).toBe(401);
    expect(inUrl.headers.get("set-cookie")).toBeNull();
  });

  it("takes ten attempts a minute from one address, then answers 429 without comparing the token", async () => {
    const from = { ...SAME_ORIGIN, "cf-connecting-ip": "203.0.113.77" };
    for (let i = 0; i < 10; i++) expect((await signIn("guess-" + i, from)).status).toBe(401);
    const limited = await signIn(TOKEN, from);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(limited.headers.get("set-cookie")).toBeNull();
    expect(await limited.text()).toContain("Too many sign-in attempts");
    // Another address is not held back by this one's guesses.
    expect((await signIn(TOKEN, { ...SAME_ORIGIN, "cf-connecting-ip": "203.0.113.78" })).status).toBe(303);
  });

  it("sends the browser back only to a console path", async () => {
    expect((await signIn(TOKEN, SAME_ORIGIN, "/console/workflows?status=running")).headers.get("location")).toBe(
      "/console/workflows?status=running",
    );
    for (const next of [
      "https://evil.example/",
      "//evil.example/console",
      "/v1/events",
      "/console\\@evil.example",
      "/console/../v1/events",
    ]) {
      expect((await signIn(TOKEN, SAME_ORIGIN, next)).headers.get("location")).toBe("/console/stream");
    }
  });
});

describe("a session cookie on /v1", () => {
  it("reads what the admin token reads", async () => {
    const b = await signedInBrowser();
    expect(b.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const path of ["/v1/events?limit=1", "/v1/workflows?limit=1", "/v1/dead-letters?limit=1", "/v1/agents"]) {
      expect((await asBrowser(b, "GET", path)).status, path).toBe(200);
    }
    expect((await call(new Request(`${BASE}/v1/events?limit=1`))).status).toBe(401);
  });

  it("changes nothing without the CSRF token (403), and works with it", async () => {
    const b = await signedInBrowser();
    const bare = await pause(b, SAME_ORIGIN);
    expect(bare.status).toBe(403);
    expect(await bare.json()).toMatchObject({ error: { code: "csrf_token" } });
    const wrong = await pause(b, { ...SAME_ORIGIN, "x-csrf-token": "A".repeat(43) });
    expect(wrong.status).toBe(403);
    expect(await agentState("shipping-quote")).toBe("active");

    const lines: unknown[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(line));
    const ok = await pause(b, { ...SAME_ORIGIN, "x-csrf-token": b.csrf });
    expect(ok.status).toBe(200);
    expect(await agentState("shipping-quote")).toBe("paused");
    expect(lines).toContainEqual(expect.objectContaining({ msg: "admin.action", by: "console session", status: 200 }));
    expect((await resume(b)).status).toBe(200);
    expect(await agentState("shipping-quote")).toBe("active");
  });

  it("refuses a change from another origin even with the CSRF token, and one that says nothing of its origin", async () => {
    const b = await signedInBrowser();
    const attempts: Record<string, string>[] = [
      { origin: "https://evil.example", "x-csrf-token": b.csrf },
      { origin: BASE, "sec-fetch-site": "same-site", "x-csrf-token": b.csrf },
      { "sec-fetch-site": "cross-site", "x-csrf-token": b.csrf },
      { "x-csrf-token": b.csrf },
    ];
    for (const headers of attempts) {
      const res = await pause(b, headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(await res.json()).toMatchObject({ error: { code: "cross_origin" } });
    }
    expect(await agentState("shipping-quote")).toBe("active");
  });

  it("does not take another session's CSRF token", async () => {
    const [a, b] = [await signedInBrowser(), await signedInBrowser()];
    expect((await pause(a, { ...SAME_ORIGIN, "x-csrf-token": b.csrf })).status).toBe(403);
    expect(await agentState("shipping-quote")).toBe("active");
  });

  it("leaves the bearer token as it was: no CSRF for curl, and a wrong token is not saved by a cookie", async () => {
    const lines: unknown[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(line));
    const bearer = await call(
      new Request(`${BASE}/v1/agents/shipping-quote/resume`, { method: "POST", headers: ADMIN, body: "{}" }),
    );
    expect(bearer.status).toBe(200);
    expect(lines).toContainEqual(expect.objectContaining({ msg: "admin.action", by: "admin token" }));
    const b = await signedInBrowser();
    const mixed = await asBrowser(b, "GET", "/v1/events?limit=1", { authorization: "Bearer wrong-token" });
    expect(mixed.status).toBe(401);
  });
});

describe("the end of a session", () => {
  it("signing out deletes it server-side: the old cookie opens nothing", async () => {
    const b = await signedInBrowser();
    const out = await call(
      new Request(`${BASE}/console/sign-out`, {
        method: "POST",
        redirect: "manual",
        headers: { cookie: b.cookie, "content-type": "application/x-www-form-urlencoded", ...SAME_ORIGIN },
        body: new URLSearchParams({ csrf: b.csrf }),
      }),
    );
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("/console/sign-in");
    expect(out.headers.get("set-cookie")).toMatch(/^__Host-agentwire_session=; Max-Age=0/);
    // A copy of the cookie kept elsewhere is dead too.
    expect((await asBrowser(b, "GET", "/v1/events?limit=1")).status).toBe(401);
    expect((await asBrowser(b, "GET", "/console/stream")).status).toBe(303);
  });

  it("a forged sign-out (no CSRF token) ends nothing", async () => {
    const b = await signedInBrowser();
    const forged = await call(
      new Request(`${BASE}/console/sign-out`, {
        method: "POST",
        redirect: "manual",
        headers: {
          cookie: b.cookie,
          "content-type": "application/x-www-form-urlencoded",
          origin: "https://evil.example",
        },
        body: "",
      }),
    );
    expect(forged.status).toBe(403);
    expect((await asBrowser(b, "GET", "/v1/events?limit=1")).status).toBe(200);
  });

  it("an expired session opens nothing", async () => {
    const b = await signedInBrowser();
    await env.DB.prepare("UPDATE console_sessions SET expires_at = ?")
      .bind(Date.now() - 1)
      .run();
    expect((await asBrowser(b, "GET", "/v1/events?limit=1")).status).toBe(401);
  });

  it("rotating ADMIN_TOKEN ends every session", async () => {
    const b = await signedInBrowser();
    const rotated = { ...env, ADMIN_TOKEN: "rotated-admin-token" };
    const res = await worker.fetch(
      new Request(`${BASE}/v1/events?limit=1`, { headers: { cookie: b.cookie } }),
      rotated,
      createExecutionContext(),
    );
    expect(res.status).toBe(401);
    // Under the old token it was valid all along: only the rotation ended it.
    expect((await asBrowser(b, "GET", "/v1/events?limit=1")).status).toBe(200);
  });
});
