// agent_runs: one row per (event, agent). A delivery claims the row before running, so a duplicate
// delivery of a finished run is recognised and a concurrent one backs off: one run per (event, agent).
import { batchEach, type Plan, runPlans } from "./batch";
import { type StepView, stepViews, UsageSchema } from "./steps";
import { z } from "zod";

export interface RunKey {
  source: string;
  id: string;
  agent: string;
}

export interface Claim extends RunKey {
  attempt: number;
  /** The queue message id; a redelivery of the same message may take over its own claim. */
  claim: string;
  /** A re-run's generation: it may claim a finished run that another generation (or none) finished. */
  generation?: string | undefined;
}

export type ClaimOutcome = "claimed" | "done" | "busy" | "paused";

const ClaimRow = z.object({ status: z.string(), claim: z.string(), generation: z.string().nullable() });
const PausedRows = z.array(z.object({ agent: z.string() }));

/**
 * Claims runs in one transaction. A run is claimable when it is new, failed, or running under the same
 * claim (a crashed attempt, or the task routing claimed it for) or under a claim older than `leaseMs`
 * (a lost worker) — and its agent is not paused (a paused agent's run is left as it was).
 */
export async function claimRuns(
  db: D1Database,
  claims: readonly Claim[],
  now: number,
  leaseMs: number,
): Promise<ClaimOutcome[]> {
  return (await claimRunsReading(db, claims, now, leaseMs)).outcomes;
}

/**
 * claimRuns, also reading in the same batch what `read` asks of each claim (a model-backed run's
 * recorded steps): no extra round trip. Each read's result is answered with its claim.
 */
export async function claimRunsReading(
  db: D1Database,
  claims: readonly Claim[],
  now: number,
  leaseMs: number,
  read: (claim: Claim, index: number) => D1PreparedStatement | undefined = () => undefined,
): Promise<{ outcomes: ClaimOutcome[]; reads: (D1Result | undefined)[]; generations: (string | null)[] }> {
  if (claims.length === 0) return { outcomes: [], reads: [], generations: [] };
  const reads = claims.map(read);
  const readStatements = reads.filter((r): r is D1PreparedStatement => r !== undefined);
  const paused = db.prepare("SELECT agent FROM agent_state WHERE paused = 1");
  const entries = claims.map(
    (c) =>
      [
        db
          .prepare(
            `INSERT INTO agent_runs (event_source, event_id, agent, status, attempt, claim, started_at, generation)
         SELECT ?1, ?2, ?3, 'running', ?4, ?5, ?6, ?8
          WHERE NOT EXISTS (SELECT 1 FROM agent_state WHERE agent = ?3 AND paused = 1)
         ON CONFLICT (event_source, event_id, agent) DO UPDATE SET
           status = 'running', attempt = excluded.attempt, claim = excluded.claim,
           started_at = excluded.started_at, finished_at = NULL, latency_ms = NULL, error = NULL,
           generation = COALESCE(excluded.generation, agent_runs.generation)
         WHERE NOT EXISTS (SELECT 1 FROM agent_state WHERE agent = ?3 AND paused = 1)
           AND (agent_runs.status = 'failed'
            OR (agent_runs.status = 'running' AND (agent_runs.claim = excluded.claim OR agent_runs.started_at < ?7))
            OR (?8 IS NOT NULL AND agent_runs.status IN ('succeeded', 'dead_lettered')
                AND agent_runs.generation IS NOT ?8))`,
          )
          .bind(c.source, c.id, c.agent, c.attempt, c.claim, now, now - leaseMs, c.generation ?? null),
        db
          .prepare(
            "SELECT status, claim, generation FROM agent_runs WHERE event_source = ? AND event_id = ? AND agent = ?",
          )
          .bind(c.source, c.id, c.agent),
      ] as const,
  );
  const {
    before: [pausedRows, ...readResults],
    each,
  } = await batchEach(db, entries, [paused, ...readStatements]);
  const pausedAgents = new Set(PausedRows.parse(pausedRows?.results).map((r) => r.agent));
  // A paused agent's new run has no row (nothing was inserted): only the others are read.
  const rows = claims.map((c, i) => (pausedAgents.has(c.agent) ? undefined : ClaimRow.parse(each[i]![1].results[0])));
  const outcomes = claims.map((c, i): ClaimOutcome => {
    const row = rows[i];
    if (!row) return "paused";
    if (row.status === "running") return row.claim === c.claim ? "claimed" : "busy";
    return "done";
  });
  let at = 0;
  return {
    outcomes,
    reads: reads.map((r) => (r ? readResults[at++] : undefined)),
    // The generation the claimed run belongs to (a re-run's, kept across its retries), or null.
    generations: rows.map((r) => r?.generation ?? null),
  };
}

