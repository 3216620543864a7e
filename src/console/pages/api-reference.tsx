// The API reference: /openapi.json rendered as DOM by api-reference.js (issue 13).
import { Layout } from "../layout";

export function apiReferencePage(csrf: string) {
  return (
    <Layout
      title="API reference"
      section="api"
      csrf={csrf}
      scripts={["api-reference.js"]}
      styles={["api-reference.css"]}
    >
      <h1>API reference</h1>
      <p id="api-status" role="status" class="status">
        Loading…
      </p>
      <div id="api-reference"></div>
    </Layout>
  );
}
