// Starts a throwaway `wrangler dev` (its own port and state directory) for an end-to-end test file.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import type { Target } from "../../scripts/lib/client";
import { applyMigrations, type DevServer, freePort, startDev } from "../../scripts/lib/dev";

export const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
export const ADMIN_TOKEN = "e2e-admin-token";

export function useDevServer(vars: Record<string, string> = {}): Target {
  const target: Target = { url: "", secret: SECRET, adminToken: ADMIN_TOKEN };
  let server: DevServer | undefined;
  let dir = "";
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "agentwire-e2e-"));
    applyMigrations(dir);
    server = await startDev({
      port: await freePort(),
      persistTo: dir,
      // Every var the server relies on; its own env file, so a developer's .dev.vars is never read.
      vars: {
        WEBHOOK_SECRET: SECRET,
        ADMIN_TOKEN,
        EVENT_ID_SECRET: "e2e-event-id-secret-0123456789abcdef",
        RETRY_BASE_DELAY_SECONDS: "0",
        ANTHROPIC_API_KEY: "",
        ANTHROPIC_BASE_URL: "",
        ...vars,
      },
    });
    target.url = server.url;
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return target;
}
