// The API reference: GET /openapi.json (public, generated from the zod schemas the routes validate
// with) rendered as DOM: a contents list per resource, then each operation with its parameters,
// body, answers and a curl line; named schemas once at the end, linked from wherever they are used.
import { describe } from "./api.js";
import { byId, h, say } from "./dom.js";

/** @typedef {Record<string, unknown>} Obj */

const line = byId("api-status", HTMLElement);
const root = byId("api-reference", HTMLElement);
const METHODS = ["get", "post", "put", "patch", "delete"];

/** @param {unknown} v @returns {v is Obj} */
const isObj = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
/** @param {unknown} v @param {string} k @returns {Obj} */
const obj = (v, k) => (isObj(v) && isObj(v[k]) ? /** @type {Obj} */ (v[k]) : {});
/** @param {unknown} v @param {string} k @returns {unknown[]} */
const list = (v, k) => (isObj(v) && Array.isArray(v[k]) ? /** @type {unknown[]} */ (v[k]) : []);
/** @param {unknown} v @param {string} k */
const text = (v, k) => (isObj(v) && typeof v[k] === "string" ? /** @type {string} */ (v[k]) : "");

/** An id for an anchor: letters, digits and dashes only. @param {string} s */
const anchor = (s) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
/** @param {string} ref */
const refName = (ref) => ref.replace("#/components/schemas/", "");

/**
 * A schema as a short type expression, with links to named schemas.
 * @param {unknown} s
 * @returns {(Node | string)[]}
 */
function typeOf(s) {
  if (!isObj(s)) return ["any"];
  const ref = text(s, "$ref");
  if (ref) return [h("a", { href: `#schema-${anchor(refName(ref))}` }, refName(ref))];
  for (const k of ["anyOf", "oneOf", "allOf"]) {
    const parts = list(s, k);
    if (parts.length > 0) return parts.flatMap((p, i) => [i ? (k === "allOf" ? " & " : " | ") : "", ...typeOf(p)]);
  }
  if (Array.isArray(s.enum)) return [s.enum.map((e) => JSON.stringify(e)).join(" | ")];
  if ("const" in s) return [JSON.stringify(s.const)];
  const types = Array.isArray(s.type)
    ? s.type.map(String)
    : [text(s, "type") || (isObj(s.properties) ? "object" : "any")];
  return types.flatMap((t, i) => {
    const sep = i ? " | " : "";
    if (t === "array") return [sep, ...typeOf(s.items), "[]"];
    if (t === "object" && isObj(s.additionalProperties)) return [sep, "record of ", ...typeOf(s.additionalProperties)];
    return [sep, t];
  });
}

/**
 * An object schema's fields as a table (nested objects inline, one level deep per row).
 * @param {unknown} s
 * @param {number} depth
 * @returns {HTMLElement | null}
 */
function fields(s, depth = 0) {
  if (!isObj(s) || depth > 3) return null;
  const props = obj(s, "properties");
  const names = Object.keys(props);
  if (names.length === 0) return null;
  const required = new Set(list(s, "required").map(String));
  return h(
    "table",
    { class: "data fields" },
    h(
      "tbody",
      {},
      ...names.map((name) => {
        const p = props[name];
        const nested = isObj(p) && !text(p, "$ref") ? fields(p.type === "array" ? p.items : p, depth + 1) : null;
        return h(
          "tr",
          {},
          h("td", {}, h("code", {}, name), required.has(name) ? "" : h("span", { class: "muted" }, " optional")),
          h("td", {}, h("code", {}, ...typeOf(p))),
          h(
            "td",
            {},
            text(p, "description"),
            isObj(p) && "default" in p ? ` Default ${JSON.stringify(p.default)}.` : "",
            nested,
          ),
        );
      }),
    ),
  );
}

/** @param {unknown} s */
const schemaBlock = (s) => h("div", { class: "schema" }, h("code", {}, ...typeOf(s)), fields(s));

