// Anomalies: each section reads its /v1 list (newest first, "Load more" follows next.before); the
// rising-failure section compares each agent's last hour with its last day from /v1/topology.
import { api, describe, queryOf } from "./api.js";
import { badge, errorText, h, say, time, workflowLink } from "./dom.js";

/** @typedef {Record<string, unknown>} Row */
/** @typedef {{ name: string, health: { runs: number, errorRate: number, p50LatencyMs: number | null } }} AgentHealth */

/** Text of an API value. @param {unknown} v */
const s = (v) =>
  v === null || v === undefined
    ? "—"
    : typeof v === "string" || typeof v === "number" || typeof v === "boolean"
      ? String(v)
      : JSON.stringify(v);
/** A time value for time(). @param {unknown} v */
const t = (v) => (typeof v === "number" || typeof v === "string" ? v : null);
/** A nested object of a row. @param {unknown} v @returns {Row} */
const obj = (v) => (typeof v === "object" && v !== null ? /** @type {Row} */ (v) : {});
/** @typedef {{ head: string[], cells: (r: Row) => (Node | string | number)[] }} Columns */

/** @param {Row} r */
const eventOf = (r) => h("span", {}, h("code", {}, s(r.type)), " ", h("code", { class: "muted" }, s(r.eventId)));
/** @param {unknown} id */
const correlation = (id) => (typeof id === "string" && id ? workflowLink(id) : "—");

/** @type {Record<string, { path: string, key: string, columns: Columns }>} */
const LISTS = {
  alerts: {
    path: "/v1/events?type=alert.raised",
    key: "events",
    columns: {
      head: ["Raised", "Severity", "Condition", "Subject", "What", "Window from"],
      cells: (r) => {
        const data = obj(obj(r.event).data);
        return [
          time(t(r.receivedAt)),
          badge(s(data.severity)),
          s(data.condition),
          s(data.subject),
          s(data.summary),
          time(t(data.windowStart)),
        ];
      },
    },
  },
  unrouted: {
    path: "/v1/unrouted",
    key: "unrouted",
    columns: {
      head: ["Logged", "Event", "Source", "Correlation"],
      cells: (r) => [time(t(r.loggedAt)), eventOf(r), s(r.eventSource), correlation(r.correlationId)],
    },
  },
  parked: {
    path: "/v1/parked",
    key: "parked",
    columns: {
      head: ["Parked", "Reason", "Event", "Hops", "Correlation"],
      cells: (r) => [time(t(r.parkedAt)), badge(s(r.reason)), eventOf(r), s(r.hopcount), correlation(r.correlationId)],
    },
  },
  late: {
    path: "/v1/late-results",
    key: "late",
    columns: {
      head: ["Workflow", "Status", "Decided", "Late result", "From", "Arrived"],
      cells: (r) => [
        correlation(r.workflowId),
        badge(s(r.status)),
        time(t(r.completedAt)),
        eventOf(r),
        s(r.eventSource),
        time(t(r.loggedAt)),
      ],
    },
  },
  violations: {
    path: "/v1/violations",
    key: "violations",
    columns: {
      head: ["Recorded", "Kind", "By", "Event", "Detail", "Correlation"],
      cells: (r) => [
        time(t(r.recordedAt)),
        badge(s(r.kind)),
        s(r.agent ?? r.detectedBy),
        h("span", {}, h("code", {}, s(r.eventType)), " ", h("code", { class: "muted" }, s(r.eventId))),
        h("span", { class: "error" }, s(r.detail)),
        correlation(r.correlationId),
      ],
    },
  },
  timedout: {
    path: "/v1/workflows?status=timed_out",
    key: "workflows",
    columns: {
      head: ["Started", "Workflow", "Id", "Deadline", "Outcome"],
      cells: (r) => [time(t(r.startedAt)), s(r.workflow), correlation(r.id), time(t(r.deadlineAt)), s(r.outcome)],
    },
  },
  dead: {
    path: "/v1/dead-letters?status=dead",
    key: "deadLetters",
    columns: {
      head: ["Recorded", "Agent", "Event", "Attempts", "Error"],
      cells: (r) => [
        time(t(r.recordedAt)),
        s(r.agent),
        h("span", {}, h("code", {}, s(obj(r.event).type)), " ", h("code", { class: "muted" }, s(obj(r.event).id))),
        s(r.attempts),
        h("span", { class: "error" }, errorText(r.error)),
      ],
    },
  },
  duplicates: {
    path: "/v1/duplicates",
    key: "duplicates",
    columns: {
      head: ["Last", "Kind", "Event", "Agent", "Count", "Correlation"],
      cells: (r) => [
        time(t(r.lastAt)),
        badge(s(r.kind)),
        eventOf(r),
        s(r.agent),
        s(r.count),
        correlation(r.correlationId),
      ],
    },
  },
};

