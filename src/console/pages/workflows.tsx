// Workflows: the list of instances, and one instance's view (status, verdict, causal tree, runs with
// model tier and cost, approval). workflows.js and workflow.js read /v1/workflows like any client.
import type { Registry } from "../../registry";
import { filtersOf, optionalText, SelectField } from "../form";
import { Layout } from "../layout";

const STATUSES = ["running", "awaiting_approval", "completed", "rejected", "timed_out"];

export function workflowsPage(registry: Registry, csrf: string, query: Record<string, string>) {
  const f = filtersOf({ status: optionalText, workflow: optionalText }, query);
  return (
    <Layout title="Workflows" section="workflows" csrf={csrf} scripts={["workflows.js"]}>
      <h1>Workflows</h1>
      <form class="filters" method="get" action="/console/workflows">
        <SelectField label="Status" name="status" value={f.status} options={STATUSES} />
        <SelectField
          label="Workflow"
          name="workflow"
          value={f.workflow}
          options={registry.workflows.map((w) => w.name)}
        />
        <button type="submit">Filter</button>
        <a href="/console/workflows">Clear</a>
      </form>
      <p id="wf-status" role="status" class="status">
        Loading…
      </p>
      <table id="workflows" class="data">
        <thead>
          <tr>
            <th>Id</th>
            <th>Workflow</th>
            <th>Status</th>
            <th>Outcome</th>
            <th>Decided by</th>
            <th>Started</th>
            <th>Duration</th>
          </tr>
        </thead>
        <tbody></tbody>
      </table>
      <button type="button" id="wf-more" hidden>
        Load more
      </button>
    </Layout>
  );
}

export function workflowPage(id: string, csrf: string) {
  return (
    <Layout title={`Workflow ${id}`} section="workflows" csrf={csrf} scripts={["workflow.js"]}>
      <p class="crumbs">
        <a href="/console/workflows">Workflows</a> / <span>{id}</span>
      </p>
      <h1>
        Workflow <code>{id}</code>
      </h1>
      <section id="workflow" data-id={id} aria-live="polite">
        <p id="wf-status" role="status" class="status">
          Loading…
        </p>
        <dl id="wf-summary" class="summary"></dl>
        <form id="wf-approval" class="approval" hidden>
          <h2>Waiting for a human</h2>
          <p id="wf-deadline"></p>
          <label>
            Your name or e-mail
            <input name="by" required maxlength={200} autocomplete="email" />
          </label>
          <label>
            Reason
            <textarea name="reason" maxlength={2000} rows={2}></textarea>
          </label>
          <div class="buttons">
            <button type="submit" name="decision" value="approve">
              Approve
            </button>
            <button type="submit" name="decision" value="reject" class="danger">
              Reject
            </button>
          </div>
        </form>
        <h2>Timeline</h2>
        <p class="hint">
          Each event from received to logged, each run queued (grey), its attempts (green done, red failed, dashed the
          wait before a retry); the blue line is the decision, late results are marked. Hover for times.
        </p>
        <figure id="wf-waterfall" class="timeline"></figure>
        <h2>Causal tree</h2>
        <p class="hint">Each event under the event that caused it, with the agent runs it started.</p>
        <div id="wf-tree"></div>
      </section>
    </Layout>
  );
}
