// The tool loop of one tier: the SDK's tool runner (`client.beta.messages.toolRunner` with
// `betaZodTool`) asks the model, runs the tools it calls, and asks again until it answers in the
// agent's output format. Every reply and every tool result is a step recorded before the next one
// starts; a retried run first replays the recorded steps (paying nothing, running no recorded tool
// again) and the runner continues from the first missing one. Bounded: turns (the last one must
// answer), tokens, and the budget ledger, which reserves each call's worst case before it is made.
import type Anthropic from "@anthropic-ai/sdk";
import { betaZodTool } from "@anthropic-ai/sdk/helpers/beta/zod";
import type { ModelReply } from "../db/steps";
import { log } from "../log";
import { answerOf, outputConfig, readUsage, systemBlocks } from "../models/call";
import { DEFAULT_EFFORT, type ModelId, type Tier } from "../models/lineup";
import type { Usage } from "../models/prices";
import { suspectedInjection } from "../models/prompt";
import {
  accountReply,
  type Asked,
  type Asking,
  failedCall,
  judged,
  liveClient,
  maxTokens,
  recordReply,
  type Run,
} from "./tier-steps";
import type { BudgetPort } from "./tier-types";
import { ModelRunError } from "./tier-types";
import { DEFAULT_MAX_RESULT_CHARS, DEFAULT_TOOL_TIMEOUT_MS, resultText, type ToolSpec, withTimeout } from "./tools";

type MessageParam = Anthropic.Beta.Messages.BetaMessageParam;
type ContentParam = Anthropic.Beta.Messages.BetaContentBlockParam;
type ToolResult = Anthropic.Beta.Messages.BetaToolResultBlockParam;

export const DEFAULT_MAX_TURNS = 6;
export const DEFAULT_MAX_RUN_TOKENS = 60_000;

export const hasTools = (run: Run) => Object.keys(run.spec.tools ?? {}).length > 0;

/** What the loop needs beyond asking: the ledger, and a call's worst-case cost for `promptChars`. */
export interface LoopBudget {
  budget: BudgetPort;
  worstCase: (model: ModelId, promptChars: number, maxTokensOut: number) => number;
}

const tokensOf = (u: Usage) =>
  u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheWrite5mTokens + u.cacheWrite1hTokens;
const toolUses = (content: readonly { type: string }[]) =>
  content.filter((b): b is { type: "tool_use"; id: string; name: string; input: unknown } => b.type === "tool_use");

