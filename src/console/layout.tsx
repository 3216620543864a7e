// The page every console view shares: navigation, sign-out, and the CSRF token the client scripts
// send back as x-csrf-token. No inline script or style: the CSP allows neither.
import type { Child } from "hono/jsx";
import { raw } from "hono/html";

export const SECTIONS = [
  { key: "stream", label: "Stream", href: "/console/stream" },
  { key: "workflows", label: "Workflows", href: "/console/workflows" },
  { key: "topology", label: "Topology", href: "/console/topology" },
  { key: "dead-letters", label: "Dead letters", href: "/console/dead-letters" },
  { key: "costs", label: "Costs", href: "/console/costs" },
  { key: "anomalies", label: "Anomalies", href: "/console/anomalies" },
  { key: "api", label: "API", href: "/console/api" },
] as const;
export type Section = (typeof SECTIONS)[number]["key"];

export const asset = (name: string) => `/console/assets/${name}`;

export function Document(props: {
  title: string;
  scripts?: readonly string[];
  styles?: readonly string[];
  csrf?: string;
  children: Child;
}) {
  return (
    <>
      {raw("<!DOCTYPE html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          {props.csrf ? <meta name="csrf-token" content={props.csrf} /> : null}
          <title>{`${props.title} · agentwire`}</title>
          <link rel="icon" href={asset("favicon.svg")} type="image/svg+xml" />
          <link rel="stylesheet" href={asset("console.css")} />
          {(props.styles ?? []).map((s) => (
            <link rel="stylesheet" href={asset(s)} />
          ))}
          {(props.scripts ?? []).map((s) => (
            <script type="module" src={asset(s)}></script>
          ))}
        </head>
        {props.children}
      </html>
    </>
  );
}

export function Layout(props: {
  title: string;
  section: Section;
  csrf: string;
  scripts?: readonly string[];
  styles?: readonly string[];
  children: Child;
}) {
  return (
    <Document title={props.title} scripts={props.scripts} styles={props.styles} csrf={props.csrf}>
      <body>
        <header class="top">
          <a class="brand" href="/console">
            agentwire
          </a>
          <nav aria-label="Console">
            {SECTIONS.map((s) => (
              <a href={s.href} aria-current={s.key === props.section ? "page" : undefined}>
                {s.label}
              </a>
            ))}
          </nav>
          <form class="sign-out" method="post" action="/console/sign-out">
            <input type="hidden" name="csrf" value={props.csrf} />
            <button type="submit">Sign out</button>
          </form>
        </header>
        <main>{props.children}</main>
      </body>
    </Document>
  );
}
