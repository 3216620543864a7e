// `npm run deploy`: from a fresh account to a deployed, healthy agentwire in one go.
//  1. the secrets file (`npm run secrets:new`) and wrangler.toml [vars] pass the Worker's own config
//     check, and wrangler is logged in to one account, before anything is created;
//  2. remote D1 migrations when the database exists (a redeploy: schema before code);
//  3. `wrangler deploy --secrets-file`: wrangler provisions what is missing (the D1 database and the
//     R2 bucket by their names, the four queues from their producer bindings) and uploads the
//     secrets with the version;
//  4. remote D1 migrations when the database was only just created (a first deploy);
//  5. GET /v1/health on the deployed URL until it answers healthy, or exit 1.
// Options: --secrets-file PATH (.prod.vars), --url URL (routes or a custom domain), --health-timeout S.
// CI: CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID. WRANGLER (a path) replaces the wrangler binary.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { checkConfig } from "../src/config";
import { readEnvFile, ROOT, tomlVars } from "./lib/dev";
import { SECRETS_FILE } from "./secrets-new";

const { values } = parseArgs({
  options: {
    "secrets-file": { type: "string", default: SECRETS_FILE },
    url: { type: "string" },
    "health-timeout": { type: "string", default: "120" },
  },
});
const WRANGLER = process.env.WRANGLER ?? path.join(ROOT, "node_modules", ".bin", "wrangler");
// CI mode: wrangler never prompts (there is no terminal to answer) and never writes the ids of what
// it provisions back into wrangler.toml (later deploys find them by name).
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: process.env.CI || "true" };
const SECRETS = [
  "WEBHOOK_SECRET",
  "ADMIN_TOKEN",
  "EVENT_ID_SECRET",
  "ANTHROPIC_API_KEY",
  "GITHUB_WEBHOOK_SECRET",
  "STRIPE_WEBHOOK_SECRET",
  "SHOPIFY_WEBHOOK_SECRET",
  // The example destinations (agents/destinations.ts): URLs and keys that must not sit in wrangler.toml.
  "FULFILMENT_WEBHOOK_URL",
  "FULFILMENT_WEBHOOK_SECRET",
  "OPS_SLACK_WEBHOOK_URL",
];
const healthTimeout = Number(values["health-timeout"]);

class DeployError extends Error {}
const shown = (file: string) =>
  path.relative(process.cwd(), file).startsWith("..") ? file : path.relative(process.cwd(), file);

interface Run {
  code: number | null;
  output: string;
}

