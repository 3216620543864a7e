// End-to-end tests: Node talks HTTP to a real `wrangler dev` (Miniflare Queues, Durable Objects, D1).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