/** The JSON schema of a body or answer (JSON first, else any). @param {unknown} holder */
function contentSchema(holder) {
  const content = obj(holder, "content");
  const json = content["application/json"] ?? Object.values(content)[0];
  return isObj(json) ? json.schema : undefined;
}

/**
 * @param {string} method
 * @param {string} path
 * @param {Obj} op
 */
function curlOf(method, path, op) {
  const secured = list(op, "security").length > 0;
  const body = obj(op, "requestBody");
  const example = isObj(contentSchema(body)) ? /** @type {Obj} */ (contentSchema(body)).example : undefined;
  const parts = [`curl${method === "get" ? "" : ` -X ${method.toUpperCase()}`}`];
  if (secured) parts.push(`-H "Authorization: Bearer $ADMIN_TOKEN"`);
  if (Object.keys(body).length > 0)
    parts.push(`-H 'content-type: application/json' -d '${example ? JSON.stringify(example) : "{…}"}'`);
  parts.push(`"$AGENTWIRE${path}"`);
  return parts.join(" \\\n  ");
}

/**
 * @param {string} method
 * @param {string} path
 * @param {Obj} op
 */
function operation(method, path, op) {
  const id = `op-${method}-${anchor(path)}`;
  const params = list(op, "parameters").filter(isObj);
  const body = obj(op, "requestBody");
  const responses = obj(op, "responses");
  const secured = list(op, "security").length > 0;
  return h(
    "section",
    { class: "operation", id, "data-op": `${method.toUpperCase()} ${path}` },
    h(
      "h3",
      {},
      h("span", { class: `method ${method}` }, method.toUpperCase()),
      " ",
      h("code", {}, path),
      secured ? h("span", { class: "lock", title: "Needs the admin token or a console session" }, "admin") : "",
    ),
    h("p", {}, text(op, "summary")),
    text(op, "description") ? h("p", { class: "hint" }, text(op, "description")) : null,
    params.length > 0
      ? h(
          "table",
          { class: "data fields" },
          h(
            "thead",
            {},
            h("tr", {}, h("th", {}, "Parameter"), h("th", {}, "In"), h("th", {}, "Type"), h("th", {}, "")),
          ),
          h(
            "tbody",
            {},
            ...params.map((p) =>
              h(
                "tr",
                {},
                h(
                  "td",
                  {},
                  h("code", {}, text(p, "name")),
                  p.required ? "" : h("span", { class: "muted" }, " optional"),
                ),
                h("td", {}, text(p, "in")),
                h("td", {}, h("code", {}, ...typeOf(p.schema))),
                h("td", {}, text(p, "description") || text(p.schema, "description")),
              ),
            ),
          ),
        )
      : null,
    Object.keys(body).length > 0 ? h("div", {}, h("h4", {}, "Body"), schemaBlock(contentSchema(body))) : null,
    h("h4", {}, "Answers"),
    h(
      "dl",
      { class: "answers" },
      ...Object.entries(responses).flatMap(([status, r]) => [
        h(
          "dt",
          {},
          h("span", { class: "badge", "data-status": status.startsWith("2") ? "succeeded" : "failed" }, status),
        ),
        h("dd", {}, text(r, "description"), contentSchema(r) ? schemaBlock(contentSchema(r)) : null),
      ]),
    ),
    h("pre", { class: "curl" }, curlOf(method, path, op)),
  );
}

