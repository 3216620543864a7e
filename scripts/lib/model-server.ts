// The fake Messages API (test/support/fake-anthropic.ts) served over HTTP on loopback, so that a
// `wrangler dev` under test or benchmark calls it through the real SDK with ANTHROPIC_BASE_URL.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export interface ModelServer {
  /** ANTHROPIC_BASE_URL for the server under test. */
  baseUrl: string;
  close(): Promise<void>;
}

/** Serves `fetch` on 127.0.0.1 (`port` 0: any free one). */
export async function serveModel(fetch: Fetch, port = 0): Promise<ModelServer> {
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      void (async () => {
        const reply = await fetch(`http://127.0.0.1${req.url ?? "/"}`, { method: req.method ?? "POST", body });
        res.writeHead(reply.status, Object.fromEntries(reply.headers));
        res.end(await reply.text());
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${bound}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
