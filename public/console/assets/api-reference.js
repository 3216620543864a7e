// The API reference: GET /openapi.json (public, generated from the zod schemas the routes validate
// with) rendered as DOM: how to authenticate, contents per resource, then each operation with its
// parameters, body, answers and a curl line; named schemas once at the end, linked from their uses.
import { describe } from "./api.js";
import { byId, h, say } from "./dom.js";

/** @typedef {Record<string, unknown>} Obj */
/** @typedef {{ method: string, path: string, op: Obj, id: string, secured: boolean, words: string }} Op */

const line = byId("api-status", HTMLElement);
const root = byId("api-reference", HTMLElement);
const METHODS = ["get", "post", "put", "patch", "delete"];
const REF = "#/components/schemas/";
const LOCK = "Needs the admin token (or a console session)";
const AUTH = "Authorization: Bearer $ADMIN_TOKEN";
const JOIN = { anyOf: " | ", oneOf: " | ", allOf: " & " };
const BOUNDS = { minimum: "≥", maximum: "≤", minLength: "length ≥", maxLength: "length ≤", maxItems: "items ≤" };

/** @param {unknown} v @returns {v is Obj} */
const isObj = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
/** @param {unknown} v @param {string} k @returns {Obj} */
const obj = (v, k) => (isObj(v) && isObj(v[k]) ? v[k] : {});
/** @param {unknown} v @param {string} k @returns {unknown[]} */
const list = (v, k) => (isObj(v) && Array.isArray(v[k]) ? /** @type {unknown[]} */ (v[k]) : []);
/** @param {unknown} v @param {string} k */
const text = (v, k) => (isObj(v) && typeof v[k] === "string" ? /** @type {string} */ (v[k]) : "");
/** @param {unknown} v @param {string} k */
const has = (v, k) => isObj(v) && k in v;
/** @param {unknown} v */
const json = (v) => JSON.stringify(v) ?? "undefined";

/** An id for an anchor: letters, digits and dashes only. @param {string} s */
const anchor = (s) =>
  s
    .toLowerCase()
    .match(/[a-z0-9]+/g)
    ?.join("-") ?? "";

/** The named schemas, filled by render(). @type {Obj} */
let named = {};
/** The name a $ref points at ("" when there is none). @param {unknown} s */
const refName = (s) => (text(s, "$ref").startsWith(REF) ? text(s, "$ref").slice(REF.length) : "");
/** @param {string} name */
const refLink = (name) => h("a", { href: `#schema-${anchor(name)}` }, name);

/** A schema as a short type expression, with links to named schemas. @param {unknown} s @returns {(Node | string)[]} */
function typeOf(s) {
  if (!isObj(s)) return ["any"];
  if (refName(s)) return [refLink(refName(s))];
  for (const [k, sep] of Object.entries(JOIN)) {
    const parts = list(s, k);
    if (parts.length > 0) return parts.flatMap((p, i) => [i ? sep : "", ...typeOf(p)]);
  }
  if (Array.isArray(s.enum)) return [s.enum.map(json).join(" | ")];
  if ("const" in s) return [json(s.const)];
  const types = Array.isArray(s.type)
    ? s.type.map(String)
    : [text(s, "type") || (has(s, "properties") ? "object" : "any")];
  return types.flatMap((t, i) => {
    const sep = i ? " | " : "";
    if (t === "array") return [sep, ...typeOf(s.items), "[]"];
    if (t === "object" && !has(s, "properties") && isObj(s.additionalProperties))
      return [sep, "record of ", ...typeOf(s.additionalProperties)];
    return [sep, t + (text(s, "format") ? ` (${text(s, "format")})` : "")];
  });
}

/** The small print of a schema: default, bounds, example (allowed values are in its type). @param {unknown} s */
function facts(s) {
  if (!isObj(s)) return "";
  const out = Object.entries(BOUNDS).flatMap(([k, word]) => (typeof s[k] === "number" ? [`${word} ${s[k]}`] : []));
  if ("default" in s) out.unshift(`default ${json(s.default)}`);
  if (text(s, "pattern")) out.push(`pattern ${text(s, "pattern")}`);
  if ("example" in s) out.push(`e.g. ${json(s.example)}`);
  if (s.additionalProperties === false) out.push("no other fields");
  return out.join(" · ");
}

/** Prose with its `code` spans as <code>. @param {string} s */
const prose = (s) => s.split("`").map((part, i) => (i % 2 ? h("code", {}, part) : part));