/** @param {Obj} doc */
function render(doc) {
  const info = obj(doc, "info");
  /** @type {Map<string, { method: string, path: string, op: Obj }[]>} */
  const groups = new Map();
  for (const [path, item] of Object.entries(obj(doc, "paths"))) {
    for (const method of METHODS) {
      const op = obj(item, method);
      if (Object.keys(op).length === 0) continue;
      const [first] = list(op, "tags");
      const tag = typeof first === "string" ? first : path.split("/").filter(Boolean).slice(0, 2).join("/");
      groups.set(tag, [...(groups.get(tag) ?? []), { method, path, op }]);
    }
  }
  const schemes = Object.entries(obj(obj(doc, "components"), "securitySchemes"));
  const schemas = Object.entries(obj(obj(doc, "components"), "schemas"));
  const filter = h("input", {
    type: "search",
    placeholder: "Filter: path, method or words",
    "aria-label": "Filter operations",
  });
  const sections = [...groups].map(([tag, ops]) =>
    h(
      "section",
      { class: "group" },
      h("h2", { id: `tag-${anchor(tag)}` }, tag),
      ...ops.map((o) => operation(o.method, o.path, o.op)),
    ),
  );
  root.replaceChildren(
    h(
      "p",
      {},
      `${text(info, "title")} ${text(info, "version")}`,
      " · ",
      h("a", { href: "/openapi.json" }, "/openapi.json"),
      " (OpenAPI ",
      text(doc, "openapi"),
      ")",
    ),
    h("p", { class: "hint" }, text(info, "description")),
    h(
      "div",
      { class: "auth" },
      h("h2", {}, "Authentication"),
      h(
        "p",
        {},
        "Operations marked “admin” take either of these; the others are public (webhooks prove themselves by signature).",
      ),
      h(
        "ul",
        {},
        ...schemes.map(([name, s]) =>
          h(
            "li",
            {},
            h("code", {}, name),
            ": ",
            text(s, "description") || `${text(s, "type")} ${text(s, "scheme") || text(s, "in")}`,
          ),
        ),
      ),
    ),
    h(
      "nav",
      { class: "contents", "aria-label": "Operations" },
      h("h2", {}, "Contents"),
      filter,
      h(
        "ul",
        {},
        ...[...groups].flatMap(([, ops]) =>
          ops.map((o) =>
            h(
              "li",
              { "data-op": `${o.method.toUpperCase()} ${o.path} ${text(o.op, "summary")}`.toLowerCase() },
              h("span", { class: `method ${o.method}` }, o.method.toUpperCase()),
              " ",
              h("a", { href: `#op-${o.method}-${anchor(o.path)}` }, o.path),
              " ",
              h("span", { class: "muted" }, text(o.op, "summary")),
            ),
          ),
        ),
      ),
    ),
    ...sections,
    h(
      "section",
      { class: "group" },
      h("h2", { id: "schemas" }, "Schemas"),
      ...schemas.map(([name, s]) =>
        h(
          "div",
          { id: `schema-${anchor(name)}`, class: "named" },
          h("h3", {}, name),
          text(s, "description") ? h("p", {}, text(s, "description")) : null,
          schemaBlock(s),
        ),
      ),
    ),
  );
  filter.addEventListener("input", () => {
    const q = filter.value.trim().toLowerCase();
    for (const li of root.querySelectorAll("nav.contents li")) {
      if (li instanceof HTMLElement) li.hidden = q !== "" && !(li.dataset.op ?? "").includes(q);
    }
    for (const section of root.querySelectorAll("section.operation")) {
      if (section instanceof HTMLElement)
        section.hidden =
          q !== "" &&
          !(section.dataset.op ?? "").toLowerCase().includes(q) &&
          !(section.textContent ?? "").toLowerCase().includes(q);
    }
  });
  return [...groups.values()].reduce((n, ops) => n + ops.length, 0);
}

try {
  const res = await fetch("/openapi.json", { headers: { accept: "application/json" } });
  if (!res.ok) throw new Error(`/openapi.json answered ${res.status}`);
  const doc = /** @type {unknown} */ (await res.json());
  if (!isObj(doc)) throw new Error("/openapi.json is not an object");
  say(line, `${render(doc)} operations`, "ok");
} catch (error) {
  say(line, `Could not read the API document: ${describe(error)}`, "error");
}
