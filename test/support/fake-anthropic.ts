// A fake Anthropic Messages API behind an injected fetch: the real SDK builds and sends real requests;
// only the HTTP boundary is scripted. It refuses what the real API refuses for the model named (as of
// 2026-11): unknown or retired models, forced tool use on Sonnet/Opus 5.5, sampling parameters and
// prefill on the 5.5 models, effort on models without it. It answers structured-output requests with
// JSON text of the requested schema's shape, optionally after a thinking block, and reports usage with
// the cache fields. A reply may call tools instead (stop_reason tool_use); the fake then checks, as
// the API does, that the next request answers every call with a tool_result. Shared by the workerd tests, the model-tier benchmark and the soak.
import { setModelFetch } from "../../src/models/client";
import { type JsonSchema, schemaMismatch } from "./json-schema-shape";

interface FakeModel {
  /** Characters per token: the 5.5 tokenizer counts the same text as ~30% more tokens. */
  charsPerToken: number;
  /** From this day on the API answers 404 for it. */
  retiredOn?: string;
  forcedToolChoice: boolean;
  sampling: boolean;
  prefill: boolean;
  effort: boolean;
}

const FIVE_FIVE: FakeModel = {
  charsPerToken: 3.1,
  forcedToolChoice: true,
  sampling: false,
  prefill: false,
  effort: true,
};
export const FAKE_MODELS: Record<string, FakeModel> = {
  "claude-haiku-5-5": { ...FIVE_FIVE },
  "claude-sonnet-5-5": { ...FIVE_FIVE, forcedToolChoice: false },
  "claude-opus-5-5": { ...FIVE_FIVE, forcedToolChoice: false },
  "claude-haiku-4-5": { charsPerToken: 4, forcedToolChoice: true, sampling: true, prefill: true, effort: false },
  "claude-sonnet-4-5": {
    charsPerToken: 4,
    retiredOn: "2026-11-30",
    forcedToolChoice: true,
    sampling: true,
    prefill: true,
    effort: false,
  },
};

export interface FakeRequest {
  model: string;
  system: string;
  user: string;
  /** `output_config.format.schema`, when the request asks for structured output. */
  outputSchema?: JsonSchema;
  effort?: string;
  cached: boolean;
  /** The names of the tools the request offers. */
  tools: string[];
  /** `tool_choice.type`, when set. */
  toolChoice?: string;
  /** The tool results the last user message carries, in order. */
  toolResults: { toolUseId: string; content: string; isError: boolean }[];
  body: Record<string, unknown>;
}

export interface FakeReply {
  /** HTTP status; 200 unless set. */
  status?: number;
  headers?: Record<string, string>;
  error?: { type: string; message: string };
  /** The structured answer; it must fit the requested schema's shape, as the real API guarantees. */
  answer?: unknown;
  /** Raw answer text instead (a truncated answer at max_tokens, say). */
  text?: string;
  /** A thinking block to put before the answer. */
  thinking?: string;
  /** Call these tools instead of answering (stop_reason tool_use); `text` may come first. */
  toolUses?: { name: string; input: unknown }[];
  stopReason?: "end_turn" | "refusal" | "max_tokens";
  usage?: Partial<{
    input_tokens: number;
    output_tokens: number;
    cache_read_input_tokens: number;
    cache_creation_input_tokens: number;
    cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
  }>;
  delayMs?: number;
}

export type FakeHandler = (request: FakeRequest) => FakeReply | Promise<FakeReply>;

export interface FakeOptions {
  /** The day the fake believes it is (retirements); default today. */
  today?: string;
}

const error = (status: number, type: string, message: string) => ({ status, error: { type, message } });

