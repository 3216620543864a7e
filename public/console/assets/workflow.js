// One workflow: GET /v1/workflows/:id as a summary (status, verdict, cost), its causal tree with every
// agent run (tier, model, escalation, confidence, cost), and the approval form while it waits for a
// human. Refreshed every 2 s until it has finished.
import { api, describe } from "./api.js";
import { badge, byId, duration, eventLink, h, money, say, time } from "./dom.js";
import { runTable } from "./runs.js";
import { eventRow, runRow, waterfall } from "./waterfall.js";

/**
 * @typedef {import("./runs.js").Run} Run
 * @typedef {{ id: string, source: string, type: string, receivedAt: number, loggedAt: number, late: boolean,
 *   runs: Run[], children: TreeNode[] }} TreeNode
 * @typedef {{ decision: string, by: string, reasons: string[], conflict: boolean,
 *   approver?: { by: string, reason: string } }} Verdict
 * @typedef {{ workflow: string, status: string, approvalDeadlineAt: number | null, deadlineAt: number,
 *   completedAt: number | null, late: string[] }} Instance
 * @typedef {{ id: string, workflow: string, status: string, outcome: string | null, verdict: Verdict | null,
 *   startedAt: number, completedAt: number | null, durationMs: number | null, instances: Instance[],
 *   events: TreeNode[] }} WorkflowView
 * @typedef {{ status: string, outcome: string | null }} Answer
 */

const REFRESH_MS = 2000;
const id = byId("workflow", HTMLElement).dataset.id ?? "";
const line = byId("wf-status", HTMLElement);
const summary = byId("wf-summary", HTMLElement);
const tree = byId("wf-tree", HTMLElement);
const timeline = byId("wf-waterfall", HTMLElement);
const approval = byId("wf-approval", HTMLFormElement);
const deadline = byId("wf-deadline", HTMLElement);

/** @type {Instance | undefined} */
let waiting;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;

/** @param {TreeNode[]} nodes @returns {Run[]} */
const allRuns = (nodes) => nodes.flatMap((n) => [...n.runs, ...allRuns(n.children)]);

/** @param {string} term @param {import("./dom.js").Child | import("./dom.js").Child[]} value */
const entry = (term, value) => [h("dt", {}, term), h("dd", {}, ...(Array.isArray(value) ? value : [value]))];

/** How it was decided; while a human is asked, the verdict is only pending. @param {WorkflowView} w */
function verdictText(w) {
  const v = w.verdict;
  if (w.status === "awaiting_approval") return "pending: a human decides";
  if (!v) return "—";
  return `${v.decision}, by ${v.by}${v.conflict ? " (the results disagreed)" : ""}`;
}

/** @param {WorkflowView} w */
function renderSummary(w) {
  const runs = allRuns(w.events);
  const cost = runs.reduce((sum, r) => sum + (r.model?.costMicros ?? 0), 0);
  const v = w.verdict;
  summary.replaceChildren(
    ...entry("Workflow", w.workflow),
    ...entry("Status", badge(w.status)),
    ...entry("Outcome", w.outcome ? h("code", {}, w.outcome) : "—"),
    ...entry("Verdict", verdictText(w)),
    ...entry("Reasons", v && v.reasons.length > 0 ? h("ul", {}, ...v.reasons.map((r) => h("li", {}, r))) : "—"),
    ...(v?.approver ? entry("Approver", `${v.approver.by}: ${v.approver.reason || "(no reason given)"}`) : []),
    ...entry("Started", time(w.startedAt)),
    ...entry("Finished", time(w.completedAt)),
    ...entry("Duration", duration(w.durationMs)),
    ...entry("Agent runs", String(runs.length)),
    ...entry("Model cost", money(cost)),
  );
}

