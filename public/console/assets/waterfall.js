// A waterfall timeline of events and agent runs, drawn as SVG (positions are attributes, so the CSP's
// ban on inline styles holds): each event from received to logged, each run queued, then every
// attempt (failed ones red, the wait before a retry dashed), late results marked, and vertical marks
// for the moments that matter (decided, deadline).
import { duration, localTime, svg } from "./dom.js";

/**
 * @typedef {{ from: number, to: number | null, kind: string, title: string }} Segment
 *   kind: log | queued | retry | succeeded | failed | dead_lettered | running
 * @typedef {{ label: string, depth: number, kind: "event" | "run", late?: boolean, segments: Segment[] }} Row
 * @typedef {{ at: number, label: string, kind: string }} Mark
 * @typedef {{ attempt: number, status: string, startedAt: number, finishedAt: number, error?: string }} Attempt
 * @typedef {{ agent: string, status: string, attempt: number, startedAt: number, finishedAt: number | null,
 *   attempts?: Attempt[] }} TimedRun
 */

const LABEL = 280;
const CHART = 720;
const ROW = 22;
const TOP = 22;
const INDENT = 14;

/**
 * The rows of one run: queued from `queuedAt` until its first attempt, each attempt, the wait between.
 * @param {TimedRun} run
 * @param {number} queuedAt when its delivery was routed (or its event logged)
 * @param {number} depth
 * @returns {Row}
 */
export function runRow(run, queuedAt, depth) {
  /** @type {Segment[]} */
  const segments = [];
  const attempts = [...(run.attempts ?? [])].sort((a, b) => a.attempt - b.attempt);
  const finished = attempts.length > 0;
  // The attempt under way (or the only one known when no history was recorded).
  const current =
    run.status === "running" || !finished
      ? { attempt: run.attempt, status: run.status, startedAt: run.startedAt, finishedAt: run.finishedAt }
      : undefined;
  const all = current && !attempts.some((a) => a.attempt === current.attempt) ? [...attempts, current] : attempts;
  const first = all[0]?.startedAt ?? run.startedAt;
  if (first > queuedAt)
    segments.push({ from: queuedAt, to: first, kind: "queued", title: `queued ${first - queuedAt} ms` });
  let previousEnd = /** @type {number | null} */ (null);
  for (const a of all) {
    if (previousEnd !== null && a.startedAt > previousEnd) {
      segments.push({
        from: previousEnd,
        to: a.startedAt,
        kind: "retry",
        title: `waited ${a.startedAt - previousEnd} ms to retry`,
      });
    }
    const took = a.finishedAt === null ? "running" : duration(a.finishedAt - a.startedAt);
    const error = "error" in a && typeof a.error === "string" ? `: ${a.error}` : "";
    segments.push({
      from: a.startedAt,
      to: a.finishedAt,
      kind: a.status,
      title: `attempt ${a.attempt}, ${a.status}, ${took}${error}`,
    });
    previousEnd = a.finishedAt;
  }
  return { label: run.agent, depth, kind: "run", segments };
}

/**
 * @param {string} label
 * @param {number} depth
 * @param {number} receivedAt
 * @param {number} loggedAt
 * @param {boolean} late
 * @returns {Row}
 */
export function eventRow(label, depth, receivedAt, loggedAt, late) {
  return {
    label,
    depth,
    kind: "event",
    late,
    segments: [
      { from: receivedAt, to: loggedAt, kind: "log", title: `received, logged after ${loggedAt - receivedAt} ms` },
    ],
  };
}

/**
 * The timeline as an <svg>.
 * @param {Row[]} rows
 * @param {Mark[]} [marks]
 * @returns {SVGSVGElement}
 */
export function waterfall(rows, marks = []) {
  const now = Date.now();
  const times = rows.flatMap((r) => r.segments.flatMap((s) => [s.from, s.to ?? now]));
  const start = Math.min(...times);
  const end = Math.max(...times, ...marks.map((m) => m.at), start + 1);
  const x = (/** @type {number} */ t) => LABEL + ((t - start) / (end - start)) * CHART;
  const height = TOP + rows.length * ROW + 6;

  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const t = start + f * (end - start);
    return svg(
      "g",
      { class: "tick" },
      svg("line", { x1: x(t), x2: x(t), y1: TOP - 4, y2: height }),
      svg(
        "text",
        { x: x(t), y: 12, "text-anchor": f === 0 ? "start" : f === 1 ? "end" : "middle" },
        f === 0 ? localTime(new Date(start)).slice(11) : `+${duration(Math.round(t - start))}`,
      ),
    );
  });
  const lines = rows.map((r, i) => {
    const y = TOP + i * ROW;
    const bars = r.segments.map((s) => {
      const x1 = x(s.from);
      const w = Math.max(2, x(s.to ?? now) - x1);
      return svg(
        "rect",
        { x: x1, y: y + 5, width: w, height: ROW - 10, class: `bar ${s.kind}`, rx: 2 },
        svg("title", {}, s.title),
      );
    });
    const last = r.segments.at(-1);
    const took =
      r.kind === "run" && last && last.to !== null
        ? svg(
            "text",
            { x: Math.min(x(last.to) + 4, LABEL + CHART + 2), y: y + 15, class: "took" },
            duration(last.to - (r.segments[0]?.from ?? last.to)),
          )
        : null;
    return svg(
      "g",
      { class: `row ${r.kind}${r.late ? " late" : ""}`, "data-row": r.label },
      svg("text", { x: 4 + r.depth * INDENT, y: y + 15, class: "label" }, r.late ? `${r.label} (late)` : r.label),
      ...bars,
      took,
    );
  });
  const moments = marks.map((m) =>
    svg(
      "g",
      { class: `mark ${m.kind}` },
      svg("line", { x1: x(m.at), x2: x(m.at), y1: TOP - 4, y2: height }),
      svg("title", {}, `${m.label} at ${localTime(new Date(m.at))}`),
    ),
  );
  return svg(
    "svg",
    {
      class: "waterfall",
      viewBox: `0 0 ${LABEL + CHART + 40} ${height}`,
      width: LABEL + CHART + 40,
      height,
      role: "img",
      "aria-label": "Timeline of events and agent runs",
    },
    ...ticks,
    ...lines,
    ...moments,
  );
}
