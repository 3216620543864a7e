// Writes the log as the consumers would have written it at a past time, through the same functions:
// events logged and routed (logEvents), runs claimed and finished (claimRuns, finishRuns) with model
// calls and policy violations. For the archive and D1-limit tests, which need days-old work.
import { type Envelope, normalize } from "../../src/bus/envelope";
import { logEvents } from "../../src/db/events";
import { CLAIM_LEASE_MS, claimRuns, finishRuns, type ModelRecord, type RunRecord } from "../../src/db/runs";
import { uniqueId } from "./helpers";

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** Past the default hot window (ARCHIVE_AFTER_HOURS = 168). */
export const pastWindow = () => Date.now() - 8 * DAY;

export type RunStatus = "succeeded" | "failed" | "dead_lettered" | "running" | "none";

export interface Past {
  type?: string;
  data?: unknown;
  source?: string;
  correlationid?: string;
  /** Agents the event was routed to; each ran to `status`. */
  agents?: string[];
  status?: RunStatus;
  /** Record a model call and a policy violation with each run. */
  accounting?: boolean;
}

export const MODEL: ModelRecord = {
  model: "claude-haiku-5-5",
  tier: "triage",
  calls: [
    {
      tier: "triage",
      model: "claude-haiku-5-5",
      usage: {
        inputTokens: 812,
        outputTokens: 64,
        cacheReadTokens: 1200,
        cacheWrite5mTokens: 0,
        cacheWrite1hTokens: 0,
        thinkingTokens: 0,
      },
      costMicros: 125,
      alwaysEscalateMicros: 2_480,
      latencyMs: 740,
      outcome: "decided",
      confidence: 0.93,
    },
  ],
  escalated: false,
  budgetLimited: false,
  costMicros: 125,
};

const LIMITS = { maxHops: 8, maxEventsPerCorrelation: 1_000_000 };

/** Logs `specs` at `at` in batches of 100 (as the route consumer), then runs them to their status. */
export async function logPast(db: D1Database, at: number, specs: readonly Past[]): Promise<Envelope[]> {
  const events = specs.map((s) =>
    normalize({
      specversion: "1.0",
      id: uniqueId("evt"),
      source: s.source ?? "/tests/archive",
      type: s.type ?? "test.repairable",
      time: new Date(at).toISOString(),
      data: s.data ?? { n: 1 },
      ...(s.correlationid ? { correlationid: s.correlationid } : {}),
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    }),
  );
  // Routing claims each new run for its task ("none": that task never ran, so the claim is all there is).
  const routedClaim = new Map<string, string>();
  for (let i = 0; i < events.length; i += 100) {
    const chunk = events.slice(i, i + 100).map((event, j) => ({
      event,
      receivedAt: at,
      agents: specs[i + j]?.agents ?? ["mendable"],
      routable: true,
    }));
    const logged = await logEvents(db, chunk, at, LIMITS);
    chunk.forEach(({ event }, j) => routedClaim.set(event.id, logged[j]?.claim ?? ""));
  }
  const runs = events.flatMap((event, i) => {
    const spec = specs[i] ?? {};
    if ((spec.status ?? "succeeded") === "none") return [];
    const claim = routedClaim.get(event.id) ?? "";
    return (spec.agents ?? ["mendable"]).map((agent) => ({
      spec,
      claim: { source: event.source, id: event.id, agent, attempt: 1, claim },
    }));
  });
  for (let i = 0; i < runs.length; i += 100) {
    const chunk = runs.slice(i, i + 100);
    await claimRuns(
      db,
      chunk.map((r) => r.claim),
      at,
      CLAIM_LEASE_MS,
    );
    const records = chunk.flatMap(({ spec, claim }): RunRecord[] => {
      const status = spec.status ?? "succeeded";
      if (status === "running") return [];
      const base = {
        ...claim,
        startedAt: at,
        finishedAt: at + 40,
        violations: spec.accounting ? [{ kind: "undeclared_emit", detail: `order.placed by ${claim.agent}` }] : [],
        ...(spec.accounting ? { model: MODEL } : {}),
      };
      return [
        status === "succeeded"
          ? { ...base, status: "succeeded", output: { events: [{ id: `out-${claim.id}`, type: "test.echoed" }] } }
          : { ...base, status: "failed", error: { message: "broken", retryable: status === "failed" } },
      ];
    });
    for (let j = 0; j < records.length; j += 50) await finishRuns(db, records.slice(j, j + 50));
  }
  const dead = runs.filter((r) => r.spec.status === "dead_lettered").map((r) => r.claim);
  if (dead.length > 0) {
    await db
      .prepare(
        `UPDATE agent_runs SET status = 'dead_lettered'
          WHERE (event_source, event_id, agent) IN (SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?))`,
      )
      .bind(JSON.stringify(dead.map((c) => [c.source, c.id, c.agent])))
      .run();
  }
  return events;
}

/** As if the sweep had scanned the whole log so far (the archive takes only what it has seen). */
export async function sweptToEnd(db: D1Database): Promise<void> {
  await db
    .prepare(
      `INSERT INTO sweep_cursors (name, seq) SELECT 'events', COALESCE(MAX(seq), 0) FROM events WHERE true
       ON CONFLICT (name) DO UPDATE SET seq = excluded.seq`,
    )
    .run();
}