/** @param {TreeNode} n @returns {HTMLLIElement} */
function node(n) {
  const head = h(
    "div",
    { class: "node" },
    h("code", { class: "type" }, n.type),
    " ",
    eventLink(n.id, n.source),
    " from ",
    n.source,
    " · ",
    time(n.receivedAt),
    n.late ? h("span", { class: "badge", "data-status": "late" }, "late") : null,
  );
  const runs = n.runs.length > 0 ? runTable(n.runs) : null;
  const children = n.children.length > 0 ? h("ul", { class: "tree" }, ...n.children.map(node)) : null;
  return h("li", { "data-type": n.type }, head, runs, children);
}

/**
 * The waterfall's rows: each event, then its runs, then what it caused, in causal order.
 * @param {TreeNode[]} nodes
 * @param {number} depth
 * @returns {import("./waterfall.js").Row[]}
 */
const timelineRows = (nodes, depth) =>
  nodes.flatMap((n) => [
    eventRow(n.type, depth, n.receivedAt, n.loggedAt, n.late),
    ...n.runs.map((r) => runRow(r, n.loggedAt, depth + 1)),
    ...timelineRows(n.children, depth + 1),
  ]);

/** When each instance decided, and its deadline once it has passed. @param {WorkflowView} w */
const marks = (w) =>
  w.instances.flatMap((i) => [
    ...(i.completedAt ? [{ at: i.completedAt, label: `${i.workflow} decided (${i.status})`, kind: "decided" }] : []),
    ...(i.status === "timed_out" ? [{ at: i.deadlineAt, label: `${i.workflow} deadline`, kind: "deadline" }] : []),
  ]);

/** @param {number} at */
function countdown(at) {
  const left = Math.max(0, at - Date.now());
  const s = Math.floor(left / 1000);
  deadline.replaceChildren(
    "Answer before ",
    time(at),
    ` (${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s left); then it decides without you.`,
  );
}

async function load() {
  clearTimeout(timer);
  try {
    const w = /** @type {WorkflowView} */ (await api(`/v1/workflows/${encodeURIComponent(id)}`));
    renderSummary(w);
    tree.replaceChildren(h("ul", { class: "tree" }, ...w.events.map(node)));
    timeline.replaceChildren(waterfall(timelineRows(w.events, 0), marks(w)));
    waiting = w.instances.find((i) => i.status === "awaiting_approval");
    approval.hidden = waiting === undefined;
    if (waiting?.approvalDeadlineAt) countdown(waiting.approvalDeadlineAt);
    say(line, `Updated ${new Date().toLocaleTimeString()}`, "ok");
    const open = w.instances.some((i) => i.status === "running" || i.status === "awaiting_approval");
    if (open) timer = setTimeout(() => void load(), REFRESH_MS);
  } catch (error) {
    say(line, `Could not read the workflow: ${describe(error)}`, "error");
    timer = setTimeout(() => void load(), REFRESH_MS * 5);
  }
}

approval.addEventListener("submit", (e) => {
  e.preventDefault();
  const decision = e.submitter instanceof HTMLButtonElement ? e.submitter.value : "";
  if (decision === "approve" || decision === "reject") void answer(decision);
});

/** @param {"approve" | "reject"} decision */
async function answer(decision) {
  const form = new FormData(approval);
  /** @param {string} name */
  const text = (name) => {
    const value = form.get(name);
    return typeof value === "string" ? value : "";
  };
  const body = {
    by: text("by").trim(),
    reason: text("reason"),
    ...(waiting ? { workflow: waiting.workflow } : {}),
  };
  const buttons = approval.querySelectorAll("button");
  buttons.forEach((b) => (b.disabled = true));
  try {
    const path = `/v1/workflows/${encodeURIComponent(id)}/${decision}`;
    const result = /** @type {Answer} */ (await api(path, { method: "POST", body }));
    say(
      line,
      `${decision === "approve" ? "Approved" : "Rejected"}: ${result.status}, ${result.outcome ?? "no outcome yet"}`,
      "ok",
    );
    approval.hidden = true;
    await load();
  } catch (error) {
    say(line, `Could not ${decision}: ${describe(error)}`, "error");
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

setInterval(() => {
  if (waiting?.approvalDeadlineAt && !approval.hidden) countdown(waiting.approvalDeadlineAt);
}, 1000);
void load();
