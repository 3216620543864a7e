// Runs `wrangler dev` on the embedded local default (Miniflare Queues, Durable Objects, D1) for
// `npm start`, the end-to-end tests and the benchmarks: migrations first, then the server.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");
const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");
const quietEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: process.env.CI ?? "" };

/** Creates .dev.vars from .dev.vars.example when missing, and returns its values. */
export function devVars(): Record<string, string> {
  const file = path.join(ROOT, ".dev.vars");
  if (!existsSync(file)) {
    copyFileSync(path.join(ROOT, ".dev.vars.example"), file);
    console.log("created .dev.vars from .dev.vars.example (development secrets)");
  }
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/.exec(line);
    if (match?.[1] && match[2] !== undefined) vars[match[1]] = match[2];
  }
  return vars;
}

/** The plain `KEY = "value"` lines of wrangler.toml's [vars] table. */
export function tomlVars(): Record<string, string> {
  const toml = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  const table = /^\[vars\]\s*$([\s\S]*?)(?=^\[)/m.exec(toml)?.[1] ?? "";
  const vars: Record<string, string> = {};
  for (const match of table.matchAll(/^\s*([A-Z0-9_]+)\s*=\s*"(.*)"\s*$/gm)) vars[match[1]!] = match[2]!;
  return vars;
}

export function applyMigrations(persistTo?: string): void {
  const args = ["d1", "migrations", "apply", "DB", "--local", ...(persistTo ? ["--persist-to", persistTo] : [])];
  const result = spawnSync(WRANGLER, args, { cwd: ROOT, stdio: "inherit", env: quietEnv });
  if (result.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed (${result.status})`);
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

/** Starts `wrangler dev` and resolves once it answers HTTP. */
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
  if (opts.config) args.push("--config", opts.config);
  // Given vars go in an env file of their own, which also keeps wrangler from reading the developer's
  // .dev.vars: tests and benchmarks never pick up a real API key or endpoint from it.
  const envDir = opts.vars ? writeEnvFile(opts.vars) : undefined;
  if (envDir) args.push("--env-file", path.join(envDir, ".env"));
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    env: quietEnv,
    stdio: opts.inherit ? "inherit" : ["ignore", "pipe", "pipe"],
    detached: !opts.inherit,
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${opts.port}`;
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    try {
      if (child.pid && !opts.inherit) process.kill(-child.pid, "SIGTERM");
      else child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (envDir) rmSync(envDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(url);
      if (res.ok) return { url, process: child, output: () => output, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not answer within 90 s:\n${output}`);
}
