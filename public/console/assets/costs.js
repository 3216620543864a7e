// Costs and tiers: GET /v1/costs (the last 7 days): spend per UTC day and agent next to what always
// escalating would have cost, escalations and their reasons, today's budget, the costliest workflows.
import { api, describe } from "./api.js";
import { byId, h, money, say, workflowLink } from "./dom.js";

/**
 * @typedef {{ day: string, agent: string, calls: number, costMicros: number, alwaysEscalateMicros: number }} Day
 * @typedef {{ agent: string, runs: number, escalated: number, budgetLimited: number, rate: number, reasons: Record<string, number> }} Escalation
 * @typedef {{ day: string, dailySpentMicros: number, dailyReservedMicros: number, dailyCapMicros: number, workflowCapMicros: number }} Budget
 * @typedef {{ byDay: Day[], escalation: Escalation[], workflows: { correlationId: string, costMicros: number, runs: number }[], budget: Budget }} Costs
 */

const line = byId("costs-status", HTMLElement);
/** @param {string} id */
const body = (id) => /** @type {HTMLTableSectionElement} */ (byId(id, HTMLTableElement).tBodies[0]);
/** @param {number} x */
const percent = (x) => `${(100 * x).toFixed(1)}%`;
/** A bar as a <meter>: no inline style needed. @param {number} value @param {number} max */
const bar = (value, max) => h("meter", { min: "0", max: String(max || 1), value: String(value) });

async function load() {
  try {
    const costs = /** @type {Costs} */ (await api("/v1/costs"));
    const b = costs.budget;
    body("costs-budget").replaceChildren(
      h("tr", {}, h("th", {}, "Day"), h("td", {}, b.day)),
      h(
        "tr",
        {},
        h("th", {}, "Spent"),
        h(
          "td",
          {},
          money(b.dailySpentMicros),
          " of ",
          money(b.dailyCapMicros),
          " ",
          bar(b.dailySpentMicros, b.dailyCapMicros),
        ),
      ),
      h("tr", {}, h("th", {}, "Reserved (calls in flight)"), h("td", {}, money(b.dailyReservedMicros))),
      h("tr", {}, h("th", {}, "Per-workflow cap"), h("td", {}, money(b.workflowCapMicros))),
    );
    const spent = costs.byDay.reduce((s, d) => s + d.costMicros, 0);
    const always = costs.byDay.reduce((s, d) => s + d.alwaysEscalateMicros, 0);
    body("costs-total").replaceChildren(
      h("tr", {}, h("th", {}, "Spent (7 days)"), h("td", {}, money(spent))),
      h("tr", {}, h("th", {}, "Always escalating would have cost"), h("td", {}, money(always))),
      h(
        "tr",
        {},
        h("th", {}, "Saved by triage"),
        h("td", {}, money(always - spent), always ? ` (${percent(1 - spent / always)})` : ""),
      ),
    );
    const most = Math.max(0, ...costs.byDay.map((d) => d.alwaysEscalateMicros));
    body("costs-days").replaceChildren(
      ...costs.byDay.map((d) =>
        h(
          "tr",
          {},
          h("td", {}, d.day),
          h("td", {}, d.agent),
          h("td", { class: "num" }, d.calls),
          h("td", { class: "num" }, money(d.costMicros), " ", bar(d.costMicros, most)),
          h("td", { class: "num" }, money(d.alwaysEscalateMicros)),
          h("td", { class: "num" }, d.alwaysEscalateMicros ? percent(d.costMicros / d.alwaysEscalateMicros) : "—"),
        ),
      ),
    );
    body("costs-escalation").replaceChildren(
      ...costs.escalation.map((e) =>
        h(
          "tr",
          {},
          h("td", {}, e.agent),
          h("td", { class: "num" }, e.runs),
          h("td", { class: "num" }, e.escalated),
          h("td", { class: "num" }, percent(e.rate), " ", bar(e.rate, 1)),
          h("td", { class: "num" }, e.budgetLimited),
          h(
            "td",
            {},
            Object.entries(e.reasons)
              .map(([r, n]) => `${r} ×${n}`)
              .join(", ") || "—",
          ),
        ),
      ),
    );
    body("costs-workflows").replaceChildren(
      ...costs.workflows.map((w) =>
        h(
          "tr",
          {},
          h("td", {}, workflowLink(w.correlationId)),
          h("td", { class: "num" }, w.runs),
          h("td", { class: "num" }, money(w.costMicros)),
          h(
            "td",
            { class: "num" },
            percent(w.costMicros / (b.workflowCapMicros || 1)),
            " ",
            bar(w.costMicros, b.workflowCapMicros),
          ),
        ),
      ),
    );
    say(line, `The last 7 days · ${costs.byDay.length} agent-days`, "ok");
  } catch (error) {
    say(line, describe(error), "error");
  }
}

void load();
