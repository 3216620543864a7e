// Console pages: a sign-in first, then frames whose scripts come from our own static files only (a
// strict CSP, no inline code), with everything the URL brings escaped.
import { describe, expect, it } from "vitest";
import { call } from "./support/helpers";
import { BASE, type Browser, signedInBrowser } from "./console-support";

const get = (path: string, b?: Browser) =>
  call(new Request(`${BASE}${path}`, { headers: b ? { cookie: b.cookie } : {}, redirect: "manual" }));

const PAGES = [
  "/console/stream",
  "/console/workflows",
  "/console/workflows/ord-1",
  "/console/events/evt-1",
  "/console/events/evt-1?source=%2Fshop%2Fcheckout",
  "/console/dead-letters",
  "/console/topology",
  "/console/costs",
  "/console/anomalies",
  "/console/api",
];

describe("signed out", () => {
  it("every console page sends the browser to sign in, and back afterwards", async () => {
    for (const path of ["/console", ...PAGES]) {
      const res = await get(path);
      expect(res.status, path).toBe(303);
      expect(res.headers.get("location"), path).toBe(`/console/sign-in?next=${encodeURIComponent(path)}`);
    }
    const withQuery = await get("/console/stream?type=order.placed");
    expect(withQuery.headers.get("location")).toBe("/console/sign-in?next=%2Fconsole%2Fstream%3Ftype%3Dorder.placed");
  });

  it("the sign-in page is a form posting the token in its body, under the same CSP", async () => {
    const res = await get("/console/sign-in?next=%2Fconsole%2Fdead-letters");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<form method="post" action="/console/sign-in">');
    expect(html).toContain('<input type="password" name="token"');
    expect(html).toContain('<input type="hidden" name="next" value="/console/dead-letters"/>');
    expect(html).not.toContain("csrf-token");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
  });
});

describe("signed in", () => {
  it("every page answers with a strict CSP, no framing, no caching, and no inline script or style", async () => {
    const b = await signedInBrowser();
    for (const path of PAGES) {
      const res = await get(path, b);
      expect(res.status, path).toBe(200);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("require-trusted-types-for 'script'");
      expect(csp).not.toContain("unsafe");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("cache-control")).toBe("no-store");
      const html = await res.text();
      expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
      expect(html, path).not.toMatch(/<script(?![^>]*\ssrc="\/console\/assets\/[a-z-]+\.js")/);
      expect(html, path).not.toMatch(/\sstyle=|\son[a-z]+=/);
      expect(html).toContain(`<meta name="csrf-token" content="${b.csrf}"/>`);
      for (const section of ["Stream", "Workflows", "Topology", "Dead letters", "Costs", "Anomalies", "API"]) {
        expect(html, `${path} nav`).toContain(`>${section}</a>`);
      }
      expect(html).toContain('<form class="sign-out" method="post" action="/console/sign-out">');
    }
  });

  it("/console opens the stream, and the sign-in page sends a signed-in browser on", async () => {
    const b = await signedInBrowser();
    expect((await get("/console", b)).headers.get("location")).toBe("/console/stream");
    expect((await get("/console/sign-in?next=%2Fconsole%2Fworkflows", b)).headers.get("location")).toBe(
      "/console/workflows",
    );
  });

  it("escapes what the URL brings: filters and a workflow id are text, never markup", async () => {
    const b = await signedInBrowser();
    const evil = '"><script>alert(1)</script>';
    const stream = await (await get(`/console/stream?type=${encodeURIComponent(evil)}`, b)).text();
    expect(stream).not.toContain("<script>alert(1)");
    expect(stream).toContain("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
    const workflow = await (await get(`/console/workflows/${encodeURIComponent(evil)}`, b)).text();
    expect(workflow).not.toContain("<script>alert(1)");
    expect(workflow).toContain('data-id="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    const event = await (
      await get(`/console/events/${encodeURIComponent(evil)}?source=${encodeURIComponent(evil)}`, b)
    ).text();
    expect(event).not.toContain("<script>alert(1)");
    expect(event).toContain('data-source="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
  });

  it("offers the registry's names in the filters", async () => {
    const b = await signedInBrowser();
    expect(await (await get("/console/stream", b)).text()).toContain('<option value="order.placed"');
    expect(await (await get("/console/dead-letters", b)).text()).toContain('<option value="fraud-screen"');
    // The test-event form offers what an outside sender may send, not what only agents publish.
    const form = (await (await get("/console/stream", b)).text()).split('<details id="test-event"')[1] ?? "";
    expect(form).toContain('<option value="order.placed">order.placed</option>');
    expect(form).not.toContain('value="fraud.assessed"');
    expect(await (await get("/console/workflows?status=awaiting_approval", b)).text()).toContain(
      '<option value="awaiting_approval" selected="">',
    );
  });
});