/** A claimed run whose worker vanished may be taken over (by a redelivery or the sweep) after this long. */
export const CLAIM_LEASE_MS = 5 * 60_000;

/** One model call of a run, as recorded (the tier policy's accounting has this shape). */
export const ModelCallRecordSchema = z.object({
  tier: z.string(),
  model: z.string(),
  usage: UsageSchema,
  costMicros: z.number(),
  alwaysEscalateMicros: z.number(),
  latencyMs: z.number(),
  outcome: z.string(),
  confidence: z.number().optional(),
});
export type ModelCallRecord = z.infer<typeof ModelCallRecordSchema>;

/** A model-backed run's accounting: the model and tier that decided, its calls, its cost. */
export const ModelRecordSchema = z.object({
  model: z.string().nullable(),
  tier: z.string().nullable(),
  calls: z.array(ModelCallRecordSchema).readonly(),
  escalated: z.boolean(),
  escalationReason: z.string().optional(),
  budgetLimited: z.boolean(),
  costMicros: z.number(),
});
export type ModelRecord = z.infer<typeof ModelRecordSchema>;

export const RunErrorSchema = z.object({
  message: z.string(),
  retryable: z.boolean(),
  /** A model API's retry-after, instead of the exponential backoff. */
  delaySeconds: z.number().optional(),
});
export type RunError = z.infer<typeof RunErrorSchema>;

export const ViolationSchema = z.object({ kind: z.string(), detail: z.string() });
export type Violation = z.infer<typeof ViolationSchema>;

export type RunRecord = Claim & {
  startedAt: number;
  finishedAt: number;
  /** Model-backed agents: tiers, tokens, cost. */
  model?: ModelRecord;
  /** Kept whether the run succeeds or fails: a failure must not erase what it tried. */
  violations: readonly Violation[];
} & ({ status: "succeeded"; output: unknown } | { status: "failed"; error: RunError });

/** Records the outcome of claimed runs (with model calls and policy violations) in one transaction. */
export async function finishRuns(db: D1Database, records: readonly RunRecord[]): Promise<void> {
  await runPlans(db, [finishPlan(db, records)]);
}

/** finishRuns as a plan, to run in one batch with the log of the runs' emitted events. */
export function finishPlan(db: D1Database, records: readonly RunRecord[]): Plan<void> {
  const statements = records.flatMap((r) => {
    const update = db
      .prepare(
        `UPDATE agent_runs SET status = ?1, finished_at = ?2, latency_ms = ?3, output = ?4, error = ?5,
                model = ?10, tier = ?11, escalated = ?12, escalation_reason = ?13, budget_limited = ?14, cost_micros = ?15,
                attempts = json_insert(COALESCE(attempts, '[]'), '$[#]', json(?16)), started_at = ?17, attempt = ?18
          WHERE event_source = ?6 AND event_id = ?7 AND agent = ?8 AND claim = ?9`,
      )
      .bind(
        r.status,
        r.finishedAt,
        r.finishedAt - r.startedAt,
        r.status === "succeeded" ? JSON.stringify(r.output) : null,
        r.status === "failed" ? JSON.stringify(r.error) : null,
        r.source,
        r.id,
        r.agent,
        r.claim,
        r.model?.model ?? null,
        r.model?.tier ?? null,
        r.model ? Number(r.model.escalated) : null,
        r.model?.escalationReason ?? null,
        r.model ? Number(r.model.budgetLimited) : null,
        r.model?.costMicros ?? null,
        JSON.stringify(attemptOf(r)),
        // A run routing claimed was recorded at attempt 0, when it was routed: this is when it ran.
        r.startedAt,
        r.attempt,
      );
    const violations = r.violations;
    const calls = (r.model?.calls ?? []).map((c, ordinal) =>
      db
        .prepare(
          `INSERT INTO model_calls (event_source, event_id, agent, attempt, ordinal, tier, model, input_tokens,
             output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, thinking_tokens, cost_micros,
             always_escalate_micros, latency_ms, outcome, confidence, recorded_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        )
        .bind(
          r.source,
          r.id,
          r.agent,
          r.attempt,
          ordinal,
          c.tier,
          c.model,
          c.usage.inputTokens,
          c.usage.outputTokens,
          c.usage.cacheReadTokens,
          c.usage.cacheWrite5mTokens + c.usage.cacheWrite1hTokens,
          c.usage.cacheWrite1hTokens,
          c.usage.thinkingTokens,
          c.costMicros,
          c.alwaysEscalateMicros,
          c.latencyMs,
          c.outcome,
          c.confidence ?? null,
          r.finishedAt,
        ),
    );
    return [
      update,
      ...calls,
      ...violations.map((v) =>
        db
          .prepare(
            `INSERT INTO policy_violations (event_source, event_id, agent, kind, detail, recorded_at)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          )
          .bind(r.source, r.id, r.agent, v.kind, v.detail, r.finishedAt),
      ),
    ];
  });
  return { statements, read: () => undefined };
}

