// One event: what it said, who it was delivered to, every agent run with each attempt and model call
// (tier, tokens, cost, latency), policy violations, and a waterfall of its runs. event.js reads
// GET /v1/events/:id (with ?source= when the id is shared by senders).
import { Layout } from "../layout";

export function eventPage(id: string, source: string | undefined, csrf: string) {
  return (
    <Layout title={`Event ${id}`} section="stream" csrf={csrf} scripts={["event.js"]}>
      <p class="crumbs">
        <a href="/console/stream">Stream</a> / <span>{id}</span>
      </p>
      <h1>
        Event <code>{id}</code>
      </h1>
      <section id="event" data-id={id} data-source={source ?? ""} aria-live="polite">
        <p id="ev-status" role="status" class="status">
          Loading…
        </p>
        <dl id="ev-summary" class="summary"></dl>
        <h2>Timeline</h2>
        <figure id="ev-waterfall" class="timeline"></figure>
        <h2>Agent runs</h2>
        <div id="ev-runs"></div>
        <h2>Attempts</h2>
        <table id="ev-attempts" class="data">
          <thead>
            <tr>
              <th>Agent</th>
              <th>Attempt</th>
              <th>Status</th>
              <th>Started</th>
              <th>Took</th>
              <th>Cost</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody></tbody>
        </table>
        <h2>Model calls</h2>
        <table id="ev-calls" class="data">
          <thead>
            <tr>
              <th>Agent</th>
              <th>Attempt</th>
              <th>Tier</th>
              <th>Model</th>
              <th>Outcome</th>
              <th>Confidence</th>
              <th>Tokens in / out / cache</th>
              <th>Cost</th>
              <th>Always escalating</th>
              <th>Latency</th>
            </tr>
          </thead>
          <tbody></tbody>
        </table>
        <section id="ev-steps" hidden>
          <h2>Steps</h2>
          <p class="hint">
            Each model reply and tool call of a tool-using run, in order. A step is recorded before the next starts; a
            retry replays recorded steps (its attempt says which attempt paid) and continues from the first missing one.
          </p>
          <table class="data">
            <thead>
              <tr>
                <th>Agent</th>
                <th>Step</th>
                <th>Attempt</th>
                <th>Tier</th>
                <th>What</th>
                <th>Tokens in / out</th>
                <th>Cost</th>
                <th>Latency</th>
              </tr>
            </thead>
            <tbody></tbody>
          </table>
        </section>
        <section id="ev-violations" hidden>
          <h2>Policy violations</h2>
          <ul></ul>
        </section>
        <h2>Data</h2>
        <pre id="ev-data" class="json"></pre>
      </section>
    </Layout>
  );
}
