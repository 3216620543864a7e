// Costs and tiers: spend per agent and per day against what always escalating would have cost,
// escalation rates and reasons, the budget used, the costliest workflows. costs.js reads /v1/costs.
import { Layout } from "../layout";

export function costsPage(csrf: string) {
  return (
    <Layout title="Costs and tiers" section="costs" csrf={csrf} scripts={["costs.js"]}>
      <h1>Costs and tiers</h1>
      <p id="costs-status" role="status" class="status">
        Loading…
      </p>
      <h2>Budget today</h2>
      <table id="costs-budget" class="data">
        <tbody></tbody>
      </table>
      <h2>Spend against always escalating</h2>
      <table id="costs-total" class="data">
        <tbody></tbody>
      </table>
      <h2>Per day and agent</h2>
      <table id="costs-days" class="data">
        <thead>
          <tr>
            <th>Day (UTC)</th>
            <th>Agent</th>
            <th>Model calls</th>
            <th>Spent</th>
            <th>Always escalating</th>
            <th>Share</th>
          </tr>
        </thead>
        <tbody></tbody>
      </table>
      <h2>Escalation per agent</h2>
      <table id="costs-escalation" class="data">
        <thead>
          <tr>
            <th>Agent</th>
            <th>Model-backed runs</th>
            <th>Escalated</th>
            <th>Rate</th>
            <th>Budget-limited</th>
            <th>Reasons</th>
          </tr>
        </thead>
        <tbody></tbody>
      </table>
      <h2>Costliest workflows</h2>
      <table id="costs-workflows" class="data">
        <thead>
          <tr>
            <th>Workflow</th>
            <th>Runs</th>
            <th>Spent</th>
            <th>Of its budget</th>
          </tr>
        </thead>
        <tbody></tbody>
      </table>
    </Layout>
  );
}
