// The architecture is enforced, not only described: the linter fails an import against the one-way
// flow, and the cycle check fails an import cycle (both run in `npm run lint`).
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/lib/dev";

const lint = async (filePath: string, code: string) => {
  const [result] = await new ESLint({ cwd: ROOT }).lintText(code, { filePath: `${ROOT}/${filePath}` });
  return (result?.messages ?? []).filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
};

describe("import boundaries", () => {
  it("fail an import against the flow", async () => {
    expect(await lint("src/db/where.ts", 'export { settings } from "../config";\n')).toEqual([
      expect.stringContaining("src/db imports nothing above it"),
    ]);
    expect(await lint("src/http/app.ts", 'export { runTasks } from "../consumers/run";\n')).toEqual([
      expect.stringContaining("never into a consumer"),
    ]);
    expect(await lint("agents/inventory.ts", 'export { settings } from "../src/config";\n')).toEqual([
      expect.stringContaining("agents import zod, each other and src/define only"),
    ]);
    expect(await lint("agents/inventory.ts", 'export { Hono } from "hono";\n')).toHaveLength(1);
  }, 60_000);

  it("let the flow's own imports through", async () => {
    expect(await lint("src/db/where.ts", 'export type { Envelope } from "../bus/envelope";\n')).toEqual([]);
    expect(await lint("agents/inventory.ts", 'export { z } from "zod";\nexport * from "./define";\n')).toEqual([]);
  }, 60_000);
});