/** What the real API refuses in a request for this model; undefined when it would accept it. */
export function refusal(body: Record<string, unknown>, today: string): FakeReply | undefined {
  const model = typeof body.model === "string" ? body.model : "";
  const spec = FAKE_MODELS[model];
  if (!spec) return error(404, "not_found_error", `model: ${model}`);
  if (spec.retiredOn && today >= spec.retiredOn) return error(404, "not_found_error", `model: ${model} (retired)`);
  if (typeof body.max_tokens !== "number") return error(400, "invalid_request_error", "max_tokens: Field required");
  const choice = body.tool_choice as { type?: string } | undefined;
  if (!spec.forcedToolChoice && (choice?.type === "tool" || choice?.type === "any")) {
    return error(400, "invalid_request_error", `tool_choice forcing tool use is not supported with ${model}`);
  }
  for (const param of ["temperature", "top_p", "top_k"]) {
    if (!spec.sampling && param in body)
      return error(400, "invalid_request_error", `${param}: not supported by ${model}`);
  }
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: string }[]) : [];
  if (messages.length === 0) return error(400, "invalid_request_error", "messages: at least one message is required");
  if (!spec.prefill && messages.at(-1)?.role === "assistant") {
    return error(400, "invalid_request_error", `assistant message prefill is not supported by ${model}`);
  }
  const config = body.output_config as { effort?: string; format?: { type?: string } } | undefined;
  if (config?.effort !== undefined && !spec.effort) {
    return error(400, "invalid_request_error", `output_config.effort: not supported by ${model}`);
  }
  if (config?.format !== undefined && config.format.type !== "json_schema") {
    return error(400, "invalid_request_error", "output_config.format.type: must be json_schema");
  }
  return toolProblem(body, messages);
}

type Block = { type?: string; id?: string; tool_use_id?: string; name?: string };
const blocksOf = (content: unknown): Block[] => (Array.isArray(content) ? (content as Block[]) : []);

/** What the API says about tool blocks: they need tools, and every call needs its result next. */
function toolProblem(body: Record<string, unknown>, messages: { role?: string; content?: unknown }[]) {
  const tools = Array.isArray(body.tools) ? (body.tools as { name?: string }[]) : [];
  const blocks = messages.flatMap((m) => blocksOf(m.content));
  if (blocks.some((b) => b.type === "tool_use" || b.type === "tool_result") && tools.length === 0) {
    return error(
      400,
      "invalid_request_error",
      "Requests which include `tool_use` or `tool_result` blocks must define tools.",
    );
  }
  for (const [i, m] of messages.entries()) {
    if (m.role !== "assistant") continue;
    const calls = blocksOf(m.content).filter((b) => b.type === "tool_use");
    if (calls.length === 0) continue;
    const answered = new Set(
      blocksOf(messages[i + 1]?.content)
        .filter((b) => b.type === "tool_result")
        .map((b) => b.tool_use_id),
    );
    const missing = calls.find((c) => !answered.has(c.id));
    if (missing) {
      return error(
        400,
        "invalid_request_error",
        `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.id}`,
      );
    }
  }
  return undefined;
}

const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
      ? content.map((b: { text?: string; content?: unknown }) => b.text ?? textOf(b.content)).join("\n")
      : "";

