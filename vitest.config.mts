// Tests run inside workerd with real local bindings (Miniflare D1, Queues, Durable Objects), from
// the same wrangler.toml as production; only secrets and retry delays are overridden.
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    plugins: [
      cloudflareTest({
        main: "./test/support/worker.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            TEST_LOGS: process.env.TEST_LOGS ?? "",
            WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            ADMIN_TOKEN: "test-admin-token",
            EVENT_ID_SECRET: "test-event-id-secret-0123456789abcdef",
            RETRY_BASE_DELAY_SECONDS: "0",
            MAX_EVENTS_PER_CORRELATION: "40",
            // Hermetic: whatever a developer's .dev.vars holds, tests never see a real key or endpoint.
            ANTHROPIC_API_KEY: "",
            ANTHROPIC_BASE_URL: "",
            TRIAGE_MODEL: "claude-haiku-5-5",
            ESCALATION_MODEL: "claude-sonnet-5-5",
            MODEL_PRICES: "",
            // High, so that tests recording many dead letters (test/d1-limits.test.ts) raise no alert
            // as a side effect that outlives the file.
            ALERT_DEAD_LETTERS: "500",
            TEST_OUTBOUND_URL: "https://receiver.test/hooks/agentwire",
            TEST_OUTBOUND_SECRET: "whsec_ZGVzdGluYXRpb24tc2VjcmV0LTAxMjM0NTY3ODk=",
          },
        },
      }),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      // Vitest relays each console call of a test file to Node by RPC and waits for every reply
      // before the file ends. A line logged from another I/O context (a queue consumer, a Durable
      // Object, waitUntil) is parked until the runner's next message, and when it comes after the
      // file's last one the run stalls for good (cloudflare/workers-sdk#15498, #15719; it stalled CI
      // for 90 minutes). Without interception, lines go straight to workerd's stdout; the routine
      // ones are dropped in test/support/setup.ts.
      disableConsoleIntercept: true,
      exclude: ["test/e2e/**"],
      setupFiles: ["./test/support/setup.ts"],
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
});
