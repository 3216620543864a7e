// The Cloudflare Workflows baseline: N `step.do` of L ms each, in parallel (Promise.all) or chained,
// then a join step that writes its completion time to D1. POST /start creates an instance;
// GET /results reads the completions.
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";

export interface FanOutParams {
  n: number;
  latencyMs: number;
  mode: "parallel" | "chained";
  sentAt: number;
}

interface CfEnv {
  WF: Workflow<FanOutParams>;
  DB: D1Database;
}

const schema = "CREATE TABLE IF NOT EXISTS completions (id TEXT PRIMARY KEY, sent_at INTEGER, completed_at INTEGER)";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class FanOut extends WorkflowEntrypoint<CfEnv, FanOutParams> {
  override async run(event: Readonly<WorkflowEvent<FanOutParams>>, step: WorkflowStep): Promise<number> {
    const { n, latencyMs, mode, sentAt } = event.payload;
    // A simulated agent, as in bench/registry.ts: sleep L ms, answer its number.
    const agent = (k: number) =>
      step.do(`agent-${k}`, async () => {
        await sleep(latencyMs);
        return k;
      });
    const ks = Array.from({ length: n }, (_, i) => i + 1);
    if (mode === "parallel") await Promise.all(ks.map(agent));
    else for (const k of ks) await agent(k);
    return step.do("join", async () => {
      const completedAt = Date.now();
      await this.env.DB.batch([
        this.env.DB.prepare(schema),
        this.env.DB.prepare("INSERT OR IGNORE INTO completions VALUES (?, ?, ?)").bind(
          event.instanceId,
          sentAt,
          completedAt,
        ),
      ]);
      return completedAt;
    });
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/start") {
      const { id, ...params } = await request.json<FanOutParams & { id: string }>();
      await env.WF.create({ id, params });
      return new Response(null, { status: 202 });
    }
    if (url.pathname === "/results") {
      await env.DB.prepare(schema).run();
      const id = url.searchParams.get("id");
      const { results } = await env.DB.prepare(
        "SELECT id, sent_at, completed_at FROM completions WHERE ?1 IS NULL OR id = ?1",
      )
        .bind(id)
        .all();
      return Response.json(results);
    }
    return new Response("cf workflows baseline", { status: 200 });
  },
} satisfies ExportedHandler<CfEnv>;
