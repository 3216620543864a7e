// The sections not built yet (issue 13): the navigation stays whole, and each says what it will show.
import { type Section, Layout } from "../layout";

export const PLACEHOLDERS = {
  topology: ["Topology", "Agents, event types and workflows as a graph from the registry, with live counts."],
  api: ["API", "The API reference, from the OpenAPI document."],
} as const satisfies Partial<Record<Section, readonly [string, string]>>;

export function placeholderPage(section: keyof typeof PLACEHOLDERS, csrf: string) {
  const [title, what] = PLACEHOLDERS[section];
  return (
    <Layout title={title} section={section} csrf={csrf}>
      <h1>{title}</h1>
      <p>{what}</p>
      <p class="hint">Not built yet.</p>
    </Layout>
  );
}