/** One attempt as the run's history keeps it: the error says why a retried attempt failed. */
const AttemptSchema = z.object({
  attempt: z.number(),
  status: z.string(),
  startedAt: z.number(),
  finishedAt: z.number(),
  error: z.string().optional(),
  costMicros: z.number().optional(),
});
const attemptOf = (r: RunRecord): z.infer<typeof AttemptSchema> => ({
  attempt: r.attempt,
  status: r.status,
  startedAt: r.startedAt,
  finishedAt: r.finishedAt,
  ...(r.status === "failed" ? { error: r.error.message } : {}),
  ...(r.model ? { costMicros: r.model.costMicros } : {}),
});

export const RUN_COLUMNS = [
  "event_source",
  "event_id",
  "agent",
  "status",
  "attempt",
  "started_at",
  "finished_at",
  "latency_ms",
  "output",
  "error",
  "model",
  "tier",
  "escalated",
  "escalation_reason",
  "budget_limited",
  "cost_micros",
  "attempts",
] as const;

const json = (s: string | null): unknown => (s === null ? null : JSON.parse(s));
/** ms since the epoch as ISO 8601 (answers carry both). */
export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const maybe = <T extends z.ZodType>(t: T) => t.nullable().optional();
const RunRow = z
  .object({
    event_source: z.string(),
    event_id: z.string(),
    agent: z.string(),
    status: z.string(),
    attempt: z.number(),
    started_at: z.number(),
    finished_at: z.number().nullable(),
    latency_ms: z.number().nullable(),
    output: z.string().nullable(),
    error: z.string().nullable(),
    // Model-backed runs only (and absent from rows archived before these were read).
    model: maybe(z.string()),
    tier: maybe(z.string()),
    escalated: maybe(z.number()),
    escalation_reason: maybe(z.string()),
    budget_limited: maybe(z.number()),
    cost_micros: maybe(z.number()),
    attempts: maybe(z.string()),
  })
  .transform((r) => ({
    eventSource: r.event_source,
    eventId: r.event_id,
    agent: r.agent,
    status: r.status,
    attempt: r.attempt,
    startedAt: r.started_at,
    startedAtIso: iso(r.started_at),
    finishedAt: r.finished_at,
    finishedAtIso: iso(r.finished_at),
    latencyMs: r.latency_ms,
    output: json(r.output),
    error: json(r.error),
    /** Which model decided, on which tier, whether and why it escalated, and the run's cost. */
    model:
      r.model == null
        ? null
        : {
            model: r.model,
            tier: r.tier ?? null,
            escalated: r.escalated === 1,
            escalationReason: r.escalation_reason ?? null,
            budgetLimited: r.budget_limited === 1,
            costMicros: r.cost_micros ?? 0,
          },
    /** Every finished attempt, oldest first, with its error (a run still running has its last one open). */
    attempts: z
      .array(AttemptSchema)
      .parse(json(r.attempts ?? null) ?? [])
      .map((a) => ({ ...a, startedAtIso: iso(a.startedAt), finishedAtIso: iso(a.finishedAt) })),
  }));
export type RunView = z.output<typeof RunRow>;

/** Parses agent_runs rows selected with RUN_COLUMNS. */
export const parseRuns = (rows: unknown): RunView[] => z.array(RunRow).parse(rows);

