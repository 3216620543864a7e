// Runs `wrangler dev` on the embedded local default (Miniflare Queues, Durable Objects, D1) for
// `npm start`, the end-to-end tests and the benchmarks: migrations first, then the server.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import path from "node:path";
import { parseEnv } from "node:util";
import { z } from "zod";

export const ROOT = path.resolve(import.meta.dirname, "../..");
const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");
// WRANGLER_WRITE_LOGS=false: wrangler also appends every line the Worker logs to a debug file under
// ~/.wrangler/logs (a mkdir, open, write and close per line, in its Node process); the terminal and
// the captured output keep every line.
const quietEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_WRITE_LOGS: process.env.WRANGLER_WRITE_LOGS ?? "false",
  CI: process.env.CI ?? "",
};

export const DEV_VARS = path.join(ROOT, ".dev.vars");

/** Reads a dotenv file (quotes, comments and `export` as dotenv has them) into plain strings. */
export function readEnvFile(file: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(parseEnv(readFileSync(file, "utf8")))) if (v !== undefined) vars[k] = v;
  return vars;
}

/**
 * The development secrets: AGENTWIRE_DEV_VARS (a path; tests point it at a temp file) or .dev.vars,
 * which is created from .dev.vars.example when missing.
 */
export function devVars(file = process.env.AGENTWIRE_DEV_VARS || DEV_VARS): Record<string, string> {
  if (file === DEV_VARS && !existsSync(file)) {
    copyFileSync(path.join(ROOT, ".dev.vars.example"), file);
    console.log("created .dev.vars from .dev.vars.example (development secrets)");
  }
  if (!existsSync(file)) throw new Error(`${file} does not exist`);
  return readEnvFile(file);
}

