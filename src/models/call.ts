// One model call: forced tool use with the agent's output schema (from zod), the system prompt
// cached when long, and the event given as clearly delimited untrusted data.
import type Anthropic from "@anthropic-ai/sdk";
import { z } from "zod";
import type { ModelId, Usage } from "./catalog";

export const TOOL_NAME = "record_decision";

/** Roughly 1,024 tokens: the smallest prefix worth marking for the prompt cache. */
const CACHE_MIN_CHARS = 4_000;

export interface CallInput {
  model: ModelId;
  system: string;
  /** The tool's input schema: what the model must answer with. */
  schema: z.ZodType;
  user: string;
  maxTokens: number;
}

export interface CallResult {
  input: unknown;
  stopReason: string | null;
  usage: Usage;
  latencyMs: number;
}

export function toolSchema(schema: z.ZodType): { type: "object"; [k: string]: unknown } {
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return { ...json, type: "object" };
}

export async function callModel(client: Anthropic, input: CallInput): Promise<CallResult> {
  const started = Date.now();
  const message = await client.messages.create({
    model: input.model,
    max_tokens: input.maxTokens,
    system: [
      {
        type: "text",
        text: input.system,
        ...(input.system.length >= CACHE_MIN_CHARS ? { cache_control: { type: "ephemeral" as const } } : {}),
      },
    ],
    tools: [
      {
        name: TOOL_NAME,
        description: "Record your decision about the event. Always answer by calling this tool exactly once.",
        input_schema: toolSchema(input.schema),
      },
    ],
    tool_choice: { type: "tool", name: TOOL_NAME, disable_parallel_tool_use: true },
    messages: [{ role: "user", content: input.user }],
  });
  const tool = message.content.find((block) => block.type === "tool_use" && block.name === TOOL_NAME);
  return {
    input: tool && tool.type === "tool_use" ? tool.input : undefined,
    stopReason: message.stop_reason,
    usage: {
      inputTokens: message.usage.input_tokens,
      outputTokens: message.usage.output_tokens,
      cacheReadTokens: message.usage.cache_read_input_tokens ?? 0,
      cacheWriteTokens: message.usage.cache_creation_input_tokens ?? 0,
    },
    latencyMs: Date.now() - started,
  };
}