const CallRow = z
  .object({
    event_source: z.string(),
    event_id: z.string(),
    agent: z.string(),
    attempt: z.number(),
    ordinal: z.number(),
    tier: z.string(),
    model: z.string(),
    input_tokens: z.number(),
    output_tokens: z.number(),
    cache_read_tokens: z.number(),
    cache_write_tokens: z.number(),
    cache_write_1h_tokens: maybe(z.number()),
    thinking_tokens: maybe(z.number()),
    cost_micros: z.number(),
    always_escalate_micros: z.number(),
    latency_ms: z.number(),
    outcome: z.string(),
    confidence: z.number().nullable(),
  })
  .transform((c) => ({
    key: `${c.event_source} ${c.event_id} ${c.agent}`,
    call: {
      attempt: c.attempt,
      ordinal: c.ordinal,
      tier: c.tier,
      model: c.model,
      tokens: {
        input: c.input_tokens,
        output: c.output_tokens,
        cacheRead: c.cache_read_tokens,
        cacheWrite: c.cache_write_tokens,
        cacheWrite1h: c.cache_write_1h_tokens ?? 0,
        thinking: c.thinking_tokens ?? 0,
      },
      costMicros: c.cost_micros,
      alwaysEscalateMicros: c.always_escalate_micros,
      latencyMs: c.latency_ms,
      outcome: c.outcome,
      confidence: c.confidence,
    },
  }));
export type ModelCallView = z.output<typeof CallRow>["call"];

/** `SELECT * FROM model_calls` for one event, or for the events of one correlation. */
export const MODEL_CALLS_OF_EVENT =
  "SELECT * FROM model_calls WHERE event_source = ? AND event_id = ? ORDER BY agent, attempt, ordinal";
export const MODEL_CALLS_OF_CORRELATION = `SELECT m.* FROM model_calls m JOIN events e ON e.source = m.event_source AND e.id = m.event_id
  WHERE e.correlation_id = ? ORDER BY m.agent, m.attempt, m.ordinal`;

/**
 * Each run with its model calls, every attempt's (a retried run shows what each attempt paid), in
 * order. Rows are model_calls rows (`SELECT *`), from D1 or from the archive.
 */
export type RunWithCalls = Omit<RunView, "model"> & {
  model: (NonNullable<RunView["model"]> & { confidence: number | null }) | null;
  calls: ModelCallView[];
  violations: RunViolation[];
  /** A model-backed run's steps (model replies and tool calls), in order. */
  steps: StepView[];
};
/** A policy violation as a run carries it. */
export interface RunViolation {
  kind: string;
  detail: string;
  recordedAt: number;
}
interface ViolationOfRun extends RunViolation {
  eventSource: string;
  eventId: string;
  agent: string | null;
}
const RunViolationRow = z
  .object({
    event_source: z.string(),
    event_id: z.string(),
    agent: z.string(),
    kind: z.string(),
    detail: z.string(),
    recorded_at: z.number(),
  })
  .transform((v) => ({
    eventSource: v.event_source,
    eventId: v.event_id,
    agent: v.agent,
    kind: v.kind,
    detail: v.detail,
    recordedAt: v.recorded_at,
  }));
/** policy_violations rows (event_source, event_id, agent, kind, detail, recorded_at), for withCalls. */
export const parseRunViolations = (rows: unknown) => z.array(RunViolationRow).parse(rows ?? []);

export function withCalls(
  runs: readonly RunView[],
  rows: unknown,
  violations: readonly ViolationOfRun[] = [],
  stepRows: unknown = [],
): RunWithCalls[] {
  const steps = stepViews(stepRows);
  const byRun = new Map<string, ModelCallView[]>();
  for (const { key, call } of z.array(CallRow).parse(rows ?? [])) {
    const calls = byRun.get(key) ?? [];
    if (!calls.some((c) => c.attempt === call.attempt && c.ordinal === call.ordinal)) calls.push(call);
    byRun.set(key, calls);
  }
  return runs.map((r) => {
    const calls = (byRun.get(`${r.eventSource} ${r.eventId} ${r.agent}`) ?? []).sort(
      (a, b) => a.attempt - b.attempt || a.ordinal - b.ordinal,
    );
    // The confidence triage answered with in the last attempt: what the escalation decision weighed.
    const last = calls.filter((c) => c.attempt === r.attempt);
    const confidence =
      last.find((c) => c.tier === "triage" && c.confidence !== null)?.confidence ??
      last.find((c) => c.confidence !== null)?.confidence ??
      null;
    return {
      ...r,
      model: r.model ? { ...r.model, confidence } : null,
      calls,
      violations: violations
        .filter((v) => v.eventSource === r.eventSource && v.eventId === r.eventId && v.agent === r.agent)
        .map(({ kind, detail, recordedAt }) => ({ kind, detail, recordedAt })),
      steps: steps.get(`${r.eventSource} ${r.eventId} ${r.agent}`) ?? [],
    };
  });
}