/** The plain `KEY = "value"` lines of wrangler.toml's [vars] table. */
export function tomlVars(): Record<string, string> {
  const toml = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  const table = /^\[vars\]\s*$([\s\S]*?)(?=^\[)/m.exec(toml)?.[1] ?? "";
  const vars: Record<string, string> = {};
  for (const match of table.matchAll(/^\s*([A-Z0-9_]+)\s*=\s*"(.*)"\s*$/gm)) vars[match[1]!] = match[2]!;
  return vars;
}

/**
 * Applies the local D1 migrations and returns one line saying what happened. wrangler prints a table
 * per migration (about 80 lines on a first start), so its output is kept for the error only.
 */
export function applyMigrations(persistTo?: string): string {
  const args = ["d1", "migrations", "apply", "DB", "--local", ...(persistTo ? ["--persist-to", persistTo] : [])];
  const result = spawnSync(WRANGLER, args, { cwd: ROOT, env: quietEnv, encoding: "utf8" });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;
  if (result.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed (${result.status}):\n${output}`);
  return migrationSummary(output);
}

/** Runs a SQL file against the local D1 (the benchmarks' seed data). */
export function executeSql(file: string, persistTo?: string): void {
  const args = ["d1", "execute", "DB", "--local", "--file", file, ...(persistTo ? ["--persist-to", persistTo] : [])];
  const result = spawnSync(WRANGLER, args, { cwd: ROOT, env: quietEnv, encoding: "utf8" });
  if (result.status !== 0)
    throw new Error(`wrangler ${args.join(" ")} failed (${result.status}):\n${result.stdout}${result.stderr}`);
}

/** One line from `wrangler d1 migrations apply` output: how many were applied, and the latest. */
export function migrationSummary(output: string): string {
  if (/No migrations to apply/.test(output)) return "up to date";
  const applied = [...new Set([...output.matchAll(/(\d{4}_\w+\.sql)\s*│\s*✅/g)].map((m) => m[1]!))].sort();
  return applied.length > 0
    ? `applied ${applied.length} migration${applied.length === 1 ? "" : "s"} (latest ${applied.at(-1)})`
    : "migrations applied";
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

export interface DevServer {
  url: string;
  process: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

export interface DevOptions {
  port: number;
  /** Another wrangler config than the project's (the benchmark's bare hop). */
  config?: string;
  /** Another entry point than wrangler.toml's `main` (the workflow benchmark's worker). */
  script?: string;
  persistTo?: string;
  vars?: Record<string, string>;
  /** Forward wrangler's output to this process's terminal (npm start) instead of capturing it. */
  inherit?: boolean;
  /** An env file to read instead of .dev.vars (npm start with AGENTWIRE_DEV_VARS); `vars` go after it. */
  envFile?: string;
  /**
   * When the server counts as up: "agentwire" (default) once GET /v1/health answers JSON naming
   * agentwire, whatever its status, so another server on the port is never mistaken for it; "any"
   * on any HTTP answer (the default with `config`: another Worker, like the bare hop).
   */
  ready?: "agentwire" | "any";
  /** Open the Worker's V8 inspector on this port (scripts/profile-workflows.ts); default: none. */
  inspectorPort?: number;
}

const Health = z.object({ name: z.literal("agentwire") });

/** Whether agentwire itself answers at url (any status: a misconfigured agentwire is still up). */
async function agentwireAnswers(url: string): Promise<boolean> {
  const res = await fetch(`${url}/v1/health`, { signal: AbortSignal.timeout(5000) });
  return Health.safeParse(await res.json().catch(() => undefined)).success;
}

/**
 * Passes wrangler's terminal output on, minus what says nothing: the bindings table printed again when
 * Miniflare's own queue consumers make wrangler reload once, and the offline failure to fetch
 * `Request.cf` (harmless: wrangler falls back to a placeholder).
 */
export function quietTerminal(write: (text: string) => void): (chunk: string) => void {
  let tables = 0;
  let skipping = false;
  let pending = "";
  return (chunk) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      // eslint-disable-next-line no-control-regex
      const plain = line.replace(/\x1b\[[0-9;]*m/g, "");
      if (plain.startsWith("Your Worker has access to the following bindings:") && ++tables > 1) skipping = true;
      if (skipping) {
        if (plain.trim() === "") skipping = false;
        continue;
      }
      if (
        /Unable to fetch the `Request\.cf` object|ENOTFOUND workers\.cloudflare\.com|at GetAddrInfoReqWrap/.test(plain)
      ) {
        continue;
      }
      write(`${line}\n`);
    }
  };
}

/** Writes vars to a private env file (single-quoted: dotenv takes them literally); returns its folder. */
function writeEnvFile(vars: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "agentwire-env-"));
  const lines = Object.entries(vars).map(([k, v]) => {
    if (/['\n\r]/.test(v)) throw new Error(`var ${k}: a quote or newline cannot go in an env file`);
    return `${k}='${v}'`;
  });
  writeFileSync(path.join(dir, ".env"), lines.join("\n") + "\n", { mode: 0o600 });
  return dir;
}

/** Starts `wrangler dev` and resolves once it answers (see DevOptions.ready). */
export async function startDev(opts: DevOptions): Promise<DevServer> {
  const args = [
    "dev",
    ...(opts.script ? [opts.script] : []),
    "--port",
    String(opts.port),
    "--ip",
    "127.0.0.1",
    "--show-interactive-dev-session=false",
  ];
  if (opts.persistTo) args.push("--persist-to", opts.persistTo);
  // Profiled, the bundle keeps its names: a profile of minified code names nothing.
  if (opts.inspectorPort) args.push("--inspector-port", String(opts.inspectorPort), "--minify=false");
  if (opts.config) args.push("--config", opts.config);
  // Given vars go in an env file of their own, which also keeps wrangler from reading the developer's
  // .dev.vars: tests and benchmarks never pick up a real API key or endpoint from it.
  if (opts.envFile) args.push("--env-file", opts.envFile);
  const envDir = opts.vars ? writeEnvFile(opts.vars) : undefined;
  if (envDir) args.push("--env-file", path.join(envDir, ".env"));
  // A dev registry of its own: in the shared one, every other local session's queue consumers (a test
  // run, a benchmark, another checkout: the same queue names) make this one reload, and could be
  // wired to its queues. agentwire binds no other local Worker.
  const registry = mkdtempSync(path.join(tmpdir(), "agentwire-registry-"));
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    env: { ...quietEnv, WRANGLER_REGISTRY_PATH: registry },
    // npm start shows wrangler's output through quietTerminal (stdin stays the terminal's).
    stdio: opts.inherit ? ["inherit", "pipe", "pipe"] : ["ignore", "pipe", "pipe"],
    detached: !opts.inherit,
  });
  let output = "";
  const toTerminal = opts.inherit
    ? { out: quietTerminal((s) => process.stdout.write(s)), err: quietTerminal((s) => process.stderr.write(s)) }
    : undefined;
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
    toTerminal?.out(d.toString());
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
    toTerminal?.err(d.toString());
  });
  const url = `http://127.0.0.1:${opts.port}`;
  const cleanup = () => {
    if (envDir) rmSync(envDir, { recursive: true, force: true });
    rmSync(registry, { recursive: true, force: true });
  };
  child.once("exit", cleanup);
  const stop = async () => {
    if (child.exitCode !== null) return cleanup();
    const exited = new Promise((r) => child.once("exit", r));
    try {
      if (child.pid && !opts.inherit) process.kill(-child.pid, "SIGTERM");
      else child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    cleanup();
  };
  const ready = opts.ready ?? (opts.config ? "any" : "agentwire");
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      cleanup();
      throw new Error(`wrangler dev exited (${child.exitCode ?? child.signalCode}):\n${output}`);
    }
    try {
      const up = ready === "any" ? (await fetch(url)).ok : await agentwireAnswers(url);
      if (up) return { url, process: child, output: () => output, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not answer within 90 s:\n${output}`);
}
