// One model call with a structured answer: the agent's zod schema becomes `output_config.format`
// (the SDK's zodOutputFormat), the system prompt is cached when long, the event goes in as delimited
// untrusted data. Never sent: tool_choice, temperature, top_p, top_k or an assistant prefill — the
// 5.5 models refuse them. The answer is read from the text blocks by type (thinking may come first).
import type Anthropic from "@anthropic-ai/sdk";
import { zodOutputFormat } from "@anthropic-ai/sdk/helpers/zod";
import type { z } from "zod";
import { type Effort, type ModelId, modelInfo } from "./lineup";
import type { Usage } from "./prices";

/** Roughly 1,024 tokens: the smallest prefix worth marking for the prompt cache. */
const CACHE_MIN_CHARS = 4_000;

export interface CallInput {
  model: ModelId;
  system: string;
  /** The answer's schema: the model must reply with JSON of this shape. */
  schema: z.ZodType;
  user: string;
  maxTokens: number;
  /** Sent only to models that accept it. */
  effort?: Effort;
}

export interface CallResult {
  /** The answer's JSON, parsed but not yet validated; undefined when the text is not JSON. */
  output: unknown;
  /** The reply's content blocks, as the API sent them (recorded, to replay the step). */
  content: { type: string }[];
  stopReason: string | null;
  usage: Usage;
  latencyMs: number;
}

const formats = new WeakMap<z.ZodType, { type: "json_schema"; schema: Record<string, unknown> }>();

/** The JSON schema sent as `output_config.format`, built once per answer schema. */
export function outputFormat(schema: z.ZodType): { type: "json_schema"; schema: Record<string, unknown> } {
  let format = formats.get(schema);
  if (!format) {
    format = { type: "json_schema", schema: zodOutputFormat(schema).schema };
    formats.set(schema, format);
  }
  return format;
}

/** Every usage field the API returns, with cache writes split by TTL where it says. */
export function readUsage(u: Anthropic.Messages.Usage): Usage {
  const writes = u.cache_creation_input_tokens ?? 0;
  const split = u.cache_creation;
  const write1h = split?.ephemeral_1h_input_tokens ?? 0;
  return {
    inputTokens: u.input_tokens,
    outputTokens: u.output_tokens,
    cacheReadTokens: u.cache_read_input_tokens ?? 0,
    cacheWrite1hTokens: write1h,
    // Without the split, every write is priced as the default 5-minute TTL.
    cacheWrite5mTokens: split ? (split.ephemeral_5m_input_tokens ?? 0) : writes,
    thinkingTokens: u.output_tokens_details?.thinking_tokens ?? 0,
  };
}

/** The system prompt as a block, marked for the prompt cache when it is long enough to be worth it. */
export function systemBlocks(system: string) {
  return [
    {
      type: "text" as const,
      text: system,
      ...(system.length >= CACHE_MIN_CHARS ? { cache_control: { type: "ephemeral" as const } } : {}),
    },
  ];
}

/** `output_config`: the answer's format, and the effort for models that take one. */
export function outputConfig(input: Pick<CallInput, "model" | "schema" | "effort">) {
  const effort = input.effort && modelInfo(input.model).effort ? { effort: input.effort } : {};
  return { format: outputFormat(input.schema), ...effort };
}

/** The answer's JSON from a reply's text blocks (read by type: thinking may come first); undefined if not JSON. */
export function answerOf(content: readonly { type: string; text?: unknown }[]): unknown {
  const text = content
    .filter((block) => block.type === "text" && typeof block.text === "string")
    .map((block) => block.text as string)
    .join("");
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

export async function callModel(client: Anthropic, input: CallInput): Promise<CallResult> {
  const started = Date.now();
  const message = await client.messages.create({
    model: input.model,
    max_tokens: input.maxTokens,
    system: systemBlocks(input.system),
    output_config: outputConfig(input),
    messages: [{ role: "user", content: input.user }],
  });
  return {
    output: answerOf(message.content),
    content: message.content,
    stopReason: message.stop_reason,
    usage: readUsage(message.usage),
    latencyMs: Date.now() - started,
  };
}
