// `npm start` and `npm run dev`: refuse a bad configuration or a taken port before anything starts,
// apply the local D1 migrations quietly, then serve `wrangler dev` on PORT (default 8787) and say so
// once agentwire itself answers. For tests: AGENTWIRE_DEV_VARS (a path) replaces .dev.vars and
// AGENTWIRE_PERSIST_TO replaces .wrangler/state, so a test never touches the developer's own.
import { createServer } from "node:net";
import path from "node:path";
import { z } from "zod";
import { checkConfig } from "../src/config";
import { applyMigrations, DEV_VARS, devVars, startDev, tomlVars } from "./lib/dev";

const Options = z.object({
  PORT: z.preprocess((v) => (v === "" ? undefined : v), z.coerce.number().int().min(1).max(65_535).default(8787)),
  AGENTWIRE_DEV_VARS: z.string().min(1).optional(),
  AGENTWIRE_PERSIST_TO: z.string().min(1).optional(),
});
const parsed = Options.safeParse(process.env);
if (!parsed.success) {
  console.error(`agentwire cannot start: PORT must be a port number, 1 to 65535 (it is ${process.env.PORT})`);
  process.exit(1);
}
const { PORT: port, AGENTWIRE_DEV_VARS: varsFile = DEV_VARS, AGENTWIRE_PERSIST_TO: persistTo } = parsed.data;

// 1. Configuration: the same check the Worker makes, over the vars wrangler dev would give it.
let vars: Record<string, string>;
try {
  vars = { ...tomlVars(), ...devVars(varsFile) };
} catch (error) {
  console.error(`agentwire cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
const { problems, warnings } = checkConfig(vars);
if (problems.length > 0) {
  const relative = path.relative(process.cwd(), varsFile);
  const where = relative.startsWith("..") ? varsFile : relative;
  console.error(
    `agentwire cannot start: ${problems.length} setting${problems.length === 1 ? "" : "s"} to fix (${where}, wrangler.toml [vars]):`,
  );
  for (const p of problems) console.error(`  ${p.name} ${p.problem}: ${p.fix}`);
  process.exit(1);
}
for (const warning of warnings) console.warn(`warning: ${warning}`);

// 2. The port: wrangler would print "ready", then a workerd stack, then exit.
const taken = await portProblem(port);
if (taken) {
  console.error(taken);
  process.exit(1);
}

// 3. Local D1 migrations, in one line unless they fail.
try {
  console.log(`local D1: ${applyMigrations(persistTo)}`);
} catch (error) {
  console.error(
    `agentwire cannot start: local D1 migrations failed\n${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}

// 4. The server; wrangler's own output goes to this terminal.
const server = await startDev({
  port,
  inherit: true,
  persistTo,
  envFile: varsFile === DEV_VARS ? undefined : varsFile,
}).catch((error: unknown) => {
  console.error(`agentwire did not start: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  process.exit(1);
});
console.log(
  `\nagentwire is listening on ${server.url} (GET /v1/health says how it is; the console: ${server.url}/console)`,
);
console.log("send a signed order event with: npm run send\n");
const shutdown = () => void server.stop().then(() => process.exit(0));
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
server.process.on("exit", (code) => process.exit(code ?? 0));

/** One line when the port cannot be had, naming a free one to use instead; undefined when it is free. */
async function portProblem(port: number): Promise<string | undefined> {
  const code = await tryListen(port);
  if (!code) return undefined;
  let other: number | undefined;
  for (let p = port + 1; p < port + 20 && p <= 65_535 && !other; p++) if (!(await tryListen(p))) other = p;
  const instead = `set PORT=${other ?? "another port"}`;
  return code === "EADDRINUSE"
    ? `port ${port} is in use: stop what holds it or ${instead}`
    : `port ${port} cannot be opened (${code}): ${instead}`;
}

/** Listens on 127.0.0.1:port (where wrangler dev will) and closes again; the error code if it fails. */
function tryListen(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(undefined)));
  });
}
