// Topology: agents, event types and workflows as a graph from the registry (who hears what, who emits
// what, what each workflow joins), with each agent's runs, error rate and p50 latency over the last
// 24 hours, paused agents and subscription cycles marked; pause and resume from the table.
// topology.js reads /v1/topology and lays the graph out with dagre (a static asset, not in the Worker).
import { Layout } from "../layout";

export function topologyPage(csrf: string) {
  return (
    <Layout title="Topology" section="topology" csrf={csrf} scripts={["topology.js"]} styles={["topology.css"]}>
      <h1>Topology</h1>
      <p id="topo-status" role="status" class="status">
        Loading…
      </p>
      <p class="hint legend">
        <span class="key key-type">event type</span> <span class="key key-agent">agent</span>{" "}
        <span class="key key-workflow">workflow</span> <span class="key key-destination">→ destination</span>{" "}
        <span class="key key-paused">paused agent</span> <span class="key key-cycle">subscription cycle</span> · arrows:
        a type to who hears it, an agent or a workflow to what it emits. Counts are the last 24 hours.
      </p>
      <figure id="topo-graph" class="graph"></figure>
      <section id="topo-cycles" hidden>
        <h2>Subscription cycles</h2>
        <p class="hint">Agents that can trigger each other in a loop: the hop limit parks such cascades.</p>
        <ul></ul>
      </section>
      <h2>Agents</h2>
      <table id="topo-agents" class="data">
        <thead>
          <tr>
            <th>Agent</th>
            <th>Hears</th>
            <th>Emits</th>
            <th>Runs</th>
            <th>Failed</th>
            <th>Dead-lettered</th>
            <th>Error rate</th>
            <th>p50</th>
            <th>State</th>
            <th></th>
          </tr>
        </thead>
        <tbody></tbody>
      </table>
      <h2>Workflows</h2>
      <table id="topo-workflows" class="data">
        <thead>
          <tr>
            <th>Workflow</th>
            <th>Starts on</th>
            <th>Joins</th>
            <th>Emits</th>
            <th>Deadline</th>
            <th>Human approval</th>
          </tr>
        </thead>
        <tbody></tbody>
      </table>
    </Layout>
  );
}
