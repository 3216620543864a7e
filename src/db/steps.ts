// run_steps: each completed step of a model-backed run (a model reply, a tool result), keyed by an
// attempt-independent step number. Written one row per step as it completes, read once when a run
// is claimed, so a retry replays what was paid for and continues at the first missing step.
import { z } from "zod";

/** A run: (event, agent). */
interface RunKey {
  source: string;
  id: string;
  agent: string;
}

/** A call's usage as recorded (src/models/prices.ts's Usage). */
export const UsageSchema = z.object({
  inputTokens: z.number(),
  outputTokens: z.number(),
  cacheReadTokens: z.number(),
  cacheWrite5mTokens: z.number(),
  cacheWrite1hTokens: z.number(),
  thinkingTokens: z.number(),
});

/** A model reply as recorded: enough to put it back in the conversation and to account for it. */
export const ModelReplySchema = z.object({
  content: z.array(z.looseObject({ type: z.string() })),
  stopReason: z.string().nullable(),
  usage: UsageSchema,
});
export type ModelReply = z.infer<typeof ModelReplySchema>;

const common = { step: z.number().int().nonnegative(), tier: z.string(), latencyMs: z.number(), attempt: z.number() };
export const StepSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("model"), ...common, model: z.string(), reply: ModelReplySchema, costMicros: z.number() }),
  z.object({
    kind: z.literal("tool"),
    ...common,
    tool: z.string(),
    input: z.unknown(),
    /** The tool_result content the model was (or will be) shown. */
    content: z.string(),
    isError: z.boolean(),
  }),
]);
export type Step = z.infer<typeof StepSchema>;

const StepRow = z
  .object({
    event_source: z.string(),
    event_id: z.string(),
    agent: z.string(),
    step: z.number(),
    kind: z.enum(["model", "tool"]),
    tier: z.string(),
    name: z.string(),
    input: z.string().nullable(),
    output: z.string(),
    is_error: z.number(),
    cost_micros: z.number(),
    latency_ms: z.number(),
    attempt: z.number(),
    recorded_at: z.number(),
  })
  .transform((r) => {
    const common = { step: r.step, tier: r.tier, latencyMs: r.latency_ms, attempt: r.attempt };
    const output: unknown = JSON.parse(r.output);
    const step: Step =
      r.kind === "model"
        ? { kind: "model", ...common, model: r.name, reply: ModelReplySchema.parse(output), costMicros: r.cost_micros }
        : {
            kind: "tool",
            ...common,
            tool: r.name,
            input: r.input === null ? null : JSON.parse(r.input),
            content: z.object({ content: z.string() }).parse(output).content,
            isError: r.is_error === 1,
          };
    return { key: `${r.event_source} ${r.event_id} ${r.agent}`, recordedAt: r.recorded_at, step };
  });

/** The recorded steps of one run, in order. */
export function stepsStatement(db: D1Database, run: RunKey): D1PreparedStatement {
  return db
    .prepare("SELECT * FROM run_steps WHERE event_source = ? AND event_id = ? AND agent = ? ORDER BY step")
    .bind(run.source, run.id, run.agent);
}

/** Parses run_steps rows (`SELECT *`), from D1 or from the archive. */
export const parseStepRows = (rows: unknown) => z.array(StepRow).parse(rows ?? []);
export const parseSteps = (rows: unknown): Step[] => parseStepRows(rows).map((r) => r.step);

/**
 * Records one completed step. A step number taken again (a replay deciding afresh, or an agent whose
 * code changed so the conversation diverged) replaces the earlier record: the newest is what replays.
 */
export async function recordStep(db: D1Database, run: RunKey, step: Step, now: number): Promise<void> {
  const model = step.kind === "model";
  await db
    .prepare(
      `INSERT INTO run_steps (event_source, event_id, agent, step, kind, tier, name, input, output, is_error,
         cost_micros, latency_ms, attempt, recorded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (event_source, event_id, agent, step) DO UPDATE SET
         kind = excluded.kind, tier = excluded.tier, name = excluded.name, input = excluded.input,
         output = excluded.output, is_error = excluded.is_error, cost_micros = excluded.cost_micros,
         latency_ms = excluded.latency_ms, attempt = excluded.attempt, recorded_at = excluded.recorded_at`,
    )
    .bind(
      run.source,
      run.id,
      run.agent,
      step.step,
      step.kind,
      step.tier,
      model ? step.model : step.tool,
      model ? null : JSON.stringify(step.input ?? null),
      JSON.stringify(model ? step.reply : { content: step.content }),
      model ? 0 : Number(step.isError),
      model ? step.costMicros : 0,
      step.latencyMs,
      step.attempt,
      now,
    )
    .run();
}

/** `SELECT *` of run_steps for one event, or for the events of one correlation. */
export const STEPS_OF_EVENT = "SELECT * FROM run_steps WHERE event_source = ? AND event_id = ? ORDER BY agent, step";
export const STEPS_OF_CORRELATION = `SELECT s.* FROM run_steps s JOIN events e ON e.source = s.event_source AND e.id = s.event_id
  WHERE e.correlation_id = ? ORDER BY s.agent, s.step`;

/** A step as the read API shows it: each a span of the run, in order. */
export type StepView =
  | {
      step: number;
      kind: "model";
      tier: string;
      model: string;
      stopReason: string | null;
      tokens: { input: number; output: number; cacheRead: number };
      /** The tools this reply asked for, in order. */
      toolCalls: string[];
      costMicros: number;
      latencyMs: number;
      attempt: number;
      recordedAt: number;
    }
  | {
      step: number;
      kind: "tool";
      tier: string;
      tool: string;
      input: unknown;
      /** What the model was shown (cut at 2,000 characters here). */
      result: string;
      isError: boolean;
      latencyMs: number;
      attempt: number;
      recordedAt: number;
    };

/** run_steps rows by run (`source id agent`), as views. */
export function stepViews(rows: unknown): Map<string, StepView[]> {
  const byRun = new Map<string, StepView[]>();
  for (const { key, recordedAt, step: s } of parseStepRows(rows)) {
    const common = { step: s.step, tier: s.tier, latencyMs: s.latencyMs, attempt: s.attempt, recordedAt };
    const view: StepView =
      s.kind === "model"
        ? {
            ...common,
            kind: "model",
            model: s.model,
            stopReason: s.reply.stopReason,
            tokens: {
              input: s.reply.usage.inputTokens,
              output: s.reply.usage.outputTokens,
              cacheRead: s.reply.usage.cacheReadTokens,
            },
            toolCalls: s.reply.content.flatMap((b) => (b.type === "tool_use" ? [String(b.name)] : [])),
            costMicros: s.costMicros,
          }
        : {
            ...common,
            kind: "tool",
            tool: s.tool,
            input: s.input,
            result: s.content.slice(0, 2_000),
            isError: s.isError,
          };
    const list = byRun.get(key) ?? [];
    if (!list.some((v) => v.step === view.step)) list.push(view);
    byRun.set(key, list);
  }
  for (const list of byRun.values()) list.sort((a, b) => a.step - b.step);
  return byRun;
}
