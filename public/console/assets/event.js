// One event: GET /v1/events/:id as a summary, a waterfall of its runs (queued from its delivery, each
// attempt, retries), the runs with tier, model, confidence and cost, every attempt with its error,
// every model call with tokens, cost and latency, a tool-using run's steps (each model reply and tool
// call, in order, with the attempt that took it), its policy violations and its data. Refreshed every
// 2 s while a run is unfinished.
import { api, describe } from "./api.js";
import { badge, byId, duration, h, money, say, time, workflowLink } from "./dom.js";
import { runTable, stepText } from "./runs.js";
import { eventRow, runRow, waterfall } from "./waterfall.js";

/**
 * @typedef {import("./runs.js").Run} Run
 * @typedef {{ id: string, source: string, type: string, subject?: string, correlationid: string,
 *   hopcount?: number, causationid?: string, data?: unknown }} CloudEvent
 * @typedef {{ seq: number, receivedAt: number, loggedAt: number, archived: boolean, event: CloudEvent,
 *   deliveries: { agent: string, routedAt: number, held: boolean }[], runs: Run[],
 *   violations: { agent: string | null, kind: string, detail: string, detectedBy: string }[] }} EventView
 */

const REFRESH_MS = 2000;
const section = byId("event", HTMLElement);
const id = section.dataset.id ?? "";
const source = section.dataset.source ?? "";
const line = byId("ev-status", HTMLElement);
const summary = byId("ev-summary", HTMLElement);
const timeline = byId("ev-waterfall", HTMLElement);
const runs = byId("ev-runs", HTMLElement);
const attempts = /** @type {HTMLTableSectionElement} */ (byId("ev-attempts", HTMLTableElement).tBodies[0]);
const calls = /** @type {HTMLTableSectionElement} */ (byId("ev-calls", HTMLTableElement).tBodies[0]);
const steps = byId("ev-steps", HTMLElement);
const violations = byId("ev-violations", HTMLElement);
const data = byId("ev-data", HTMLElement);

/** @param {string} term @param {import("./dom.js").Child | import("./dom.js").Child[]} value */
const entry = (term, value) => [h("dt", {}, term), h("dd", {}, ...(Array.isArray(value) ? value : [value]))];

/** @param {EventView} v */
function render(v) {
  const e = v.event;
  const cost = v.runs.reduce((sum, r) => sum + (r.model?.costMicros ?? 0), 0);
  summary.replaceChildren(
    ...entry("Type", h("code", {}, e.type)),
    ...entry("Source", e.source),
    ...(e.subject ? entry("Subject", e.subject) : []),
    ...entry("Workflow", workflowLink(e.correlationid)),
    ...(e.causationid ? entry("Caused by", h("code", {}, e.causationid)) : []),
    ...entry("Hops", String(e.hopcount ?? 0)),
    ...entry("Received", time(v.receivedAt)),
    ...entry("Logged", [time(v.loggedAt), ` (#${v.seq}${v.archived ? ", from the archive" : ""})`]),
    ...entry(
      "Delivered to",
      v.deliveries.length > 0
        ? v.deliveries.map((d, i) => [i ? ", " : "", d.agent, d.held ? " (held: agent paused)" : ""]).flat()
        : "no agent",
    ),
    ...entry("Model cost", money(cost)),
  );
  const routed = new Map(v.deliveries.map((d) => [d.agent, d.routedAt]));
  timeline.replaceChildren(
    waterfall([
      eventRow(e.type, 0, v.receivedAt, v.loggedAt, false),
      ...v.runs.map((r) => runRow(r, routed.get(r.agent) ?? v.loggedAt, 1)),
    ]),
  );
  runs.replaceChildren(v.runs.length > 0 ? runTable(v.runs) : h("p", { class: "hint" }, "No agent has run yet."));
  attempts.replaceChildren(
    ...v.runs.flatMap((r) =>
      (r.attempts ?? []).map((a) =>
        h(
          "tr",
          { "data-agent": r.agent },
          h("td", {}, r.agent),
          h("td", { class: "num" }, a.attempt),
          h("td", {}, badge(a.status)),
          h("td", {}, time(a.startedAt)),
          h("td", { class: "num" }, duration(a.finishedAt - a.startedAt)),
          h("td", { class: "num" }, a.costMicros === undefined ? "—" : money(a.costMicros)),
          h("td", { class: "error" }, a.error ?? ""),
        ),
      ),
    ),
  );
  calls.replaceChildren(
    ...v.runs.flatMap((r) =>
      (r.calls ?? []).map((c) =>
        h(
          "tr",
          { "data-agent": r.agent },
          h("td", {}, r.agent),
          h("td", { class: "num" }, c.attempt),
          h("td", {}, c.tier),
          h("td", {}, h("code", {}, c.model)),
          h("td", {}, c.outcome),
          h("td", { class: "num" }, c.confidence === null ? "—" : c.confidence.toFixed(2)),
          h(
            "td",
            { class: "num" },
            `${c.tokens.input} / ${c.tokens.output} / ${c.tokens.cacheRead + c.tokens.cacheWrite}`,
          ),
          h("td", { class: "num" }, money(c.costMicros)),
          h("td", { class: "num" }, money(c.alwaysEscalateMicros)),
          h("td", { class: "num" }, duration(c.latencyMs)),
        ),
      ),
    ),
  );
  const stepped = v.runs.filter((r) => (r.steps ?? []).length > 0);
  steps.hidden = stepped.length === 0;
  steps.querySelector("tbody")?.replaceChildren(...stepped.flatMap((r) => (r.steps ?? []).map((s) => stepRow(r, s))));
  violations.hidden = v.violations.length === 0;
  violations
    .querySelector("ul")
    ?.replaceChildren(
      ...v.violations.map((x) => h("li", {}, h("strong", {}, x.kind), ` (${x.agent ?? x.detectedBy}): ${x.detail}`)),
    );
  data.textContent = JSON.stringify(e.data ?? null, null, 2);
}

/** One step of a run: a model reply (and the tools it asked for) or a tool call (input → result). */
function stepRow(/** @type {Run} */ r, /** @type {import("./runs.js").Step} */ s) {
  return h(
    "tr",
    { "data-agent": r.agent, "data-step": String(s.step), "data-kind": s.kind },
    h("td", {}, r.agent),
    h("td", { class: "num" }, s.step),
    h("td", { class: "num" }, s.attempt),
    h("td", {}, s.tier),
    h("td", {}, ...stepText(s)),
    h("td", { class: "num" }, s.tokens ? `${s.tokens.input} / ${s.tokens.output}` : "—"),
    h("td", { class: "num" }, s.costMicros === undefined ? "—" : money(s.costMicros)),
    h("td", { class: "num" }, duration(s.latencyMs)),
  );
}

async function load() {
  try {
    const query = source ? `?source=${encodeURIComponent(source)}` : "";
    const v = /** @type {EventView} */ (await api(`/v1/events/${encodeURIComponent(id)}${query}`));
    render(v);
    const open =
      v.runs.some((r) => r.status === "running" || r.status === "failed") || v.runs.length < v.deliveries.length;
    say(line, open ? `Runs under way · updated ${new Date().toLocaleTimeString()}` : "All runs finished", "ok");
    if (open) setTimeout(() => void load(), REFRESH_MS);
  } catch (error) {
    say(line, `Could not read the event: ${describe(error)}`, "error");
    // Only gone for good is final; anything else (a restart, the network) is tried again.
    if (!(error instanceof Error && "status" in error && error.status === 404))
      setTimeout(() => void load(), REFRESH_MS * 5);
  }
}

void load();