/** Runs wrangler; with echo its output streams here, indented, as it comes. */
function wrangler(args: string[], echo = false): Promise<Run> {
  if (echo) console.log(`$ wrangler ${args.join(" ")}`);
  return new Promise((resolve) => {
    const child = spawn(WRANGLER, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let lineStart = true;
    const take = (chunk: Buffer) => {
      const text = chunk.toString();
      output += text;
      if (!echo) return;
      process.stdout.write((lineStart ? "  " : "") + text.replace(/\n(?=.)/g, "\n  "));
      lineStart = text.endsWith("\n");
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", (error) => resolve({ code: null, output: `${output}${error.message}` }));
    child.on("close", (code) => resolve({ code, output }));
  });
}

const lastLines = (output: string, n = 15) =>
  output
    .trim()
    .split("\n")
    .slice(-n)
    .map((l) => `  ${l}`)
    .join("\n");

/** 1a. The secrets, checked with the Worker's own rules; returns a JSON copy for --secrets-file. */
function checkSecrets(file: string, workDir: string): string {
  if (!existsSync(file)) {
    throw new DeployError(
      `no ${shown(file)}: run \`npm run secrets:new\` first (it writes WEBHOOK_SECRET, ADMIN_TOKEN and EVENT_ID_SECRET)`,
    );
  }
  const secrets = readEnvFile(file);
  const vars = tomlVars();
  const clash = Object.keys(secrets).filter((k) => k in vars);
  if (clash.length > 0)
    throw new DeployError(`${clash.join(", ")} in ${shown(file)}: a var in wrangler.toml [vars]; set it there instead`);
  const { problems, warnings } = checkConfig({ ...vars, ...secrets });
  if (problems.length > 0) {
    const lines = problems.map((p) =>
      SECRETS.includes(p.name)
        ? `  ${p.name} ${p.problem}: add it to ${shown(file)} (\`npm run secrets:new\` writes a complete one)`
        : `  ${p.name} ${p.problem}: ${p.fix}`,
    );
    throw new DeployError(`${problems.length} setting(s) to fix before deploying:\n${lines.join("\n")}`);
  }
  for (const w of warnings) console.warn(`warning: ${w}`);
  if (!secrets.EVENT_ID_SECRET)
    console.warn(
      `warning: EVENT_ID_SECRET is not in ${shown(file)}: unless it was set by an earlier deploy, the ids agentwire ` +
        "derives are keyed from ADMIN_TOKEN; add 32+ random bytes there (e.g. `openssl rand -base64 32`)",
    );
  if (!secrets.ANTHROPIC_API_KEY)
    console.log("note: no ANTHROPIC_API_KEY: the local model answers (unless set earlier)");
  for (const k of Object.keys(secrets).filter((k) => !SECRETS.includes(k)))
    console.warn(`warning: ${k} in ${shown(file)} is not a secret agentwire reads; it is uploaded anyway`);
  if ((statSync(file).mode & 0o077) !== 0) console.warn(`warning: others can read ${shown(file)}: chmod 600 it`);
  // JSON, not the dotenv file itself: wrangler expands $VAR in dotenv values and lets the process
  // environment override them, so a stray ADMIN_TOKEN in the shell would be uploaded instead.
  const json = path.join(workDir, "secrets.json");
  writeFileSync(json, JSON.stringify(secrets), { mode: 0o600 });
  console.log(`secrets: ${Object.keys(secrets).join(", ")} from ${shown(file)}`);
  return json;
}

const WhoAmI = z.object({
  loggedIn: z.boolean(),
  email: z.string().optional(),
  accounts: z.array(z.object({ id: z.string(), name: z.string() })).default([]),
});

/** 1b. Logged in, and to one account (or told which): wrangler cannot ask in CI mode. */
async function checkAccount(): Promise<void> {
  const run = await wrangler(["whoami", "--json"]);
  const json = run.output.slice(run.output.indexOf("{"), run.output.lastIndexOf("}") + 1);
  const me = WhoAmI.safeParse(parseJson(json));
  if (!me.success)
    throw new DeployError(`could not ask Cloudflare who you are (wrangler whoami):\n${lastLines(run.output)}`);
  if (!me.data.loggedIn)
    throw new DeployError(
      "not logged in: run `npx wrangler login`, or set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID (CI)",
    );
  const chosen = process.env.CLOUDFLARE_ACCOUNT_ID;
  if (!chosen && me.data.accounts.length > 1) {
    const list = me.data.accounts.map((a) => `  ${a.id}  ${a.name}`).join("\n");
    throw new DeployError(
      `you can deploy to ${me.data.accounts.length} accounts: set CLOUDFLARE_ACCOUNT_ID to one of\n${list}`,
    );
  }
  const account = me.data.accounts.find((a) => a.id === chosen) ?? me.data.accounts[0];
  console.log(
    `account: ${account ? `${account.name} (${account.id})` : (chosen ?? "?")}${me.data.email ? ` as ${me.data.email}` : ""}`,
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const NO_DATABASE = /Couldn't find (a|an auto-provisioned) D1 DB/;

/** Remote migrations: "missing" when the database does not exist yet (before a first deploy). */
async function migrate(): Promise<"applied" | "missing"> {
  const run = await wrangler(["d1", "migrations", "apply", "DB", "--remote"]);
  if (run.code === 0) {
    const applied = new Set([...run.output.matchAll(/(\d{4}_\w+\.sql)\s*│\s*✅/g)].map((m) => m[1])).size;
    console.log(
      `remote D1: ${/No migrations to apply/.test(run.output) ? "up to date" : `applied ${applied} migration(s)`}`,
    );
    return "applied";
  }
  if (NO_DATABASE.test(run.output)) return "missing";
  throw new DeployError(`remote D1 migrations failed (wrangler exit ${run.code}):\n${lastLines(run.output)}`);
}

/** 3. The deploy itself; returns wrangler's output (the URL is in it). */
async function deploy(secretsJson: string): Promise<string> {
  const run = await wrangler(["deploy", "--secrets-file", secretsJson], true);
  if (run.code === 0) return run.output;
  if (/register a workers\.dev subdomain/.test(run.output)) {
    const link =
      /https:\/\/dash\.cloudflare\.com\/\S+\/workers\/onboarding/.exec(run.output)?.[0] ??
      "the dashboard (Workers & Pages)";
    throw new DeployError(
      `this account has no workers.dev subdomain yet: register one at ${link} (once), then run npm run deploy again`,
    );
  }
  throw new DeployError(`wrangler deploy failed (exit ${run.code}); see its output above`);
}

/** The workers.dev URL wrangler prints under "Deployed agentwire triggers". */
function deployedUrl(output: string): string | undefined {
  const after = output.slice(Math.max(0, output.search(/^Deployed .* triggers/m)));
  return /^\s+(https?:\/\/\S+?)\/?$/m.exec(after)?.[1];
}

const Health = z.object({
  name: z.literal("agentwire"),
  status: z.enum(["ok", "misconfigured", "degraded"]),
  problems: z.array(z.object({ name: z.string(), problem: z.string(), fix: z.string() })).default([]),
  database: z.object({ ok: z.boolean() }).optional(),
});

/** 5. Polls GET /v1/health until healthy or the timeout; a DeployError says what it saw last. */
async function waitHealthy(url: string, secretsFile: string): Promise<void> {
  const deadline = Date.now() + healthTimeout * 1000;
  let last = "no answer";
  let told = false;
  console.log(`checking ${url}/v1/health …`);
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/v1/health`, {
        signal: AbortSignal.timeout(Math.max(1000, Math.min(10_000, deadline - Date.now()))),
      });
      const health = Health.safeParse(await res.json().catch(() => undefined));
      if (health.success && health.data.status === "ok" && res.ok) return;
      if (!health.success) last = `${res.status}, not agentwire's health answer`;
      else {
        const fixes = health.data.problems.map((p) =>
          SECRETS.includes(p.name)
            ? `\n  ${p.name} ${p.problem}: add it to ${shown(secretsFile)}, then npm run deploy`
            : `\n  ${p.name} ${p.problem}: ${p.fix}`,
        );
        const db =
          health.data.database?.ok === false ? "\n  the database is not migrated: run npm run deploy again" : "";
        last = `${res.status} ${health.data.status}${fixes.join("")}${db}`;
      }
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : "";
      last = `${error instanceof Error ? error.message : String(error)}${cause}`;
      if (!told) console.log("  not answering yet (a new workers.dev subdomain can take a minute or two to resolve)");
      told = true;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(1000, deadline - Date.now()))));
  }
  throw new DeployError(
    `deployed, but ${url}/v1/health did not answer healthy within ${healthTimeout} s; last: ${last}`,
  );
}