/** A description, then the small print. @param {unknown} s @param {string} [said] */
function about(s, said = text(s, "description")) {
  const small = facts(s);
  if (!said && !small) return null;
  return h("span", { class: "desc" }, ...prose(said), said && small ? " · " : "", small);
}

/**
 * The fields inside a schema as a nested list: properties, other keys, inline variants and array
 * items. Named schemas stay links (each is listed once below), so a recursive one cannot loop.
 * @param {unknown} s @param {number} depth @returns {HTMLElement | null}
 */
function tree(s, depth = 0) {
  if (!isObj(s) || refName(s) || depth > 8) return null;
  if (text(s, "type") === "array" || list(s, "type").includes("array")) return tree(s.items, depth);
  const required = new Set(list(s, "required").map(String));
  const rows = Object.entries(obj(s, "properties")).map(([name, p]) =>
    field(h("code", {}, name), required.has(name) ? "required" : "optional", p, depth),
  );
  // Other keys get a row beside named ones, or when they hold fields; else "record of X" says it all.
  const extra = s.additionalProperties;
  if (isObj(extra) && Object.keys(extra).length > 0 && (rows.length > 0 || tree(extra, depth + 1)))
    rows.push(field(h("code", { class: "muted" }, "[any key]"), "optional", extra, depth));
  for (const k of ["anyOf", "oneOf", "allOf"])
    list(s, k).forEach((variant, i) => {
      if (tree(variant, depth + 1))
        rows.push(field(h("span", { class: "muted" }, k === "allOf" ? "and" : `variant ${i + 1}`), "", variant, depth));
    });
  return rows.length > 0 ? h("ul", { class: "schema-tree" }, ...rows) : null;
}

/** One field of a tree. @param {Node} name @param {string} need "required", "optional" or "" @param {unknown} p @param {number} depth */
const field = (name, need, p, depth) =>
  h(
    "li",
    {},
    name,
    " ",
    h("code", { class: "type" }, ...typeOf(p)),
    need ? h("span", { class: need === "required" ? "required" : "muted" }, ` ${need}`) : null,
    " ",
    about(p),
    tree(p, depth + 1),
  );

/** A schema: its type, what it says of itself, its fields; a named one opened if `open`. @param {unknown} s @param {boolean} open */
function schemaView(s, open) {
  const name = refName(s);
  const shown = name && open ? named[name] : s;
  return h("div", { class: "schema" }, h("code", { class: "type" }, ...typeOf(s)), " ", about(shown), tree(shown));
}

/**
 * A value that fits a schema, for the curl line: its example, default or a placeholder per type.
 * Only required fields; refs are followed once each, so a recursive schema ends.
 * @param {unknown} s @param {Set<string>} seen @returns {unknown}
 */
function sample(s, seen = new Set()) {
  if (!isObj(s)) return null;
  for (const k of ["example", "default", "const"]) if (k in s) return s[k];
  if (Array.isArray(s.enum)) return s.enum[0];
  const name = refName(s);
  if (name) return seen.has(name) ? null : sample(named[name], new Set([...seen, name]));
  const variant = list(s, "anyOf")[0] ?? list(s, "oneOf")[0];
  if (variant) return sample(variant, seen);
  const all = list(s, "allOf");
  if (all.length > 0) return Object.assign({}, ...all.map((p) => sample(p, seen)).filter(isObj));
  const type = Array.isArray(s.type) ? s.type.map(String).find((t) => t !== "null") : text(s, "type");
  if (type === "array") return [sample(s.items, seen)];
  if (type === "string") return text(s, "format") === "date-time" ? new Date(0).toISOString() : "string";
  if (type === "integer" || type === "number") return typeof s.minimum === "number" ? s.minimum : 0;
  if (type === "boolean") return false;
  if (type === "object" || has(s, "properties")) {
    const props = obj(s, "properties");
    const keys = list(s, "required").map(String);
    // None required (e.g. "at least one of"): show the first, so the line says what goes there.
    return Object.fromEntries(
      (keys.length ? keys : Object.keys(props).slice(0, 1)).map((k) => [k, sample(props[k], seen)]),
    );
  }
  return null;
}

