// `npm run secrets:new [-- --file PATH] [--force]`: generates production secrets into .prod.vars
// (git-ignored, mode 0600), which `npm run deploy` checks and uploads with the Worker. Refuses to
// overwrite without --force: a new WEBHOOK_SECRET breaks every sender that has the old one.
import { randomBytes } from "node:crypto";
import { chmodSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ROOT } from "./lib/dev";

export const SECRETS_FILE = path.join(ROOT, ".prod.vars");

/** A Standard Webhooks secret: whsec_ and the base64 of 32 random bytes. */
export const newWebhookSecret = () => `whsec_${randomBytes(32).toString("base64")}`;
// base64url: no "$" or quotes, so dotenv readers take it literally.
const token = () => randomBytes(32).toString("base64url");

export function secretsFile(): string {
  return [
    "# Production secrets for `npm run deploy`, which uploads them with the Worker. Never commit this file.",
    "# Give WEBHOOK_SECRET to the systems that send webhooks; keep the others to yourself.",
    `WEBHOOK_SECRET="${newWebhookSecret()}"`,
    `ADMIN_TOKEN="${token()}"`,
    "# The key of the event ids agentwire derives; changing it later changes the ids of retried runs.",
    `EVENT_ID_SECRET="${token()}"`,
    '# ANTHROPIC_API_KEY="sk-ant-..."  # unset: the deterministic local model answers',
    "",
  ].join("\n");
}

/** Writes a new secrets file; false (and nothing written) when it exists and force is not set. */
export function writeSecretsFile(file: string, force = false): boolean {
  try {
    // "wx" fails if the file exists, with no window between a check and the write.
    writeFileSync(file, secretsFile(), { mode: 0o600, flag: force ? "w" : "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  chmodSync(file, 0o600); // an overwritten file keeps its old mode otherwise
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { file: { type: "string", default: SECRETS_FILE }, force: { type: "boolean", default: false } },
  });
  const file = path.resolve(values.file);
  const shown = path.relative(process.cwd(), file).startsWith("..") ? file : path.relative(process.cwd(), file);
  if (!writeSecretsFile(file, values.force)) {
    console.error(`${shown} exists; keep it, or pass --force to replace it (senders then need the new WEBHOOK_SECRET)`);
    process.exit(1);
  }
  console.log(`wrote ${shown} (WEBHOOK_SECRET, ADMIN_TOKEN, EVENT_ID_SECRET; mode 0600)`);
  console.log("add ANTHROPIC_API_KEY there to use Claude, then: npm run deploy");
}
