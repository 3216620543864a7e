// The bare hop: POST /hop enqueues {id, sentAt}; the consumer writes one D1 batch per queue batch
// with the time it got each message. GET /results returns them.
interface BareEnv {
  HOP_QUEUE: Queue<{ id: string; sentAt: number }>;
  DB: D1Database;
}

const schema = "CREATE TABLE IF NOT EXISTS hops (id TEXT PRIMARY KEY, sent_at INTEGER, received_at INTEGER)";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/hop") {
      const body = await request.json<{ id: string; sentAt: number }>();
      await env.HOP_QUEUE.send(body, { contentType: "json" });
      return new Response(null, { status: 202 });
    }
    if (url.pathname === "/results") {
      await env.DB.prepare(schema).run();
      const { results } = await env.DB.prepare("SELECT id, sent_at, received_at FROM hops").all();
      return Response.json(results);
    }
    return new Response("bare hop", { status: 200 });
  },
  async queue(batch, env) {
    const now = Date.now();
    await env.DB.batch([
      env.DB.prepare(schema),
      ...batch.messages.map((m) =>
        env.DB.prepare("INSERT OR IGNORE INTO hops VALUES (?, ?, ?)").bind(m.body.id, m.body.sentAt, now),
      ),
    ]);
    batch.ackAll();
  },
} satisfies ExportedHandler<BareEnv, { id: string; sentAt: number }>;
