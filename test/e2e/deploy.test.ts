// `npm run deploy` against a fake wrangler (records its arguments, prints what wrangler 4.155 prints,
// keeps the account's state in files) and a local server standing in for the deployed /v1/health.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runScript } from "./run-script";

// The account: "db" once D1 exists, "migrated" once its migrations ran, "deploy-fails" to fail.
const FAKE_WRANGLER = `#!/bin/sh
echo "$*" >> "$FAKE_DIR/calls.log"
banner() { printf '\\n ⛅️ wrangler 4.155.0\\n───────────────────\\n'; }
case "$*" in
  "whoami --json")
    echo '{"loggedIn":true,"authType":"OAuth Token","email":"ops@example.com","accounts":[{"id":"0123abcd","name":"Example"}]}' ;;
  "d1 migrations apply DB --remote")
    banner; echo "Resource location: remote"; echo
    if [ ! -f "$FAKE_DIR/db" ]; then
      echo "✘ [ERROR] Couldn't find a D1 DB named 'agentwire' (bound as 'DB') in the API. Run 'wrangler d1 create agentwire' to create it." >&2
      exit 1
    fi
    if [ -f "$FAKE_DIR/migrated" ]; then echo "✅ No migrations to apply!"; exit 0; fi
    echo "Migrations to be applied:"
    echo "│ 0001_create_event_log.sql         │ ✅     │"
    echo "│ 0002_create_stock.sql             │ ✅     │"
    touch "$FAKE_DIR/migrated" ;;
  deploy\\ --secrets-file\\ *)
    cp "$3" "$FAKE_DIR/uploaded.json"
    banner; echo "Total Upload: 998.45 KiB / gzip: 234.19 KiB"
    if [ -f "$FAKE_DIR/deploy-fails" ]; then
      echo "✘ [ERROR] A request to the Cloudflare API (/accounts/0123abcd/workers/scripts/agentwire) failed." >&2
      echo "  Authentication error [code: 10000]" >&2
      exit 1
    fi
    if [ ! -f "$FAKE_DIR/db" ]; then
      echo "Provisioning DB (D1 Database)..."; echo "Resource name found in config: agentwire"
      echo "🌀 Creating new D1 Database \\"agentwire\\"..."; touch "$FAKE_DIR/db"
      echo "🎉 Resources provisioned, continuing with deployment..."
    fi
    echo "Uploaded agentwire (3.21 sec)"
    echo "Deployed agentwire triggers (1.02 sec)"
    echo "  $FAKE_URL"
    echo "  schedule: */5 * * * *"
    echo "  Producer for agentwire-events"
    echo "Current Version ID: 1b2c3d4e-0000-4000-8000-000000000000" ;;
  *) echo "fake wrangler: unexpected arguments: $*" >&2; exit 2 ;;
esac
`;

const SECRETS = [
  'WEBHOOK_SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"',
  'ADMIN_TOKEN="deploy-test-admin-token-0123456789"',
  'EVENT_ID_SECRET="deploy-test-event-id-secret-0123456789"',
].join("\n");

