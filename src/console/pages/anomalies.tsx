// Anomalies: the failure modes in one place — parked and unrouted events, late results, policy
// violations, suppressed duplicates, timed-out workflows, dead letters, agents failing more than
// usual. The page is the frame; anomalies.js fills each section from its /v1 list.
import { Layout } from "../layout";

export const ANOMALY_SECTIONS = [
  ["alerts", "Alerts", "What agentwire raised for a person (alert.raised events, one per condition and window)."],
  ["rising", "Agents failing more than usual", "Last hour's error rate above the last day's, and above 10%."],
  ["unrouted", "Unrouted events", "Logged, but no agent or workflow subscribes to their type: missed events?"],
  ["parked", "Parked events", "Over the hop limit or the correlation's event cap: cascading triggers stopped."],
  ["late", "Late results", "Results that reached a workflow after it had decided."],
  ["violations", "Policy violations", "What agents or publishers tried to say without being allowed to."],
  ["timedout", "Timed-out workflows", "Workflows that hit their deadline."],
  ["dead", "Dead letters", "Deliveries that ran out of retries."],
  ["duplicates", "Suppressed duplicates", "Events logged again and deliveries of finished runs."],
] as const;

export function anomaliesPage(csrf: string) {
  return (
    <Layout title="Anomalies" section="anomalies" csrf={csrf} scripts={["anomalies.js"]}>
      <h1>Anomalies</h1>
      {ANOMALY_SECTIONS.map(([key, title, what]) => (
        <section id={`anomaly-${key}`}>
          <h2>{title}</h2>
          <p class="hint">{what}</p>
          <p role="status" class="status">
            Loading…
          </p>
          <table class="data">
            <thead></thead>
            <tbody></tbody>
          </table>
          <button type="button" hidden>
            Load more
          </button>
        </section>
      ))}
    </Layout>
  );
}