/** @param {Op} o */
function curlOf(o) {
  const params = list(o.op, "parameters").filter(isObj);
  const query = params
    .filter((p) => p.in === "query" && p.required)
    .map((p) => `${text(p, "name")}={${text(p, "name")}}`);
  const url = `${location.origin}${o.path}${query.length ? `?${query.join("&")}` : ""}`;
  const parts = [`curl${o.method === "get" ? "" : ` -X ${o.method.toUpperCase()}`} "${url}"`];
  if (o.secured) parts.push(`-H "${AUTH}"`);
  for (const p of params)
    if (p.in === "header" && p.required) parts.push(`-H "${text(p, "name")}: {${text(p, "name")}}"`);
  const body = obj(o.op, "requestBody");
  if (Object.keys(body).length > 0) {
    const [type = "application/json", media] = Object.entries(obj(body, "content"))[0] ?? [];
    const example = isObj(media) && "example" in media ? media.example : sample(obj(media, "schema"));
    parts.push(`-H "content-type: ${type}"`, `-d '${json(example ?? {}).replaceAll("'", "'\\''")}'`);
  }
  return parts.join(" \\\n  ");
}

/** @param {Obj[]} params */
const paramTable = (params) =>
  h(
    "table",
    { class: "data params" },
    h("thead", {}, h("tr", {}, ...["Name", "In", "Required", "Type", "Description"].map((t) => h("th", {}, t)))),
    h(
      "tbody",
      {},
      ...params.map((p) =>
        h(
          "tr",
          {},
          ...[
            h("code", {}, text(p, "name")),
            text(p, "in"),
            p.required ? "yes" : "no",
            h("code", {}, ...typeOf(p.schema)),
          ].map((cell) => h("td", {}, cell)),
          h("td", { class: "desc" }, about(p.schema, text(p, "description") || text(p.schema, "description"))),
        ),
      ),
    ),
  );

/** One response: its status, what it means, its shape (opened for a success). @param {string} status @param {unknown} r */
function answer(status, r) {
  const ok = status.startsWith("2");
  const content = obj(r, "content");
  const media = content["application/json"] ?? Object.values(content)[0];
  const schema = obj(media, "schema");
  const shape = ok ? schemaView(schema, true) : h("span", {}, " · ", h("code", { class: "type" }, ...typeOf(schema)));
  const badge = h("span", { class: "badge", "data-status": ok ? "succeeded" : "failed" }, status);
  return h("li", {}, badge, " ", ...prose(text(r, "description")), has(media, "schema") ? shape : null);
}

/** @param {Op} o */
function operation(o) {
  const params = list(o.op, "parameters").filter(isObj);
  const body = obj(o.op, "requestBody");
  return h(
    "section",
    { class: "operation", id: o.id, "data-op": `${o.method.toUpperCase()} ${o.path}` },
    h("h3", {}, methodBadge(o.method), " ", h("code", {}, o.path), o.secured ? lock() : null),
    h("p", {}, text(o.op, "summary")),
    text(o.op, "description") ? h("p", { class: "hint" }, ...prose(text(o.op, "description"))) : null,
    params.length > 0 ? h("h4", {}, "Parameters") : null,
    params.length > 0 ? paramTable(params) : null,
    Object.keys(body).length > 0
      ? h(
          "div",
          { class: "body" },
          h("h4", {}, "Request body", body.required ? "" : " (optional)"),
          text(body, "description") ? h("p", {}, ...prose(text(body, "description"))) : null,
          ...Object.entries(obj(body, "content")).map(([type, media]) =>
            h("div", {}, h("code", { class: "muted" }, type), schemaView(obj(media, "schema"), true)),
          ),
        )
      : null,
    h("h4", {}, "Responses"),
    h("ul", { class: "answers" }, ...Object.entries(obj(o.op, "responses")).map(([status, r]) => answer(status, r))),
    h("h4", {}, "Example"),
    h("pre", { class: "curl" }, curlOf(o)),
  );
}

/** @param {string} method */
const methodBadge = (method) => h("span", { class: `method ${method}` }, method.toUpperCase());
const lock = () => h("span", { class: "lock", title: LOCK, "aria-label": LOCK }, "admin");

/** Each operation, grouped by its first tag, or else by its path's first segment after /v1. @param {Obj} doc */
function operations(doc) {
  /** @type {Map<string, Op[]>} */
  const groups = new Map();
  for (const [path, item] of Object.entries(obj(doc, "paths"))) {
    for (const method of METHODS) {
      const op = obj(item, method);
      if (Object.keys(op).length === 0) continue;
      const [first, second] = path.split("/").filter(Boolean);
      const [tagged] = list(op, "tags");
      const tag = typeof tagged === "string" ? tagged : (/^v\d+$/.test(first ?? "") ? second : first) || "/";
      const secured = (Array.isArray(op.security) ? op.security : list(doc, "security")).length > 0;
      const names = list(op, "parameters").map((p) => text(p, "name"));
      const words = [method, path, text(op, "summary"), text(op, "description"), ...names].join(" ").toLowerCase();
      groups.set(tag, [
        ...(groups.get(tag) ?? []),
        { method, path, op, id: `op-${method}-${anchor(path)}`, secured, words },
      ]);
    }
  }
  return groups;
}

