// Workflows: GET /v1/workflows with the page's filters, newest first, a page at a time.
import { api, describe, queryOf } from "./api.js";
import { badge, byId, duration, h, say, time, workflowLink } from "./dom.js";

/**
 * @typedef {{ id: string, workflow: string, status: string, outcome: string | null, startedAt: number,
 *   durationMs: number | null, verdict: { by?: string } | null }} WorkflowSummary
 * @typedef {{ workflows: WorkflowSummary[], next: { before: string } | null }} WorkflowPage
 */

const params = new URLSearchParams(location.search);
const filters = { status: params.get("status") ?? "", workflow: params.get("workflow") ?? "" };
const rows = /** @type {HTMLTableSectionElement} */ (byId("workflows", HTMLTableElement).tBodies[0]);
const line = byId("wf-status", HTMLElement);
const more = byId("wf-more", HTMLButtonElement);

const OPEN = new Set(["running", "awaiting_approval"]);
/** @type {string | undefined} */
let before;
let count = 0;

/** @param {WorkflowSummary} w */
const row = (w) =>
  h(
    "tr",
    { "data-id": w.id },
    h("td", {}, workflowLink(w.id)),
    h("td", {}, w.workflow),
    h("td", {}, badge(w.status)),
    h("td", {}, w.outcome ? h("code", {}, w.outcome) : "—"),
    // A waiting instance carries its pending verdict; it is decided by nobody yet.
    h("td", {}, OPEN.has(w.status) ? "—" : (w.verdict?.by ?? "—")),
    h("td", {}, time(w.startedAt)),
    h("td", { class: "num" }, duration(w.durationMs)),
  );

async function load() {
  say(line, "Loading…", "busy");
  try {
    const page = /** @type {WorkflowPage} */ (await api(`/v1/workflows${queryOf({ ...filters, before, limit: 50 })}`));
    for (const w of page.workflows) rows.append(row(w));
    count += page.workflows.length;
    before = page.next?.before;
    more.hidden = before === undefined;
    say(line, count === 0 ? "No workflows match." : `${count} workflow${count === 1 ? "" : "s"} shown.`, "ok");
  } catch (error) {
    say(line, `Could not read workflows: ${describe(error)}`, "error");
  }
}

more.addEventListener("click", () => void load());
void load();