/** The parts of a section the page rendered. @param {string} key */
function partsOf(key) {
  const section = document.getElementById(`anomaly-${key}`);
  if (!section) throw new Error(`#anomaly-${key} is missing`);
  const table = /** @type {HTMLTableElement} */ (section.querySelector("table"));
  return {
    status: /** @type {HTMLElement} */ (section.querySelector("[role=status]")),
    head: /** @type {HTMLTableSectionElement} */ (table.tHead),
    rows: /** @type {HTMLTableSectionElement} */ (table.tBodies[0]),
    more: /** @type {HTMLButtonElement} */ (section.querySelector("button")),
  };
}

/** @param {string} key */
async function list(key) {
  const spec = LISTS[key];
  if (!spec) return;
  const parts = partsOf(key);
  parts.head.replaceChildren(h("tr", {}, ...spec.columns.head.map((c) => h("th", {}, c))));
  let count = 0;
  /** @param {string | undefined} before */
  const page = async (before) => {
    try {
      const sep = spec.path.includes("?") ? "&" : "?";
      const answer = /** @type {Row} */ (
        await api(`${spec.path}${before ? `${sep}${queryOf({ before }).slice(1)}` : ""}`)
      );
      const rows = /** @type {Row[]} */ (answer[spec.key] ?? []);
      for (const r of rows) parts.rows.append(h("tr", {}, ...spec.columns.cells(r).map((c) => h("td", {}, c))));
      count += rows.length;
      const next = /** @type {{ before: string | number } | null} */ (answer.next);
      parts.more.hidden = !next;
      parts.more.onclick = next ? () => void page(String(next.before)) : null;
      say(parts.status, count === 0 ? "None." : `${count}${next ? "+" : ""} shown`, count === 0 ? "ok" : "error");
    } catch (error) {
      say(parts.status, describe(error), "error");
    }
  };
  await page(undefined);
}

/** Agents whose error rate over the last hour is above their last day's and above 10%. */
async function rising() {
  const parts = partsOf("rising");
  parts.head.replaceChildren(
    h("tr", {}, ...["Agent", "Last hour", "Last day", "Median latency"].map((c) => h("th", {}, c))),
  );
  try {
    const now = Date.now();
    const [hour, day] = /** @type {[{ agents: AgentHealth[] }, { agents: AgentHealth[] }]} */ (
      await Promise.all([api(`/v1/topology?since=${now - 3_600_000}`), api(`/v1/topology?since=${now - 86_400_000}`)])
    );
    /** @param {AgentHealth["health"]} h1 */
    const rate = (h1) => `${(100 * h1.errorRate).toFixed(1)}% of ${h1.runs}`;
    const flagged = hour.agents.filter((a) => {
      const d = day.agents.find((x) => x.name === a.name);
      return a.health.runs > 0 && a.health.errorRate > 0.1 && (!d || a.health.errorRate > d.health.errorRate);
    });
    for (const a of flagged) {
      const d = day.agents.find((x) => x.name === a.name);
      parts.rows.append(
        h(
          "tr",
          {},
          h("td", {}, a.name),
          h("td", { class: "error" }, rate(a.health)),
          h("td", {}, d ? rate(d.health) : "—"),
          h("td", {}, a.health.p50LatencyMs ?? "—"),
        ),
      );
    }
    say(
      parts.status,
      flagged.length === 0 ? "None." : `${flagged.length} agents`,
      flagged.length === 0 ? "ok" : "error",
    );
  } catch (error) {
    say(parts.status, describe(error), "error");
  }
}

void rising();
for (const key of Object.keys(LISTS)) void list(key);