export function fakeMessagesApi(handler: FakeHandler, options: FakeOptions = {}) {
  const requests: FakeRequest[] = [];
  const cache = new Set<string>();
  let n = 0;
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    if (!url.pathname.endsWith("/v1/messages")) return new Response("not found", { status: 404 });
    const raw = input instanceof Request ? await input.text() : await new Response(init?.body ?? null).text();
    const body = JSON.parse(raw) as Record<string, unknown>;
    const systemBlocks = Array.isArray(body.system) ? (body.system as { text: string; cache_control?: unknown }[]) : [];
    const system = typeof body.system === "string" ? body.system : systemBlocks.map((b) => b.text).join("\n");
    const config = body.output_config as { effort?: string; format?: { schema?: JsonSchema } } | undefined;
    const messages = (Array.isArray(body.messages) ? body.messages : []) as { content: unknown }[];
    const request: FakeRequest = {
      model: String(body.model),
      system,
      user: messages.map((m) => textOf(m.content)).join("\n"),
      ...(config?.format?.schema ? { outputSchema: config.format.schema } : {}),
      ...(config?.effort ? { effort: config.effort } : {}),
      cached: systemBlocks.some((b) => b.cache_control !== undefined),
      tools: (Array.isArray(body.tools) ? (body.tools as { name: string }[]) : []).map((t) => t.name),
      ...((body.tool_choice as { type?: string } | undefined)?.type
        ? { toolChoice: (body.tool_choice as { type: string }).type }
        : {}),
      toolResults: blocksOf((messages.at(-1) as { content?: unknown } | undefined)?.content)
        .filter((b) => b.type === "tool_result")
        .map((b) => {
          const r = b as { tool_use_id: string; content?: unknown; is_error?: boolean };
          return { toolUseId: r.tool_use_id, content: textOf(r.content), isError: r.is_error === true };
        }),
      body,
    };
    requests.push(request);
    const refused = refusal(body, options.today ?? new Date().toISOString().slice(0, 10));
    const reply = refused ?? (await handler(request));
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    const headers = { "content-type": "application/json", "request-id": `req_${++n}`, ...reply.headers };
    if (reply.status && reply.status !== 200) {
      const err = reply.error ?? { type: "api_error", message: `status ${reply.status}` };
      return new Response(JSON.stringify({ type: "error", error: err }), { status: reply.status, headers });
    }
    const calling = (reply.toolUses?.length ?? 0) > 0;
    if (calling && request.toolChoice === "none") {
      throw new Error("fake Messages API: the script calls a tool in a request with tool_choice none");
    }
    const stop = calling ? "tool_use" : (reply.stopReason ?? "end_turn");
    const text = calling
      ? (reply.text ?? "")
      : (reply.text ?? (stop === "refusal" ? "I can't help with that." : JSON.stringify(reply.answer ?? null)));
    if (request.outputSchema && stop === "end_turn" && reply.text === undefined) {
      const mismatch = schemaMismatch(reply.answer, request.outputSchema);
      if (mismatch) throw new Error(`fake Messages API: the scripted answer does not fit the schema: ${mismatch}`);
    }
    const perToken = FAKE_MODELS[request.model]?.charsPerToken ?? 4;
    const tokens = (s: string) => Math.ceil(s.length / perToken);
    // The prompt cache: the first request with a marked system prompt writes it, later ones read it.
    const systemTokens = tokens(system);
    const cacheKey = `${request.model}\u0000${system}`;
    const cacheRead = request.cached && cache.has(cacheKey) ? systemTokens : 0;
    const cacheWrite = request.cached && !cacheRead ? systemTokens : 0;
    if (request.cached) cache.add(cacheKey);
    const prompt = tokens(system + JSON.stringify(config?.format ?? {}) + request.user);
    const thinkingTokens = reply.thinking ? tokens(reply.thinking) : 0;
    const usage = {
      input_tokens: prompt - cacheRead - cacheWrite,
      output_tokens: tokens(text) + thinkingTokens + 5,
      cache_read_input_tokens: cacheRead,
      cache_creation_input_tokens: cacheWrite,
      cache_creation: { ephemeral_5m_input_tokens: cacheWrite, ephemeral_1h_input_tokens: 0 },
      output_tokens_details: { thinking_tokens: thinkingTokens },
      ...reply.usage,
    };
    const content = [
      ...(reply.thinking ? [{ type: "thinking", thinking: reply.thinking, signature: `sig_${n}` }] : []),
      ...(text ? [{ type: "text", text }] : []),
      ...(reply.toolUses ?? []).map((t, i) => ({
        type: "tool_use",
        id: `toolu_${n}_${i}`,
        name: t.name,
        input: t.input,
      })),
    ];
    const message = {
      id: `msg_${n}`,
      type: "message",
      role: "assistant",
      model: request.model,
      content,
      stop_reason: stop,
      stop_sequence: null,
      usage,
    };
    return new Response(JSON.stringify(message), { status: 200, headers });
  };
  return { fetch, requests };
}

/** Routes the SDK's calls (src/models/client.ts) to a new fake; reset with setModelFetch(undefined). */
export function useFakeMessages(handler: FakeHandler, options: FakeOptions = {}) {
  const fake = fakeMessagesApi(handler, options);
  setModelFetch(fake.fetch);
  return fake;
}
