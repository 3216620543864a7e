// Building the page from API data: elements with text children only, so data reaches the page as
// text, never as HTML (the CSP's Trusted Types refuse HTML sinks anyway). Times are local with the
// ISO 8601 instant on hover.

/** @typedef {Node | string | number | null | undefined | false} Child */

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | undefined>} [attrs] attribute names from this code, values any text
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) el.setAttribute(name, value);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "object" ? child : String(child));
  }
  return el;
}

/**
 * The element with this id, or an error naming it (a page and its script disagree).
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
export function byId(id, type) {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return el;
}

/** @param {number} n @param {number} [width] */
const pad = (n, width = 2) => String(n).padStart(width, "0");

/** @param {Date} d */
export const localTime = (d) =>
  `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
  `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;

/**
 * A <time>: local time as text, the ISO 8601 instant as its datetime and title.
 * @param {number | string | null | undefined} value ms since the epoch, or ISO 8601
 */
export function time(value) {
  if (value === null || value === undefined) return h("span", { class: "muted" }, "—");
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return h("span", { class: "muted" }, String(value));
  const iso = d.toISOString();
  return h("time", { datetime: iso, title: iso }, localTime(d));
}

/** @param {number | null | undefined} ms */
export const duration = (ms) =>
  ms === null || ms === undefined ? "—" : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

/** US dollars from micro-dollars, with enough digits to show a cheap model call. @param {number | null | undefined} micros */
export const money = (micros) =>
  micros === null || micros === undefined ? "—" : `$${(micros / 1e6).toFixed(micros < 10_000 ? 6 : 4)}`;

/** A status word, styled by its value. @param {string} status */
export const badge = (status) => h("span", { class: "badge", "data-status": status }, status);

/** The console's page for a workflow: the id is encoded, never trusted as a URL. @param {string} id */
export const workflowLink = (id) => h("a", { href: `/console/workflows/${encodeURIComponent(id)}` }, id);

/**
 * The console's page for an event: ids are encoded, never trusted as a URL; the source tells apart
 * events that share an id across senders.
 * @param {string} id
 * @param {string} [source]
 */
export const eventLink = (id, source) =>
  h(
    "a",
    { href: `/console/events/${encodeURIComponent(id)}${source ? `?source=${encodeURIComponent(source)}` : ""}` },
    id,
  );

/**
 * Says how a page is doing, e.g. "Live · 12 events" or an error.
 * @param {HTMLElement} el
 * @param {string} text
 * @param {"ok" | "error" | "busy" | ""} [kind]
 */
export function say(el, text, kind = "") {
  el.textContent = text;
  el.dataset.kind = kind;
}

/**
 * The text of an error as the API stores it: a string, or an object with a message.
 * @param {unknown} error
 */
export function errorText(error) {
  if (error === null || error === undefined) return "";
  if (typeof error === "string") return error;
  if (typeof error === "object" && "message" in error && typeof error.message === "string") return error.message;
  return JSON.stringify(error);
}

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * An SVG element, built like h(): attributes from this code, text children only.
 * @template {keyof SVGElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number | undefined>} [attrs]
 * @param {...Child} children
 * @returns {SVGElementTagNameMap[K]}
 */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) el.setAttribute(name, String(value));
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "object" ? child : String(child));
  }
  return el;
}
