// Dead letters: GET /v1/dead-letters with the page's filters, newest first; replay one
// (POST /v1/dead-letters/:id/replay) or every dead one the filters select (POST /v1/dead-letters/replay).
import { api, describe, queryOf } from "./api.js";
import { badge, byId, errorText, h, say, time, workflowLink } from "./dom.js";

/**
 * @typedef {{ id: string, source: string, type: string, correlationid: string }} Envelope
 * @typedef {{ id: number, kind: string, status: string, agent: string | null, attempts: number, error: unknown,
 *   event: Envelope, recordedAt: number, replays: number, replayedAt: number | null }} DeadLetter
 * @typedef {{ deadLetters: DeadLetter[], next: { before: number } | null }} DeadLetterPage
 * @typedef {{ id: number, replayed: boolean, status: string }} ReplayOne
 * @typedef {{ replayed: { id: number }[] }} ReplayMany
 */

const params = new URLSearchParams(location.search);
/** datetime-local text (local time) as ms since the epoch. @param {string | null} text */
const ms = (text) => (text ? new Date(text).getTime() || undefined : undefined);
const selection = {
  agent: params.get("agent") || undefined,
  correlationid: params.get("correlationid") || undefined,
  from: ms(params.get("from")),
  to: ms(params.get("to")),
};
const status = params.get("status") || undefined;

const rows = /** @type {HTMLTableSectionElement} */ (byId("dead-letters", HTMLTableElement).tBodies[0]);
const line = byId("dl-status", HTMLElement);
const more = byId("dl-more", HTMLButtonElement);
const replayMatching = byId("dl-replay-matching", HTMLButtonElement);

/** @type {number | undefined} */
let before;
let count = 0;

/** @param {DeadLetter} d */
function row(d) {
  const action = h("td");
  const state = h("td", {}, badge(d.status), d.replays > 0 ? ` ×${d.replays}` : "");
  if (d.status === "dead") {
    const button = h("button", { type: "button" }, "Replay");
    button.addEventListener("click", () => void replayOne(d, button, state));
    action.append(button);
  }
  return h(
    "tr",
    { "data-id": String(d.id) },
    h("td", { class: "num" }, d.id),
    h("td", {}, time(d.recordedAt)),
    h("td", {}, d.kind),
    h("td", {}, d.agent ?? "—"),
    h("td", {}, h("code", {}, d.event.type), " ", h("code", { class: "muted" }, d.event.id)),
    h("td", {}, workflowLink(d.event.correlationid)),
    h("td", { class: "num" }, d.attempts),
    h("td", { class: "error" }, errorText(d.error)),
    state,
    action,
  );
}

/**
 * @param {DeadLetter} d
 * @param {HTMLButtonElement} button
 * @param {HTMLElement} state
 */
async function replayOne(d, button, state) {
  button.disabled = true;
  try {
    const answer = /** @type {ReplayOne} */ (await api(`/v1/dead-letters/${d.id}/replay`, { method: "POST" }));
    state.replaceChildren(badge(answer.status));
    button.remove();
    say(
      line,
      answer.replayed ? `Dead letter ${d.id} replayed.` : `Dead letter ${d.id} had already been replayed.`,
      "ok",
    );
  } catch (error) {
    button.disabled = false;
    say(line, `Could not replay ${d.id}: ${describe(error)}`, "error");
  }
}

async function load() {
  say(line, "Loading…", "busy");
  try {
    const page = /** @type {DeadLetterPage} */ (
      await api(`/v1/dead-letters${queryOf({ ...selection, status, before, limit: 50 })}`)
    );
    for (const d of page.deadLetters) rows.append(row(d));
    count += page.deadLetters.length;
    before = page.next?.before;
    more.hidden = before === undefined;
    say(line, count === 0 ? "No dead letters match." : `${count} dead letter${count === 1 ? "" : "s"} shown.`, "ok");
  } catch (error) {
    say(line, `Could not read dead letters: ${describe(error)}`, "error");
  }
}

more.addEventListener("click", () => void load());

// Replaying "everything" needs a filter: the API refuses an empty selection, and so does this button.
const filtered = Object.values(selection).some((v) => v !== undefined);
replayMatching.disabled = !filtered;
replayMatching.title = filtered ? "" : "Filter by agent, correlation or time first";
replayMatching.addEventListener("click", () => void replayAll());

async function replayAll() {
  const what = Object.entries(selection)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${k === "from" || k === "to" ? new Date(Number(v)).toISOString() : String(v)}`)
    .join(", ");
  if (!confirm(`Replay every dead letter still dead with ${what}?`)) return;
  replayMatching.disabled = true;
  try {
    const answer = /** @type {ReplayMany} */ (
      await api("/v1/dead-letters/replay", { method: "POST", body: selection })
    );
    rows.replaceChildren();
    count = 0;
    before = undefined;
    await load();
    say(line, `${answer.replayed.length} dead letter${answer.replayed.length === 1 ? "" : "s"} replayed.`, "ok");
  } catch (error) {
    say(line, `Could not replay: ${describe(error)}`, "error");
  } finally {
    replayMatching.disabled = false;
  }
}

void load();
