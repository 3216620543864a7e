// `npm run secrets:new`: a whsec_ secret of 32 bytes and tokens the Worker accepts, in a 0600 file
// that is never overwritten without --force.
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readEnvFile, tomlVars } from "../../scripts/lib/dev";
import { checkConfig } from "../../src/config";
import { runScript } from "./run-script";

let dir = "";
let file = "";
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "agentwire-secrets-"));
  file = path.join(dir, ".prod.vars");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("npm run secrets:new", () => {
  it("writes a whsec_ secret of 32 random bytes, an admin token and an event id key, mode 0600", async () => {
    const r = await runScript("secrets-new.ts", ["--file", file]);
    expect(r.code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const secrets = readEnvFile(file);
    expect(secrets.WEBHOOK_SECRET).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secrets.WEBHOOK_SECRET!.slice("whsec_".length), "base64")).toHaveLength(32);
    expect(secrets.ADMIN_TOKEN!.length).toBeGreaterThanOrEqual(32);
    expect(secrets.EVENT_ID_SECRET!.length).toBeGreaterThanOrEqual(32);
    expect(secrets.ANTHROPIC_API_KEY).toBeUndefined();
    // The Worker's own check accepts them, and no secret is printed.
    expect(checkConfig({ ...tomlVars(), ...secrets }).problems).toEqual([]);
    for (const value of Object.values(secrets)) expect(r.stdout + r.stderr).not.toContain(value);
  });

  it("refuses to overwrite without --force, and --force replaces the secrets and makes the file private", async () => {
    expect((await runScript("secrets-new.ts", ["--file", file])).code).toBe(0);
    const first = readFileSync(file, "utf8");
    const firstSecret = readEnvFile(file).WEBHOOK_SECRET;
    const again = await runScript("secrets-new.ts", ["--file", file]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists; keep it, or pass --force/);
    expect(readFileSync(file, "utf8")).toBe(first);

    chmodSync(file, 0o644);
    const forced = await runScript("secrets-new.ts", ["--file", file, "--force"]);
    expect(forced.code).toBe(0);
    expect(readEnvFile(file).WEBHOOK_SECRET).not.toBe(firstSecret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
