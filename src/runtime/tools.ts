// Tools a model-backed agent declares: a name, a description, a zod input schema and a function that
// may use only what the registry lends (ctx) and the event. The tool loop (src/runtime/tool-loop.ts)
// runs them through the SDK's tool runner, records each result as a step, and never runs a recorded
// step again; `idempotencyKey` lets a side-effecting tool make the crash window in between safe too.
import type { z } from "zod";
import type { Envelope } from "../bus/envelope";

/** What a tool's function receives besides its input. */
export interface ToolCall<Caps = unknown> {
  /** The registry's capabilities and the attempt: the only way out to the world. */
  ctx: Caps & { attempt: number };
  /** The event the agent is deciding on. */
  event: Envelope;
  /** The step this call is, the same in every attempt of the run. */
  step: number;
  /** Stable for (event, agent, step) across retries: send it to any API that deduplicates. */
  idempotencyKey: string;
}

/**
 * A tool. Its result is shown to the model as JSON (a string as is), cut at `maxResultChars`; a
 * thrown error is shown as `Error: <message>` and the model may try something else.
 */
export interface ToolSpec<Caps = unknown, I extends z.ZodType = z.ZodType> {
  /** What the tool does and when to use it: the model reads this. */
  description: string;
  /** The input the model must give; validated before `run` is called. */
  input: I;
  run: (input: z.output<I>, call: ToolCall<Caps>) => unknown;
  /** The call fails (and the model is told) after this long. Default 10 s. */
  timeoutMs?: number;
  /** Longer results are cut (the model is told). Default 16,000 characters. */
  maxResultChars?: number;
}

export type Tools<Caps = unknown> = Record<string, ToolSpec<Caps>>;

/**
 * `defineTool` bound to the registry's capabilities (typed `ctx`). The app's agents/define.ts makes one.
 *
 * @example
 * const customerHistory = defineTool({
 *   description: "The customer's earlier tickets and orders, newest first.",
 *   input: z.object({ customerId: z.string() }),
 *   run: ({ customerId }, { ctx }) => ctx.history.ofCustomer(customerId),
 * });
 */
export function toolDefiner<Caps>(_capabilities?: (env: Env) => Caps) {
  return function defineTool<I extends z.ZodType>(spec: ToolSpec<Caps, I>): ToolSpec<Caps> {
    // The loop validates the input against `input` before calling `run`: that makes the erasure sound.
    return spec;
  };
}

export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
export const DEFAULT_TOOL_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESULT_CHARS = 16_000;

/** A tool's result as the text the model is shown. */
export function resultText(value: unknown, maxChars: number): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value ?? null) ?? "null");
  return text.length <= maxChars
    ? text
    : `${text.slice(0, maxChars)}\n[cut: ${text.length - maxChars} more characters]`;
}

/** Runs a tool's function under its timeout. */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
