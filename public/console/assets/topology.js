// Topology: GET /v1/topology as a graph laid out by dagre (event types → the agents and workflows that
// hear them → the types they emit), each agent with its runs, error rate and p50 over the last 24 hours;
// paused agents and subscription cycles marked. The table below pauses and resumes agents through
// POST /v1/agents/:name/pause|resume. Refreshed every 10 s.
import { api, describe } from "./api.js";
import { badge, byId, duration, h, say, svg } from "./dom.js";
import { Graph, layout } from "./vendor/dagre.esm.js";

/**
 * @typedef {{ runs: number, failed: number, deadLettered: number, running: number, errorRate: number, p50LatencyMs: number | null }} Health
 * @typedef {{ name: string, description?: string, subscribes: string[], emits: string[], modelBacked: boolean, destination?: boolean, paused: boolean, health: Health }} Agent
 * @typedef {{ name: string, description?: string, startsOn: string, joins: string[], emits: string[], deadlineMs: number, approval: boolean }} Workflow
 * @typedef {{ since: number, agents: Agent[], workflows: Workflow[], types: { type: string, publishers: "external" | "internal" }[], cycles: string[][] }} Topology
 * @typedef {{ id: string, kind: "type" | "agent" | "workflow" | "destination", lines: string[], classes: string[], title: string }} Node
 */

const line = byId("topo-status", HTMLElement);
const figure = byId("topo-graph", HTMLElement);
const agentsBody = /** @type {HTMLTableSectionElement} */ (byId("topo-agents", HTMLTableElement).tBodies[0]);
const workflowsBody = /** @type {HTMLTableSectionElement} */ (byId("topo-workflows", HTMLTableElement).tBodies[0]);
const cyclesSection = byId("topo-cycles", HTMLElement);

