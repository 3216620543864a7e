// "Send a test event" on the stream page: the type's example from GET /v1/catalog fills the body; Send
// posts it to POST /v1/test-events, which signs it on the server and puts it through the normal ingest.
import { api, describe } from "./api.js";
import { byId, eventLink, say } from "./dom.js";

/** @typedef {{ type: string, example: unknown }} CatalogType */

/** Where /v1/test-events says its events come from (src/http/catalog.ts). */
const SOURCE = "/console/test-events";

const panel = byId("test-event", HTMLDetailsElement);
const form = /** @type {HTMLFormElement} */ (panel.querySelector("form"));
const status = byId("test-event-status", HTMLElement);
const type = /** @type {HTMLSelectElement} */ (form.elements.namedItem("type"));
const correlation = /** @type {HTMLInputElement} */ (form.elements.namedItem("correlationid"));
const data = /** @type {HTMLTextAreaElement} */ (form.elements.namedItem("data"));
const reset = /** @type {HTMLButtonElement} */ (form.elements.namedItem("example"));

/** @type {Map<string, unknown> | undefined} */
let examples;

async function fillExample() {
  try {
    if (!examples) {
      const catalog = /** @type {{ types: CatalogType[] }} */ (await api("/v1/catalog"));
      examples = new Map(catalog.types.map((t) => [t.type, t.example]));
    }
    data.value = JSON.stringify(examples.get(type.value) ?? {}, null, 2);
    say(status, "");
  } catch (error) {
    say(status, `Could not read the catalog: ${describe(error)}`, "error");
  }
}

/** @returns {{ ok: true, value: unknown } | { ok: false, message: string }} */
function parsedData() {
  try {
    return { ok: true, value: /** @type {unknown} */ (JSON.parse(data.value || "null")) };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

async function send() {
  const body = parsedData();
  if (!body.ok) {
    say(status, `The data is not JSON: ${body.message}`, "error");
    return;
  }
  const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
  button.disabled = true;
  say(status, "Sending…", "busy");
  try {
    const answer = /** @type {{ accepted: { id: string, duplicate: boolean }[] }} */ (
      await api("/v1/test-events", {
        method: "POST",
        body: {
          type: type.value,
          data: body.value,
          ...(correlation.value ? { correlationid: correlation.value } : {}),
        },
      })
    );
    const [first] = answer.accepted;
    status.replaceChildren(
      "Logged ",
      first ? eventLink(first.id, SOURCE) : "nothing",
      first?.duplicate ? " (a duplicate of one already logged)" : "",
      ": it appears in the stream below.",
    );
    status.dataset.kind = "ok";
  } catch (error) {
    say(status, `Refused: ${describe(error)}`, "error");
  } finally {
    button.disabled = false;
  }
}

panel.addEventListener("toggle", () => {
  if (panel.open && !data.value) void fillExample();
});
type.addEventListener("change", () => void fillExample());
reset.addEventListener("click", () => void fillExample());
form.addEventListener("submit", (e) => {
  e.preventDefault();
  void send();
});
