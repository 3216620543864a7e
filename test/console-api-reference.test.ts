// The API reference page: a frame for a signed-in session whose script renders /openapi.json, and the
// parts of that document the script relies on (security per operation, resolvable refs, unique anchors).
import { describe, expect, it } from "vitest";
import { BASE, signedInBrowser } from "./console-support";
import { call } from "./support/helpers";

type Operation = { summary?: string; security?: unknown[]; responses?: Record<string, unknown> };
type Doc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string }> };
};

const get = (path: string, headers: Record<string, string> = {}) =>
  call(new Request(`${BASE}${path}`, { headers, redirect: "manual" }));
/** The page's anchor for an operation, as api-reference.js builds it. */
const anchor = (method: string, path: string) =>
  `op-${method}-${path
    .toLowerCase()
    .match(/[a-z0-9]+/g)
    ?.join("-")}`;
const refs = (value: unknown): string[] =>
  typeof value !== "object" || value === null
    ? []
    : Object.entries(value).flatMap(([k, v]) => (k === "$ref" && typeof v === "string" ? [v] : refs(v)));

describe("the API reference page", () => {
  it("is a frame for a signed-in session: its own script and stylesheet, a status line, a root", async () => {
    const b = await signedInBrowser();
    const res = await get("/console/api", { cookie: b.cookie });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("connect-src 'self'");
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/console/assets/api-reference.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/console/assets/api-reference.css"/>');
    expect(html).toContain('id="api-status"');
    expect(html).toContain('<div id="api-reference"></div>');
    expect(html).toContain('<a href="/console/api" aria-current="page">API</a>');
  });

  it("sends a signed-out browser to sign in", async () => {
    const res = await get("/console/api");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/console/sign-in?next=%2Fconsole%2Fapi");
  });

  it("reads a public document whose operations, locks, refs and anchors the page can render", async () => {
    const res = await get("/openapi.json");
    expect(res.status).toBe(200);
    const doc = await res.json<Doc>();
    expect(doc.openapi).toMatch(/^3\.1/);
    expect(doc.info.title).toBe("agentwire");
    const ops = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ method, path, op })),
    );
    expect(ops.length).toBeGreaterThan(20);
    const anchors = new Set(ops.map((o) => anchor(o.method, o.path)));
    expect(anchors.size).toBe(ops.length);
    expect(anchors).toContain("op-get-v1-events-id");
    for (const { op } of ops) {
      expect(op.summary).toBeTruthy();
      expect(Object.keys(op.responses ?? {}).length).toBeGreaterThan(0);
      for (const requirement of op.security ?? [])
        for (const scheme of Object.keys(requirement as object))
          expect(doc.components.securitySchemes).toHaveProperty(scheme);
    }
    // The lock marks: the admin API is locked, the ingest and webhook doors and health are public.
    const open = ops.filter((o) => (o.op.security ?? []).length === 0).map((o) => `${o.method} ${o.path}`);
    expect(open.sort()).toEqual(["get /v1/health", "post /v1/events", "post /v1/sources/{name}"]);
    expect(doc.components.securitySchemes.adminToken?.type).toBe("http");
    // Every $ref is a link to a schema the page lists, including the one that refers to itself.
    for (const ref of refs(doc))
      expect(Object.keys(doc.components.schemas)).toContain(ref.replace("#/components/schemas/", ""));
    expect(refs(doc.components.schemas.TreeNode)).toContain("#/components/schemas/TreeNode");
  });
});
