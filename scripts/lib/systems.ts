// The three systems the workflow benchmark compares, each on its own fresh `wrangler dev`, behind one
// interface: the bare hop (bench/bare), Cloudflare Workflows (bench/cf-workflows) and agentwire
// (bench/worker.ts, or bench/worker-wide.ts for the routing scenario).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { adminGet, postSigned, type Target } from "./client";
import { localCount, localRow } from "./d1";
import { applyMigrations, type DevServer, freePort, ROOT, startDev } from "./dev";

/** One workflow: n simulated agents of L ms each, in parallel (joined) or chained. */
export interface Shape {
  mode: "parallel" | "chained";
  n: number;
  latencyMs: number;
}

export type SystemKind = "bare" | "cfwf" | "agentwire" | "wide";

export interface Completion {
  at: number;
  /** agentwire: the workflow was decided at its deadline, not by joining its results (something was lost or late). */
  atDeadline?: boolean;
}

export interface System {
  kind: SystemKind;
  server: DevServer;
  /** Starts one workflow (the bare hop: sends one message); resolves with the client's send time once accepted. */
  start(id: string, shape: Shape): Promise<number>;
  /** How many have completed so far: cheap, polled while a phase runs. */
  completedCount(): Promise<number>;
  /** One workflow's completion time (server clock, same machine), or undefined while it runs. */
  completedAt(id: string): Promise<number | undefined>;
  /** Every completion so far, by id. */
  completions(): Promise<Map<string, Completion>>;
  stop(): Promise<void>;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${await res.text()}`);
  return res.json<T>();
}

async function postJson(url: string, body: object, what: string): Promise<number> {
  const sentAt = Date.now();
  const res = await fetch(url, { method: "POST", body: JSON.stringify({ ...body, sentAt }) });
  if (res.status !== 202) throw new Error(`${what} answered ${res.status}: ${await res.text()}`);
  return sentAt;
}

async function serve(
  kind: SystemKind,
  dir: string,
  vars: Record<string, string>,
  inspectorPort?: number,
): Promise<DevServer> {
  const port = await freePort();
  if (kind === "bare" || kind === "cfwf") {
    const folder = kind === "bare" ? "bench/bare" : "bench/cf-workflows";
    return startDev({ port, persistTo: dir, config: path.join(ROOT, folder, "wrangler.toml"), inspectorPort });
  }
  applyMigrations(dir);
  return startDev({
    port,
    persistTo: dir,
    script: kind === "wide" ? "bench/worker-wide.ts" : "bench/worker.ts",
    inspectorPort,
    vars: { WEBHOOK_SECRET: AGENTWIRE_SECRET, ADMIN_TOKEN: AGENTWIRE_ADMIN, ...vars },
  });
}

export const AGENTWIRE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
export const AGENTWIRE_ADMIN = "bench-admin-token";

/** The start event of a bench workflow (bench/registry.ts): bench.fanout3/8 or bench.chain3/8. */
export function benchEvent(id: string, shape: Shape) {
  if (shape.n !== 3 && shape.n !== 8)
    throw new Error(`bench/registry.ts has workflows of 3 and 8 agents, not ${shape.n}`);
  const type = `bench.${shape.mode === "parallel" ? "fanout" : "chain"}${shape.n}`;
  return {
    specversion: "1.0",
    id,
    source: "/bench",
    type,
    correlationid: id,
    data: { n: shape.n, latencyMs: shape.latencyMs },
  };
}

/** The start event of bench/registry-wide.ts: audience 50 reaches wide-1 … wide-50, whose results its workflow joins. */
export function wideEvent(id: string, latencyMs: number) {
  return {
    specversion: "1.0",
    id,
    source: "/bench",
    type: "wide.start",
    correlationid: id,
    data: { latencyMs, audience: 50 },
  };
}

/** Signs and posts one CloudEvent to agentwire; resolves with the send time once accepted. */
export async function sendEvent(target: Target, event: { id: string }): Promise<number> {
  const sentAt = Date.now();
  const res = await postSigned(target, JSON.stringify(event));
  if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
  return sentAt;
}

interface WorkflowPage {
  workflows: { id: string; completedAt: number | null; verdict: { by?: string } | null }[];
  next: { before: string } | null;
}

/**
 * Starts one system on a fresh state directory; `stop` ends it and removes the directory. `vars` are
 * agentwire's (LOG_LEVEL, say); the baselines take none.
 */
export async function startSystem(
  kind: SystemKind,
  vars: Record<string, string> = {},
  inspectorPort?: number,
): Promise<System & { target: Target }> {
  const dir = mkdtempSync(path.join(tmpdir(), `agentwire-bench-${kind}-`));
  let server: DevServer;
  try {
    server = await serve(kind, dir, vars, inspectorPort);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const url = server.url;
  const target: Target = { url, secret: AGENTWIRE_SECRET, adminToken: AGENTWIRE_ADMIN };
  const stop = async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const base = { kind, server, target, stop };

  // Progress is counted, and a completion looked up, from each system's SQLite file, outside the
  // processes being measured, the same way for all three: an HTTP poll would cost each a different
  // amount of the CPU measured, and would run in the Worker while the workflow it waits for does.
  const row = localRow(dir);
  const at = (sql: string, id: string) => {
    const value = row(sql, id)?.at;
    return typeof value === "number" ? value : undefined;
  };
  if (kind === "bare") {
    const count = localCount(dir, "SELECT COUNT(*) AS n FROM hops");
    type Row = { id: string; received_at: number };
    const results = () => getJson<Row[]>(`${url}/results`);
    return {
      ...base,
      start: (id) => postJson(`${url}/hop`, { id }, "bare hop"),
      completedCount: () => Promise.resolve(count()),
      completedAt: (id) => Promise.resolve(at("SELECT received_at AS at FROM hops WHERE id = ?", id)),
      completions: async () => new Map((await results()).map((r) => [r.id, { at: r.received_at }])),
    };
  }
  if (kind === "cfwf") {
    const count = localCount(dir, "SELECT COUNT(*) AS n FROM completions");
    type Row = { id: string; completed_at: number };
    return {
      ...base,
      start: (id, shape) => postJson(`${url}/start`, { id, ...shape }, "Workflow create"),
      completedCount: () => Promise.resolve(count()),
      completedAt: (id) => Promise.resolve(at("SELECT completed_at AS at FROM completions WHERE id = ?", id)),
      completions: async () =>
        new Map((await getJson<Row[]>(`${url}/results`)).map((r) => [r.id, { at: r.completed_at }])),
    };
  }
  const agentwireCount = localCount(dir, "SELECT COUNT(*) AS n FROM workflows WHERE completed_at IS NOT NULL");
  return {
    ...base,
    start: (id, shape) => sendEvent(target, benchEvent(id, shape)),
    completedCount: () => Promise.resolve(agentwireCount()),
    completedAt: (id) => Promise.resolve(at("SELECT MAX(completed_at) AS at FROM workflows WHERE id = ?", id)),
    completions: async () => {
      const done = new Map<string, Completion>();
      let before: string | undefined;
      do {
        const q = `/v1/workflows?limit=500${before ? `&before=${before}` : ""}`;
        const { status, body } = await adminGet<WorkflowPage>(target, q);
        if (status !== 200) throw new Error(`GET ${q} answered ${status}`);
        for (const w of body.workflows) {
          if (w.completedAt !== null) done.set(w.id, { at: w.completedAt, atDeadline: w.verdict?.by === "deadline" });
        }
        before = body.next?.before;
      } while (before);
      return done;
    },
  };
}
