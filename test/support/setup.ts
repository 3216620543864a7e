// Applies the real migrations to the test D1 database before each test file.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// The config turns off Vitest's console interception (see vitest.config.mts), so a log line goes
// straight to workerd's stdout. The routine lines (one object per event, run and workflow step) would
// be tens of thousands: they are dropped unless TEST_LOGS=1. Errors and warnings still print, and a
// test that spies on console.log (test/logs.test.ts) sees every line either way.
if (!env.TEST_LOGS) console.log = () => {};
