// `npm start`: development secrets, local D1 migrations, then `wrangler dev` on PORT (default 8787).
import { resolveModels } from "../src/models/catalog";
import { applyMigrations, devVars, startDev, tomlVars } from "./lib/dev";

const port = Number(process.env.PORT ?? 8787);
const models = resolveModels({ ...tomlVars(), ...devVars() });
if (!models.ok) {
  console.error(`agentwire cannot start: ${models.problems.join("\n  ")}`);
  process.exit(1);
}
for (const warning of models.setup.warnings) console.warn(`warning: ${warning}`);
applyMigrations();
const server = await startDev({ port, inherit: true });
console.log(`\nagentwire is listening on ${server.url}`);
console.log("send a signed order event with: npm run send\n");
const shutdown = () => void server.stop().then(() => process.exit(0));
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
server.process.on("exit", (code) => process.exit(code ?? 0));
