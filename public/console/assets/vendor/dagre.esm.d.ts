// The part of @dagrejs/dagre's API the topology page uses (the package's own types span many files;
// this facade keeps the vendored copy a single module).
export interface Placed {
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface Routed {
  points: { x: number; y: number }[];
}
export class Graph {
  constructor(options?: { multigraph?: boolean; compound?: boolean; directed?: boolean });
  setGraph(label: {
    rankdir?: "TB" | "BT" | "LR" | "RL";
    nodesep?: number;
    ranksep?: number;
    edgesep?: number;
    marginx?: number;
    marginy?: number;
    width?: number;
    height?: number;
  }): this;
  graph(): { width?: number; height?: number };
  setDefaultEdgeLabel(label: () => object): this;
  setNode(name: string, label: { width: number; height: number }): this;
  setEdge(from: string, to: string, label?: object): this;
  node(name: string): Placed;
  edge(from: string, to: string): Routed;
  edges(): { v: string; w: string }[];
}
export function layout(graph: Graph): void;
