// A fake Anthropic Messages API behind an injected fetch: the real SDK builds and sends real requests;
// only the HTTP boundary is scripted. Shared by the workerd tests and the model-tier benchmark.

export interface FakeRequest {
  model: string;
  system: string;
  user: string;
  toolChoice: unknown;
  tools: { name: string; input_schema: unknown }[];
  cached: boolean;
}

export interface FakeReply {
  /** HTTP status; 200 unless set. */
  status?: number;
  headers?: Record<string, string>;
  error?: { type: string; message: string };
  /** The record_decision tool input. */
  toolInput?: unknown;
  stopReason?: "tool_use" | "refusal" | "max_tokens" | "end_turn";
  usage?: Partial<{
    input_tokens: number;
    output_tokens: number;
    cache_read_input_tokens: number;
    cache_creation_input_tokens: number;
  }>;
  delayMs?: number;
}

export type FakeHandler = (request: FakeRequest) => FakeReply | Promise<FakeReply>;

interface Body {
  model: string;
  system: { text: string; cache_control?: unknown }[];
  messages: { content: string }[];
  tools: { name: string; input_schema: unknown }[];
  tool_choice: unknown;
}

/** Roughly what the API would count: ~4 characters a token. */
export const approxTokens = (text: string) => Math.ceil(text.length / 4);

export function fakeMessagesApi(handler: FakeHandler) {
  const requests: FakeRequest[] = [];
  let n = 0;
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    if (!url.pathname.endsWith("/v1/messages")) return new Response("not found", { status: 404 });
    const raw = input instanceof Request ? await input.text() : await new Response(init?.body ?? null).text();
    const body = JSON.parse(raw) as Body;
    const system = body.system.map((b) => b.text).join("\n");
    const request: FakeRequest = {
      model: body.model,
      system,
      user: body.messages.map((m) => m.content).join("\n"),
      toolChoice: body.tool_choice,
      tools: body.tools,
      cached: body.system.some((b) => b.cache_control !== undefined),
    };
    requests.push(request);
    const reply = await handler(request);
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    const headers = { "content-type": "application/json", "request-id": `req_${++n}`, ...reply.headers };
    if (reply.status && reply.status !== 200) {
      const error = reply.error ?? { type: "api_error", message: `status ${reply.status}` };
      return new Response(JSON.stringify({ type: "error", error }), { status: reply.status, headers });
    }
    const prompt = approxTokens(system + JSON.stringify(body.tools) + request.user);
    const output = reply.toolInput === undefined ? 20 : approxTokens(JSON.stringify(reply.toolInput)) + 20;
    const usage = {
      input_tokens: prompt,
      output_tokens: output,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
      ...reply.usage,
    };
    const stop = reply.stopReason ?? "tool_use";
    const content =
      stop === "tool_use" && reply.toolInput !== undefined
        ? [{ type: "tool_use", id: `toolu_${n}`, name: "record_decision", input: reply.toolInput }]
        : [{ type: "text", text: stop === "refusal" ? "I can't help with that." : "..." }];
    const message = {
      id: `msg_${n}`,
      type: "message",
      role: "assistant",
      model: body.model,
      content,
      stop_reason: stop,
      stop_sequence: null,
      usage,
    };
    return new Response(JSON.stringify(message), { status: 200, headers });
  };
  return { fetch, requests };
}
