// Live stream: the newest events as they arrive. The page is the frame; stream.js polls GET /v1/events
// with the session cookie, like any other client of the API.
import type { Registry } from "../../registry";
import { filtersOf, optionalText, TextField } from "../form";
import { Layout } from "../layout";

export function streamPage(registry: Registry, csrf: string, query: Record<string, string>) {
  const f = filtersOf({ type: optionalText, source: optionalText, correlationid: optionalText }, query);
  return (
    <Layout title="Live stream" section="stream" csrf={csrf} scripts={["stream.js", "test-event.js"]}>
      <h1>Live stream</h1>
      <form class="filters" method="get" action="/console/stream">
        <TextField label="Type" name="type" value={f.type} list="event-types" />
        <TextField label="Source" name="source" value={f.source} />
        <TextField label="Correlation" name="correlationid" value={f.correlationid} />
        <button type="submit">Filter</button>
        <a href="/console/stream">Clear</a>
      </form>
      <datalist id="event-types">
        {Object.keys(registry.catalog).map((t) => (
          <option value={t} />
        ))}
      </datalist>
      <details id="test-event" class="test-event">
        <summary>Send a test event</summary>
        <p class="hint">
          Signed on the server with the webhook secret and sent through the same ingest as any webhook. The body starts
          as the type's example from the catalog.
        </p>
        <form>
          <label>
            Type
            <select name="type" required>
              {Object.entries(registry.catalog)
                .filter(([, e]) => e.publishers === "external")
                .map(([t]) => (
                  <option value={t}>{t}</option>
                ))}
            </select>
          </label>
          <label>
            Correlation (optional)
            <input name="correlationid" maxlength={256} />
          </label>
          <label class="wide">
            Data (JSON)
            <textarea name="data" rows={8} spellcheck={false} class="code"></textarea>
          </label>
          <div class="buttons">
            <button type="submit">Send</button>
            <button type="button" name="example">
              Reset to the example
            </button>
          </div>
          <p id="test-event-status" role="status" class="status"></p>
        </form>
      </details>
      <div class="bar">
        <p id="stream-status" role="status" class="status">
          Loading…
        </p>
        <button type="button" id="stream-pause" aria-pressed="false">
          Pause
        </button>
      </div>
      <table id="stream" class="data">
        <thead>
          <tr>
            <th>Seq</th>
            <th>Received</th>
            <th>Type</th>
            <th>Source</th>
            <th>Event id</th>
            <th>Correlation</th>
            <th>Hop</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody></tbody>
      </table>
    </Layout>
  );
}