async function main(workDir: string): Promise<void> {
  if (!Number.isFinite(healthTimeout) || healthTimeout <= 0)
    throw new DeployError("--health-timeout: seconds, above 0");
  const secretsFile = path.resolve(values["secrets-file"]);
  const secretsJson = checkSecrets(secretsFile, workDir);
  await checkAccount();
  const before = await migrate();
  if (before === "missing") console.log("remote D1: no database yet; wrangler deploy creates it");
  const output = await deploy(secretsJson);
  if (before === "missing" && (await migrate()) === "missing")
    throw new DeployError(
      "deployed, but wrangler created no D1 database: check the output above, then run npm run deploy again",
    );
  const url = values.url?.replace(/\/+$/, "") ?? deployedUrl(output);
  if (!url)
    throw new DeployError(
      "deployed, but wrangler printed no workers.dev URL (routes only?): pass --url https://your.host to check its health",
    );
  await waitHealthy(url, secretsFile);
  console.log(`\nagentwire is deployed and healthy at ${url}`);
  console.log(`  health:  curl ${url}/v1/health`);
  console.log(`  send:    npm run send -- --url ${url} --secret <WEBHOOK_SECRET> --admin-token <ADMIN_TOKEN>`);
  console.log(`           (both in ${shown(secretsFile)})`);
  console.log("  logs:    npx wrangler tail, or the dashboard: Workers & Pages → agentwire → Logs");
}

const workDir = mkdtempSync(path.join(tmpdir(), "agentwire-deploy-"));
let code = 0;
try {
  await main(workDir);
} catch (error) {
  if (!(error instanceof DeployError)) throw error;
  console.error(`deploy: ${error.message}`);
  code = 1;
} finally {
  rmSync(workDir, { recursive: true, force: true }); // the JSON copy of the secrets
}
process.exit(code);