/** One tier's loop. Answers like `ask`, with `settled`: its spend is already in the ledger. */
export async function askWithTools(
  run: Run,
  a: Asking,
  tier: Tier,
  lb: LoopBudget,
): Promise<Asked & { settled: true }> {
  const model = a.setup.tiers[tier];
  const maxTurns = Math.max(1, run.spec.maxTurns ?? DEFAULT_MAX_TURNS);
  const maxRunTokens = run.spec.maxRunTokens ?? DEFAULT_MAX_RUN_TOKENS;
  const messages: MessageParam[] = [{ role: "user", content: a.user }];
  let turns = 0;
  let tokens = 0;
  let cost = 0;
  const final = (reply: ModelReply, at: Date, latencyMs: number, replayed: boolean) => {
    const judgedAnswer = judged(run, a, tier, { ...reply, output: answerOf(reply.content), latencyMs }, at, replayed);
    return { ...judgedAnswer, cost: cost + judgedAnswer.cost, settled: true as const };
  };
  /** The loop's bound, if the turns or tokens so far reach it: the run ends flagged. */
  const bound = () => {
    const detail =
      turns >= maxTurns
        ? `${turns} turns without an answer (maxTurns ${maxTurns})`
        : tokens >= maxRunTokens
          ? `${tokens} tokens without an answer (maxRunTokens ${maxRunTokens})`
          : undefined;
    if (!detail) return undefined;
    run.violations.push({ kind: "run_bounded", detail: `${tier}: ${detail}` });
    return { cost, problem: "bounded" as const, detail, settled: true as const };
  };
  const refused = (reason: string) => ({ cost, refused: reason, settled: true as const });

  // Replay: the steps earlier attempts recorded, in order.
  for (let s = run.steps.replayModel(tier, model); s; s = run.steps.replayModel(tier, model)) {
    turns++;
    tokens += tokensOf(s.reply.usage);
    messages.push({ role: "assistant", content: s.reply.content as ContentParam[] });
    if (s.reply.stopReason !== "tool_use") return final(s.reply, new Date(), 0, true);
    accountReply(run, a, tier, { usage: s.reply.usage, latencyMs: 0, at: new Date(), replayed: true }, "tool_use");
    const numbered = toolUses(s.reply.content).map((use) => ({ use, step: run.steps.take() }));
    const results = await Promise.all(numbered.map(({ use, step }) => toolResult(run, tier, use, step)));
    messages.push({ role: "user", content: results });
  }
  const replayedBound = bound();
  if (replayedBound) return replayedBound;

  // Live: the runner sends the conversation so far, and each turn after it.
  const numbers = new Map<string, number>();
  let sentAt = Date.now();
  const runnable = Object.entries(run.spec.tools ?? {}).map(([name, spec]) =>
    betaZodTool({
      name,
      description: spec.description,
      inputSchema: spec.input,
      run: async (input, context) => {
        const id = context?.toolUse.id ?? "";
        const step = numbers.get(id) ?? run.steps.take();
        const r = await execute(run, tier, name, spec, input, step);
        // The runner sends the next turn once the tools are done: its latency starts here.
        sentAt = Math.max(sentAt, Date.now());
        if (r.is_error) throw new Error(String(r.content).replace(/^Error: /, ""));
        return String(r.content);
      },
    }),
  );
  const maxOut = maxTokens(run, tier);
  const promptChars = () => a.system.length + JSON.stringify(messages).length;
  const reserve = async (chars: number) => {
    const r = await lb.budget.reserve(run.event.correlationid, lb.worstCase(model, chars, maxOut));
    if (!r.ok) run.violations.push({ kind: "budget_limited", detail: `${tier} turn ${turns + 1}: ${r.reason}` });
    return r;
  };
  const first = await reserve(promptChars());
  if (!first.ok) return refused(first.reason);
  let reservation: string | undefined = first.token;
  const lastTurn = turns === maxTurns - 1;
  const runner = liveClient(a, run).beta.messages.toolRunner({
    model,
    max_tokens: maxOut,
    system: systemBlocks(a.system),
    messages,
    tools: runnable,
    output_config: outputConfig({ model, schema: run.Answer, effort: run.spec.effort?.[tier] ?? DEFAULT_EFFORT[tier] }),
    ...(lastTurn ? { tool_choice: { type: "none" as const } } : {}),
    max_iterations: maxTurns - turns,
    thread: false,
  });
  sentAt = Date.now();
  let at = new Date();
  const work = async (): Promise<Asked & { settled: true }> => {
    for await (const message of runner) {
      const latencyMs = Date.now() - sentAt;
      const content = message.content as unknown as ModelReply["content"];
      const reply: ModelReply = { content, stopReason: message.stop_reason, usage: readUsage(message.usage) };
      const costMicros = a.setup.prices.costMicros(model, reply.usage, at);
      await recordReply(run, tier, model, reply, costMicros, latencyMs);
      await lb.budget.settle(reservation!, costMicros);
      reservation = undefined;
      turns++;
      tokens += tokensOf(reply.usage);
      if (reply.stopReason !== "tool_use") return final(reply, at, latencyMs, false);
      cost += accountReply(run, a, tier, { usage: reply.usage, latencyMs, at, replayed: false }, "tool_use");
      for (const use of toolUses(message.content)) numbers.set(use.id, run.steps.take());
      const stop = bound();
      if (stop) return stop;
      const chars =
        a.system.length +
        JSON.stringify(runner.params.messages).length +
        JSON.stringify(message.content).length +
        toolUses(message.content).length * DEFAULT_MAX_RESULT_CHARS;
      const next = await reserve(chars);
      if (!next.ok) return refused(next.reason);
      reservation = next.token;
      if (turns === maxTurns - 1) {
        // The last turn allowed must answer: run this reply's tools, then ask with tool use off.
        const toolMessage = await runner.generateToolResponse();
        runner.setMessagesParams((p) => ({
          ...p,
          messages: [
            ...p.messages,
            { role: "assistant", content: message.content },
            ...(toolMessage ? [toolMessage] : []),
          ],
          tool_choice: { type: "none" },
        }));
      }
      sentAt = Date.now();
      at = new Date();
    }
    run.violations.push({ kind: "run_bounded", detail: `${tier}: the runner stopped after ${turns} turns` });
    return { cost, problem: "bounded" as const, detail: `the runner stopped after ${turns} turns`, settled: true };
  };
  try {
    return await (a.gate ? a.gate(work) : work());
  } catch (error) {
    if (reservation) await lb.budget.settle(reservation, 0);
    if (error instanceof ModelRunError) throw error;
    throw failedCall(run, tier, model, Date.now() - sentAt, error);
  }
}