/** @param {number} x */
const percent = (x) => `${(100 * x).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;
const CHAR = 7.2; // px per character of the graph's 12px monospace text
const LINE = 16;

/** @param {Agent} a */
const healthLine = (a) =>
  `${a.health.runs} runs · ${percent(a.health.errorRate)} err · p50 ${duration(a.health.p50LatencyMs)}`;

/**
 * The graph's nodes and edges from the topology; edges on a subscription cycle are marked.
 * @param {Topology} t
 */
function graphOf(t) {
  /** @type {Map<string, Node>} */
  const nodes = new Map();
  /** @type {{ from: string, to: string, cycle: boolean }[]} */
  const edges = [];
  const publishers = new Map(t.types.map((x) => [x.type, x.publishers]));
  /** @param {string} type */
  const typeNode = (type) => {
    const id = `type:${type}`;
    if (!nodes.has(id)) {
      const from = publishers.get(type) ?? "internal";
      nodes.set(id, { id, kind: "type", lines: [type], classes: [from], title: `${type} (published by ${from})` });
    }
    return id;
  };
  /** Edges between agents that are consecutive in a cycle, through the type that links them. */
  const cycleEdges = new Set();
  const byName = new Map(t.agents.map((a) => [a.name, a]));
  for (const cycle of t.cycles) {
    for (let i = 0; i + 1 < cycle.length; i++) {
      const from = byName.get(cycle[i] ?? "");
      const to = byName.get(cycle[i + 1] ?? "");
      if (!from || !to) continue;
      for (const type of from.emits.filter((x) => to.subscribes.includes(x))) {
        cycleEdges.add(`agent:${from.name}>type:${type}`);
        cycleEdges.add(`type:${type}>agent:${to.name}`);
      }
    }
  }
  /** @param {string} from @param {string} to */
  const edge = (from, to) => edges.push({ from, to, cycle: cycleEdges.has(`${from}>${to}`) });

  for (const a of t.agents) {
    const id = `agent:${a.name}`;
    const failing = a.health.runs > 0 && a.health.errorRate >= 0.1;
    nodes.set(id, {
      id,
      kind: a.destination ? "destination" : "agent",
      lines: [
        `${a.destination ? "→ " : ""}${a.name}${a.modelBacked ? " ◆" : ""}${a.paused ? " (paused)" : ""}`,
        healthLine(a),
      ],
      classes: [a.paused ? "paused" : "", failing ? "failing" : ""],
      title: `${a.description ?? a.name}${a.modelBacked ? " · model-backed" : ""}`,
    });
    for (const type of a.subscribes) edge(typeNode(type), id);
    for (const type of a.emits) edge(id, typeNode(type));
  }
  for (const w of t.workflows) {
    const id = `workflow:${w.name}`;
    nodes.set(id, {
      id,
      kind: "workflow",
      lines: [`workflow ${w.name}`, `deadline ${duration(w.deadlineMs)}${w.approval ? " · approval" : ""}`],
      classes: [],
      title: w.description ?? w.name,
    });
    for (const type of [w.startsOn, ...w.joins]) edge(typeNode(type), id);
    for (const type of w.emits) edge(id, typeNode(type));
  }
  return { nodes, edges };
}

/** @param {Topology} t */
function drawGraph(t) {
  const { nodes, edges } = graphOf(t);
  const g = new Graph({ multigraph: false });
  g.setGraph({ rankdir: "LR", nodesep: 14, ranksep: 48, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes.values()) {
    const width = Math.max(...n.lines.map((l) => l.length)) * CHAR + 20;
    g.setNode(n.id, { width, height: n.lines.length * LINE + 12 });
  }
  for (const e of edges) g.setEdge(e.from, e.to);
  layout(g);

  const size = g.graph();
  const width = Math.ceil(size.width ?? 0);
  const height = Math.ceil(size.height ?? 0);
  const marker = svg(
    "marker",
    { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
    svg("path", { d: "M0,0 L10,5 L0,10 z" }),
  );
  const paths = edges.map((e) => {
    const points = g.edge(e.from, e.to).points;
    const d = points.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
    return svg(
      "path",
      { d, class: e.cycle ? "edge cycle" : "edge", "marker-end": "url(#arrow)", "data-edge": `${e.from}>${e.to}` },
      svg("title", {}, `${e.from} → ${e.to}${e.cycle ? " (subscription cycle)" : ""}`),
    );
  });
  const boxes = [...nodes.values()].map((n) => {
    const p = g.node(n.id);
    const x = p.x - p.width / 2;
    const y = p.y - p.height / 2;
    const shape =
      n.kind === "type"
        ? svg("rect", { width: p.width, height: p.height, rx: p.height / 2 })
        : svg("rect", { width: p.width, height: p.height, rx: n.kind === "workflow" ? 2 : 6 });
    return svg(
      "g",
      {
        class: ["node", n.kind, ...n.classes].filter(Boolean).join(" "),
        transform: `translate(${x.toFixed(1)},${y.toFixed(1)})`,
        "data-node": n.id,
      },
      svg("title", {}, n.title),
      shape,
      ...n.lines.map((text, i) =>
        svg("text", { x: p.width / 2, y: 6 + LINE * (i + 0.75), class: i ? "sub" : "" }, text),
      ),
    );
  });
  figure.replaceChildren(
    svg(
      "svg",
      { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": "Topology graph" },
      svg("defs", {}, marker),
      ...paths,
      ...boxes,
    ),
  );
}

/** @param {string} name @param {boolean} paused */
async function setPaused(name, paused) {
  say(line, `${paused ? "Pausing" : "Resuming"} ${name}…`, "busy");
  try {
    const path = `/v1/agents/${encodeURIComponent(name)}/${paused ? "pause" : "resume"}`;
    const answer = /** @type {{ released?: number, remaining?: boolean }} */ (
      await api(path, { method: "POST", body: { by: "console" } })
    );
    const released = answer.released ? `; ${answer.released} held deliveries released` : "";
    const more = answer.remaining ? " (more remain: resume again)" : "";
    await load();
    say(line, `${name} ${paused ? "paused" : "resumed"}${released}${more}.`, "ok");
  } catch (error) {
    say(line, `Could not ${paused ? "pause" : "resume"} ${name}: ${describe(error)}`, "error");
  }
}

/** @param {Topology} t */
function drawTables(t) {
  agentsBody.replaceChildren(
    ...t.agents.map((a) => {
      const button = h("button", { type: "button" }, a.paused ? "Resume" : "Pause");
      button.addEventListener("click", () => void setPaused(a.name, !a.paused));
      return h(
        "tr",
        { "data-agent": a.name },
        h("td", { title: a.description }, a.name, a.modelBacked ? " ◆" : "", a.destination ? " (destination)" : ""),
        h("td", {}, a.subscribes.join(", ")),
        h("td", {}, a.emits.join(", ") || "—"),
        h("td", { class: "num" }, a.health.runs, a.health.running ? ` (${a.health.running} running)` : ""),
        h("td", { class: "num" }, a.health.failed),
        h("td", { class: "num" }, a.health.deadLettered),
        h("td", { class: "num" }, a.health.runs ? percent(a.health.errorRate) : "—"),
        h("td", { class: "num" }, duration(a.health.p50LatencyMs)),
        h("td", {}, badge(a.paused ? "paused" : "active")),
        h("td", {}, button),
      );
    }),
  );
  workflowsBody.replaceChildren(
    ...t.workflows.map((w) =>
      h(
        "tr",
        { "data-workflow": w.name },
        h("td", { title: w.description }, w.name),
        h("td", {}, w.startsOn),
        h("td", {}, w.joins.join(", ") || "—"),
        h("td", {}, w.emits.join(", ") || "—"),
        h("td", { class: "num" }, duration(w.deadlineMs)),
        h("td", {}, w.approval ? "yes" : "no"),
      ),
    ),
  );
  cyclesSection.hidden = t.cycles.length === 0;
  cyclesSection.querySelector("ul")?.replaceChildren(...t.cycles.map((c) => h("li", {}, c.join(" → "))));
}

async function load() {
  const t = /** @type {Topology} */ (await api("/v1/topology"));
  drawGraph(t);
  drawTables(t);
  const paused = t.agents.filter((a) => a.paused).length;
  say(
    line,
    `${t.agents.length} agents, ${t.workflows.length} workflows, ${t.types.length} event types` +
      `${paused ? ` · ${paused} paused` : ""}${t.cycles.length ? ` · ${t.cycles.length} cycles` : ""}`,
    "ok",
  );
}

async function refresh() {
  try {
    await load();
  } catch (error) {
    say(line, `Could not read the topology: ${describe(error)}`, "error");
  }
}

await refresh();
setInterval(() => void refresh(), 10_000);
