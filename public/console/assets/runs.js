// Agent runs as a table (the workflow and event pages): who ran, how it ended, which tier and model
// decided, whether and why it escalated, triage's confidence, its cost and latency, its error.
import { badge, duration, errorText, h, money } from "./dom.js";

/**
 * @typedef {{ tier: string, model: string, confidence: number | null, costMicros: number, alwaysEscalateMicros: number,
 *   latencyMs: number, outcome: string, attempt: number, tokens: { input: number, output: number, cacheRead: number, cacheWrite: number } }} ModelCall
 * @typedef {{ model: string, tier: string | null, escalated: boolean, escalationReason: string | null,
 *   budgetLimited: boolean, costMicros: number }} RunModel
 * @typedef {{ attempt: number, status: string, startedAt: number, finishedAt: number, error?: string, costMicros?: number }} Attempt
 * @typedef {{ status?: number, skipped?: string, webhookId: string, excerpt?: string }} Delivery
 * @typedef {{ step: number, kind: "model" | "tool", tier: string, model?: string, stopReason?: string | null,
 *   toolCalls?: string[], tokens?: { input: number, output: number, cacheRead: number }, tool?: string,
 *   input?: unknown, result?: string, isError?: boolean, costMicros?: number, latencyMs: number,
 *   attempt: number }} Step
 * @typedef {{ agent: string, status: string, attempt: number, startedAt: number, finishedAt: number | null,
 *   latencyMs: number | null, model: RunModel | null, calls?: ModelCall[], attempts?: Attempt[], error: unknown,
 *   output?: { delivery?: Delivery } | null, steps?: Step[],
 *   violations?: { kind: string, detail: string }[] }} Run
 */

/** The confidence of the call that decided: the last one that reported one. @param {Run} r */
export const confidence = (r) => {
  const c = [...(r.calls ?? [])].reverse().find((call) => call.confidence !== null);
  return c?.confidence === undefined || c.confidence === null ? "—" : c.confidence.toFixed(2);
};

/**
 * One step as a line: a model reply (and the tools it asked for) or a tool call (input → result).
 * @param {Step} s
 * @returns {import("./dom.js").Child[]}
 */
export const stepText = (s) =>
  s.kind === "model"
    ? [
        h("code", {}, s.model ?? ""),
        ` ${s.stopReason ?? ""}`,
        s.toolCalls?.length ? ` → ${s.toolCalls.join(", ")}` : "",
      ]
    : [
        h("code", {}, s.tool ?? ""),
        " ",
        h("code", { class: "excerpt" }, JSON.stringify(s.input ?? null).slice(0, 200)),
        " → ",
        h("span", { class: s.isError ? "error" : "excerpt" }, (s.result ?? "").slice(0, 300)),
      ];

/** A tool-using run's steps, folded under its agent's name. @param {Run} r */
const steps = (r) =>
  (r.steps ?? []).length === 0
    ? ""
    : h(
        "details",
        { class: "steps" },
        h("summary", {}, (r.steps ?? []).length === 1 ? "1 step" : `${(r.steps ?? []).length} steps`),
        h(
          "ol",
          { start: "0" },
          ...(r.steps ?? []).map((s) =>
            h("li", { "data-kind": s.kind }, ...stepText(s), ` (attempt ${s.attempt}, ${duration(s.latencyMs)})`),
          ),
        ),
      );

/** @param {Run} r */
function row(r) {
  const m = r.model;
  const delivery = r.output?.delivery;
  const escalated = m?.escalated ? `yes${m.escalationReason ? `: ${m.escalationReason}` : ""}` : m ? "no" : "—";
  return h(
    "tr",
    { "data-agent": r.agent },
    h("td", {}, r.agent, steps(r)),
    h("td", {}, badge(r.status)),
    h("td", { class: "num" }, r.attempt),
    h("td", {}, m ? (m.tier ?? "—") : delivery ? "delivery" : "rules", m?.budgetLimited ? " (budget-limited)" : ""),
    h(
      "td",
      { title: delivery?.excerpt },
      m ? h("code", {}, m.model) : delivery ? (delivery.skipped ?? `HTTP ${delivery.status ?? "?"}`) : "—",
    ),
    h("td", {}, escalated),
    h("td", { class: "num" }, confidence(r)),
    h("td", { class: "num" }, m ? money(m.costMicros) : "—"),
    h("td", { class: "num" }, duration(r.latencyMs)),
    h("td", { class: "error" }, errorText(r.error)),
  );
}

const HEADINGS = ["Agent", "Status", "Attempt", "Tier", "Model", "Escalated", "Confidence", "Cost", "Latency", "Error"];

/** @param {Run[]} runs */
export const runTable = (runs) =>
  h(
    "table",
    { class: "data runs" },
    h("thead", {}, h("tr", {}, ...HEADINGS.map((t) => h("th", {}, t)))),
    h("tbody", {}, ...runs.map(row)),
  );
