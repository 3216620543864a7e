// Live stream: the newest events first, polled every 2 s from GET /v1/events: the first page newest
// first, then what came after the newest seq seen (`after`, oldest first). Events are told apart by
// seq, so none shows twice.
import { api, describe, queryOf } from "./api.js";
import { badge, byId, eventLink, h, say, time, workflowLink } from "./dom.js";

/**
 * @typedef {{ id: string, source: string, type: string, correlationid: string, hopcount?: number }} Envelope
 * @typedef {{ seq: number, receivedAt: number, status?: string, duplicates?: number, event: Envelope }} LoggedEvent
 * @typedef {{ events: LoggedEvent[] }} EventsPage
 */

const POLL_MS = 2000;
const PAGE = 100;
const MAX_ROWS = 500;

const params = new URLSearchParams(location.search);
const filters = {
  type: params.get("type") ?? "",
  correlationid: params.get("correlationid") ?? "",
  // Sent too, for a server that filters by source; matched here as well for one that does not.
  source: params.get("source") ?? "",
};
const rows = /** @type {HTMLTableSectionElement} */ (byId("stream", HTMLTableElement).tBodies[0]);
const status = byId("stream-status", HTMLElement);
const pause = byId("stream-pause", HTMLButtonElement);

let lastSeq = 0;
let shown = 0;
let paused = false;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;

/** @param {LoggedEvent} e */
function row(e) {
  const ev = e.event;
  return h(
    "tr",
    { "data-seq": String(e.seq), "data-type": ev.type },
    h("td", { class: "num" }, e.seq),
    h("td", {}, time(e.receivedAt)),
    h("td", {}, h("code", {}, ev.type)),
    h("td", {}, ev.source),
    h("td", {}, eventLink(ev.id, ev.source)),
    h("td", {}, workflowLink(ev.correlationid)),
    h("td", { class: "num" }, ev.hopcount ?? 0),
    h(
      "td",
      {},
      badge(e.status ?? "logged"),
      e.duplicates
        ? h("span", { class: "muted" }, ` +${e.duplicates} duplicate${e.duplicates === 1 ? "" : "s"}`)
        : null,
    ),
  );
}

/** Shows events not shown yet, newest on top. @param {LoggedEvent[]} events */
function show(events) {
  const fresh = events.filter((e) => e.seq > lastSeq).sort((a, b) => a.seq - b.seq);
  for (const e of fresh) {
    lastSeq = Math.max(lastSeq, e.seq);
    if (filters.source && e.event.source !== filters.source) continue;
    rows.prepend(row(e));
    shown++;
  }
  while (rows.rows.length > MAX_ROWS) rows.deleteRow(-1);
  return fresh.length;
}

/** @param {Record<string, number>} extra */
const eventsUrl = (extra) => `/v1/events${queryOf({ ...filters, ...extra })}`;

async function poll() {
  // A full page means more are waiting: up to 10 pages per tick, so a burst catches up without one
  // tick running forever.
  for (let i = 0; i < 10; i++) {
    const page = /** @type {EventsPage} */ (await api(eventsUrl({ after: lastSeq, limit: PAGE })));
    show(page.events);
    if (page.events.length < PAGE) break;
  }
  say(
    status,
    `Live · ${shown} event${shown === 1 ? "" : "s"} shown · checked ${new Date().toLocaleTimeString()}`,
    "ok",
  );
}

function schedule() {
  clearTimeout(timer);
  if (!paused) timer = setTimeout(tick, POLL_MS);
}

async function tick() {
  try {
    if (!document.hidden) await poll();
  } catch (error) {
    say(status, `Could not read events: ${describe(error)}. Retrying.`, "error");
  }
  schedule();
}

pause.addEventListener("click", () => {
  paused = !paused;
  pause.textContent = paused ? "Resume" : "Pause";
  pause.setAttribute("aria-pressed", String(paused));
  if (paused) say(status, "Paused", "");
  else void tick();
});

async function start() {
  try {
    const page = /** @type {EventsPage} */ (await api(eventsUrl({ limit: 50 })));
    show(page.events);
    say(status, shown === 0 ? "Live · waiting for events" : `Live · ${shown} events shown`, "ok");
  } catch (error) {
    say(status, `Could not read events: ${describe(error)}. Retrying.`, "error");
  }
  schedule();
}

void start();
