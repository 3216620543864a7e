// `npm start` / `npm run dev` refusing to start, fast and in plain words, and startDev never taking
// another server for agentwire. The refusals run before wrangler: each takes about a second.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { quietTerminal, ROOT, startDev } from "../../scripts/lib/dev";
import { runScript } from "./run-script";

let dir = "";
let held: Server | undefined;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "agentwire-start-test-"));
  writeFileSync(path.join(dir, "dev.vars"), readFileSync(path.join(ROOT, ".dev.vars.example")));
});
afterEach(async () => {
  if (held) await new Promise((r) => held!.close(r));
  held = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** An HTTP server on a free port that answers 200 to everything, as a stray dev server would. */
async function holdPort(): Promise<number> {
  held = createServer((_req, res) => res.end("some other server"));
  await new Promise<void>((r) => held!.listen(0, "127.0.0.1", r));
  const address = held.address();
  return typeof address === "object" && address ? address.port : 0;
}

const start = (env: Record<string, string>) =>
  runScript("start.ts", [], {
    AGENTWIRE_DEV_VARS: path.join(dir, "dev.vars"),
    AGENTWIRE_PERSIST_TO: path.join(dir, "state"),
    ...env,
  });

describe("npm start", () => {
  it("reports a taken port in one line, before migrations or wrangler", async () => {
    const port = await holdPort();
    const r = await start({ PORT: String(port) });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(new RegExp(`^port ${port} is in use: stop what holds it or set PORT=\\d+$`));
    expect(r.stdout).toBe("");
    expect(readdirSync(dir)).toEqual(["dev.vars"]); // no state: migrations never ran
    expect(r.ms).toBeLessThan(10_000);
  });

  it("refuses a bad configuration, listing every problem by name with its fix", async () => {
    const vars = readFileSync(path.join(dir, "dev.vars"), "utf8").replace(/^ADMIN_TOKEN=.*$/m, "");
    writeFileSync(path.join(dir, "dev.vars"), `${vars}\nMAX_HOPS="eight"\n`);
    // The port is taken too: the configuration is checked first.
    const r = await start({ PORT: String(await holdPort()) });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toMatch(/^agentwire cannot start: 2 settings to fix/);
    expect(lines.slice(1).sort()).toEqual([
      expect.stringMatching(/^ {2}ADMIN_TOKEN is not set.*: `wrangler secret put ADMIN_TOKEN`/),
      expect.stringMatching(/^ {2}MAX_HOPS .*\(it is "eight"\): set MAX_HOPS in wrangler\.toml/),
    ]);
    expect(readdirSync(dir)).toEqual(["dev.vars"]);
    expect(r.ms).toBeLessThan(10_000);
  });

  it("says so when AGENTWIRE_DEV_VARS names a file that is not there", async () => {
    const r = await start({ AGENTWIRE_DEV_VARS: path.join(dir, "missing.vars") });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`agentwire cannot start: ${path.join(dir, "missing.vars")} does not exist`);
  });

  it("startDev does not take another server on its port for agentwire", async () => {
    const port = await holdPort();
    await expect(
      startDev({ port, persistTo: path.join(dir, "state"), vars: { WEBHOOK_SECRET: "", ADMIN_TOKEN: "" } }),
    ).rejects.toThrow(/wrangler dev exited/);
  });
});

describe("npm start's terminal", () => {
  it("shows the bindings table once and hides the offline Request.cf noise", () => {
    let shown = "";
    const write = quietTerminal((s) => (shown += s));
    const table = "Your Worker has access to the following bindings:\nBinding  Resource\nenv.DB  D1\n\n";
    write(table);
    write("[wrangler:warn] Unable to fetch the `Request.cf` object! Falling back\n");
    write(
      "Error: getaddrinfo ENOTFOUND workers.cloudflare.com\n    at GetAddrInfoReqWrap.onlookupall (node:dns:1:1)\n",
    );
    write(table.replace("env.DB", "env.DB ")); // the reload's second table
    write("[wrangler:info] Ready on http://127.0.0.1:8787\n");
    expect(shown).toBe(`${table}[wrangler:info] Ready on http://127.0.0.1:8787\n`);
  });
});
