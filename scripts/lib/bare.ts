// The bare one-hop pipeline (bench/bare): HTTP → queue → consumer → D1, the baseline every
// benchmark reports next to agentwire's own numbers.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, ROOT, startDev } from "./dev";
import { load, summarize, until } from "./stats";

export async function bareHop(N: number, C: number, RATE?: number) {
  const dir = mkdtempSync(path.join(tmpdir(), "agentwire-bench-bare-"));
  const server = await startDev({
    port: await freePort(),
    persistTo: dir,
    config: path.join(ROOT, "bench/bare/wrangler.toml"),
  });
  try {
    const wall = await load(
      N,
      C,
      async (i) => {
        const res = await fetch(`${server.url}/hop`, {
          method: "POST",
          body: JSON.stringify({ id: `hop-${i}`, sentAt: Date.now() }),
        });
        if (res.status !== 202) throw new Error(`bare hop answered ${res.status}`);
      },
      RATE,
    );
    const rows = await until(
      async () => {
        const r = await (await fetch(`${server.url}/results`)).json<{ sent_at: number; received_at: number }[]>();
        return r.length >= N ? r : undefined;
      },
      120_000,
      "the bare hop to drain",
    );
    return { acceptedPerSecond: (N / wall) * 1000, latency: summarize(rows.map((r) => r.received_at - r.sent_at)) };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
