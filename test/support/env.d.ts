// Bindings that exist only under test.
import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** "1" prints the routine log lines tests otherwise drop (test/support/setup.ts). */
      TEST_LOGS: string;
    }
  }
}