/** The tool_result for a recorded tool step, or for one run now (a crash came between the reply and it). */
async function toolResult(
  run: Run,
  tier: Tier,
  use: { id: string; name: string; input: unknown },
  step: number,
): Promise<ToolResult> {
  const recorded = run.steps.recordedTool(step, use.name);
  if (recorded)
    return { type: "tool_result", tool_use_id: use.id, content: recorded.content, is_error: recorded.isError };
  const spec = run.spec.tools?.[use.name];
  const result = spec
    ? await execute(run, tier, use.name, spec, use.input, step, true)
    : { content: `Error: no tool named "${use.name}"`, is_error: true };
  return { type: "tool_result", tool_use_id: use.id, ...result };
}

/**
 * Validates the input (when the runner has not), runs the tool under its timeout with what the
 * registry lends, and records the result (or the error the model is shown) as step `step`.
 */
async function execute(
  run: Run,
  tier: Tier,
  name: string,
  spec: ToolSpec,
  input: unknown,
  step: number,
  validate = false,
): Promise<{ content: string; is_error: boolean }> {
  const started = Date.now();
  let content: string;
  let isError = false;
  try {
    const parsed = validate ? spec.input.parse(input) : input;
    const value = await withTimeout(
      Promise.resolve(spec.run(parsed, run.toolCall(step))),
      spec.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
      `tool ${name}`,
    );
    content = resultText(value, spec.maxResultChars ?? DEFAULT_MAX_RESULT_CHARS);
    const injected = suspectedInjection(value, `${name} result`);
    if (injected.length > 0) {
      run.injectionSuspected = true;
      run.violations.push({
        kind: "prompt_injection_suspected",
        detail: `instruction-like text in ${injected.join(", ")}`,
      });
    }
  } catch (error) {
    isError = true;
    content = `Error: ${error instanceof Error ? error.message : String(error)}`.slice(0, 2_000);
  }
  const latencyMs = Date.now() - started;
  // One line per tool call in Workers Logs (the D1 step has the input and result; the line has neither).
  log("agent.tool", {
    agent: run.agent,
    eventId: run.event.id,
    correlationid: run.event.correlationid,
    tool: name,
    tier,
    step,
    status: isError ? "error" : "ok",
    latencyMs,
  });
  await run.steps.record({
    kind: "tool",
    step,
    tier,
    tool: name,
    input,
    content,
    isError,
    latencyMs,
    attempt: run.steps.attempt,
  });
  return { content, is_error: isError };
}