/** What the document says of itself, and how to authenticate. @param {Obj} doc @param {Op[]} all */
function intro(doc, all) {
  const info = obj(doc, "info");
  const schemes = Object.entries(obj(obj(doc, "components"), "securitySchemes"));
  /** @param {unknown} s */
  const how = (s) => [text(s, "type"), text(s, "scheme"), text(s, "in"), text(s, "name")].filter(Boolean);
  return [
    h(
      "p",
      {},
      h("strong", {}, text(info, "title")),
      ` version ${text(info, "version")} · `,
      h("a", { href: "/openapi.json" }, "/openapi.json"),
      ` (OpenAPI ${text(doc, "openapi")})`,
    ),
    h("p", {}, ...prose(text(info, "description"))),
    h(
      "section",
      { class: "auth", id: "authentication" },
      h("h2", {}, "Authentication"),
      h("p", {}, "Operations marked ", lock(), " take one of these; curl sends ", h("code", {}, AUTH), "."),
      h(
        "ul",
        {},
        ...schemes.map(([name, s]) =>
          h("li", {}, h("code", {}, name), ` (${how(s).join(", ")}): `, ...prose(text(s, "description"))),
        ),
      ),
      h("p", {}, "Public, no credentials (webhooks prove themselves by signature instead):"),
      h(
        "ul",
        { class: "public" },
        ...all
          .filter((o) => !o.secured)
          .map((o) => h("li", {}, methodBadge(o.method), " ", h("a", { href: `#${o.id}` }, o.path))),
      ),
    ),
  ];
}

/** @param {Op} o */
const tocEntry = (o) =>
  h(
    "li",
    { "data-for": o.id },
    methodBadge(o.method),
    " ",
    h("a", { href: `#${o.id}` }, o.path),
    o.secured ? lock() : null,
    " ",
    h("span", { class: "muted" }, text(o.op, "summary")),
  );

/** @param {Obj} doc */
function render(doc) {
  named = obj(obj(doc, "components"), "schemas");
  const groups = [...operations(doc)];
  const all = groups.flatMap(([, ops]) => ops);
  const filter = h("input", { type: "search", placeholder: "path, method or words", "aria-label": "Filter" });
  const parts = groups.map(([tag, ops]) => ({
    ops,
    toc: h(
      "div",
      { class: "toc-group" },
      h("h3", {}, h("a", { href: `#tag-${anchor(tag)}` }, tag)),
      h("ul", {}, ...ops.map(tocEntry)),
    ),
    body: h("section", { class: "group" }, h("h2", { id: `tag-${anchor(tag)}` }, tag), ...ops.map(operation)),
  }));
  root.replaceChildren(
    ...intro(doc, all),
    h(
      "nav",
      { class: "contents", "aria-label": "Operations" },
      h("h2", {}, "Contents"),
      filter,
      h("div", { class: "toc" }, ...parts.map((p) => p.toc)),
    ),
    ...parts.map((p) => p.body),
    h(
      "section",
      { class: "schemas" },
      h("h2", { id: "schemas" }, "Schemas"),
      ...Object.entries(named).map(([name, s]) =>
        h(
          "div",
          { id: `schema-${anchor(name)}`, class: "named" },
          h("h3", {}, h("code", {}, name)),
          schemaView(s, false),
        ),
      ),
    ),
  );
  filter.addEventListener("input", () => {
    const q = filter.value.trim().toLowerCase();
    for (const { ops, toc, body } of parts) {
      let shown = 0;
      for (const o of ops) {
        const hidden = q !== "" && !o.words.includes(q);
        for (const el of root.querySelectorAll(`[data-for="${o.id}"], #${o.id}`))
          if (el instanceof HTMLElement) el.hidden = hidden;
        if (!hidden) shown++;
      }
      toc.hidden = body.hidden = shown === 0;
    }
  });
  return all.length;
}

try {
  const res = await fetch("/openapi.json", { headers: { accept: "application/json" } });
  if (!res.ok) throw new Error(`/openapi.json answered HTTP ${res.status}`);
  const doc = /** @type {unknown} */ (await res.json());
  if (!isObj(doc)) throw new Error("/openapi.json is not a JSON object");
  const count = render(doc);
  say(line, `${count} operation${count === 1 ? "" : "s"}`, "ok");
  // The contents arrived after the browser looked for the fragment: look again.
  if (location.hash) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
} catch (error) {
  say(line, `Could not read the API document: ${describe(error)}`, "error");
}