let dir = "";
let server: Server;
let url = "";
let healthCalls = 0;
/** What the stand-in Worker answers: healthy once migrated, unless told it is misconfigured. */
let misconfigured = false;

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "agentwire-deploy-test-"));
  writeFileSync(path.join(dir, "wrangler"), FAKE_WRANGLER);
  chmodSync(path.join(dir, "wrangler"), 0o755);
  writeFileSync(path.join(dir, ".prod.vars"), SECRETS + "\n", { mode: 0o600 });
  healthCalls = 0;
  misconfigured = false;
  server = createServer((req, res) => {
    if (req.url !== "/v1/health") return void res.writeHead(404).end();
    healthCalls++;
    const migrated = existsSync(path.join(dir, "migrated"));
    const problems = misconfigured
      ? [{ name: "ADMIN_TOKEN", problem: "is not set", fix: "`wrangler secret put ADMIN_TOKEN`" }]
      : [];
    const ok = migrated && problems.length === 0;
    res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        name: "agentwire",
        status: ok ? "ok" : problems.length > 0 ? "misconfigured" : "degraded",
        parts: {},
        problems,
        warnings: [],
        database: { ok: migrated },
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
});
afterEach(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const deploy = (...args: string[]) =>
  runScript("deploy.ts", ["--secrets-file", path.join(dir, ".prod.vars"), "--health-timeout", "3", ...args], {
    WRANGLER: path.join(dir, "wrangler"),
    FAKE_DIR: dir,
    FAKE_URL: url,
    CLOUDFLARE_API_TOKEN: undefined,
    CLOUDFLARE_ACCOUNT_ID: undefined,
  });
const calls = () => {
  const log = path.join(dir, "calls.log");
  return existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
};

describe("npm run deploy", () => {
  it("takes a fresh account to a healthy deployment: deploy creates D1, then migrations, then health", async () => {
    const r = await deploy();
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const log = calls();
    expect(log.map((c) => c.replace(/--secrets-file \S+/, "--secrets-file <json>"))).toEqual([
      "whoami --json",
      "d1 migrations apply DB --remote",
      "deploy --secrets-file <json>",
      "d1 migrations apply DB --remote",
    ]);
    expect(r.stdout).toContain("remote D1: no database yet; wrangler deploy creates it");
    expect(r.stdout).toContain("remote D1: applied 2 migration(s)");
    expect(r.stdout).toContain(`agentwire is deployed and healthy at ${url}`);
    expect(r.stdout).toContain(`npm run send -- --url ${url} --secret <WEBHOOK_SECRET> --admin-token <ADMIN_TOKEN>`);
    // The secrets went up as JSON (no $VAR expansion, no override from the environment), the copy is
    // gone afterwards, and no secret value was printed.
    const uploaded = JSON.parse(readFileSync(path.join(dir, "uploaded.json"), "utf8"));
    expect(Object.keys(uploaded).sort()).toEqual(["ADMIN_TOKEN", "EVENT_ID_SECRET", "WEBHOOK_SECRET"]);
    expect(existsSync(/--secrets-file (\S+)/.exec(log[2]!)![1]!)).toBe(false);
    for (const value of Object.values(uploaded)) expect(r.stdout).not.toContain(value);
  });

  it("migrates first on a redeploy, and deploys once", async () => {
    writeFileSync(path.join(dir, "db"), "");
    const r = await deploy();
    expect(r.code).toBe(0);
    expect(calls().map((c) => c.split(" --")[0])).toEqual(["whoami", "d1 migrations apply DB", "deploy"]);
    expect(r.stdout).toContain("remote D1: applied 2 migration(s)");
    expect(r.stdout).toContain("deployed and healthy");
  });

  it("without .prod.vars says to run secrets:new and runs nothing", async () => {
    rmSync(path.join(dir, ".prod.vars"));
    const r = await deploy();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^deploy: no .*\.prod\.vars: run `npm run secrets:new` first/);
    expect(calls()).toEqual([]);
  });

  it("refuses secrets the Worker would refuse, naming each, and runs nothing", async () => {
    writeFileSync(path.join(dir, ".prod.vars"), 'WEBHOOK_SECRET="not-a-whsec"\n');
    const r = await deploy();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("deploy: 2 setting(s) to fix before deploying:");
    expect(r.stderr).toMatch(/ {2}WEBHOOK_SECRET is not whsec_.*: add it to .*\.prod\.vars/);
    expect(r.stderr).toMatch(/ {2}ADMIN_TOKEN is not set.*: add it to .*\.prod\.vars/);
    expect(r.stderr).not.toContain("not-a-whsec");
    expect(calls()).toEqual([]);
  });

  it("says that EVENT_ID_SECRET is missing, and deploys what there is", async () => {
    writeFileSync(path.join(dir, ".prod.vars"), SECRETS.split("\n").slice(0, 2).join("\n"));
    writeFileSync(path.join(dir, "db"), "");
    const r = await deploy();
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: EVENT_ID_SECRET is not in .*\.prod\.vars/);
    const uploaded = JSON.parse(readFileSync(path.join(dir, "uploaded.json"), "utf8"));
    expect(Object.keys(uploaded).sort()).toEqual(["ADMIN_TOKEN", "WEBHOOK_SECRET"]);
  });

  it("exits 1 when wrangler deploy fails, with nothing after it", async () => {
    writeFileSync(path.join(dir, "deploy-fails"), "");
    const r = await deploy();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("deploy: wrangler deploy failed (exit 1)");
    expect(r.stdout).toContain("Authentication error [code: 10000]"); // wrangler's own output, shown
    expect(calls().at(-1)).toMatch(/^deploy /);
    expect(healthCalls).toBe(0);
  });

  it("exits 1 within the timeout when the deployment does not answer healthy, saying why", async () => {
    misconfigured = true;
    const r = await deploy();
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(15_000);
    expect(r.stderr).toContain(`deploy: deployed, but ${url}/v1/health did not answer healthy within 3 s`);
    expect(r.stderr).toMatch(
      /503 misconfigured\n {2}ADMIN_TOKEN is not set: add it to .*\.prod\.vars, then npm run deploy/,
    );
    expect(healthCalls).toBeGreaterThan(1);
  });
});
