// Dead letters: deliveries that ran out of retries, with their error and attempts; replay one, or every
// letter a filter selects. dead-letters.js calls GET /v1/dead-letters and the replay endpoints.
import type { Registry } from "../../registry";
import { filtersOf, optionalText, SelectField, TextField } from "../form";
import { Layout } from "../layout";

export function deadLettersPage(registry: Registry, csrf: string, query: Record<string, string>) {
  const f = filtersOf(
    { status: optionalText, agent: optionalText, correlationid: optionalText, from: optionalText, to: optionalText },
    query,
  );
  return (
    <Layout title="Dead letters" section="dead-letters" csrf={csrf} scripts={["dead-letters.js"]}>
      <h1>Dead letters</h1>
      <form class="filters" method="get" action="/console/dead-letters">
        <SelectField label="Status" name="status" value={f.status} options={["dead", "replayed"]} />
        <SelectField label="Agent" name="agent" value={f.agent} options={registry.agents.map((a) => a.name)} />
        <TextField label="Correlation" name="correlationid" value={f.correlationid} />
        <label>
          Recorded from
          <input type="datetime-local" name="from" value={f.from ?? ""} step="1" />
        </label>
        <label>
          to
          <input type="datetime-local" name="to" value={f.to ?? ""} step="1" />
        </label>
        <button type="submit">Filter</button>
        <a href="/console/dead-letters">Clear</a>
      </form>
      <div class="bar">
        <p id="dl-status" role="status" class="status">
          Loading…
        </p>
        <button type="button" id="dl-replay-matching" disabled>
          Replay all matching
        </button>
      </div>
      <table id="dead-letters" class="data">
        <thead>
          <tr>
            <th>Id</th>
            <th>Recorded</th>
            <th>Kind</th>
            <th>Agent</th>
            <th>Event</th>
            <th>Correlation</th>
            <th>Attempts</th>
            <th>Error</th>
            <th>Status</th>
            <th></th>
          </tr>
        </thead>
        <tbody></tbody>
      </table>
      <button type="button" id="dl-more" hidden>
        Load more
      </button>
    </Layout>
  );
}
