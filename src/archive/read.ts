// Reads that reach past the hot window: an archived event (GET /v1/events/:id), a slice of the log
// for replay, and a workflow with its archived instances, events and runs. The D1 index says which
// objects to read; what D1 still holds wins over the archive (a line whose rows stayed in D1 after a
// failed or partial commit is ignored), so a crash between a put and its commit never shows twice.
// An event archived again with rows written after it left D1 has a line in each object: reads merge them.
import { z } from "zod";
import { eventKey } from "../bus/envelope";
import { type ArchivedSlice, objectsOfCorrelation, objectsOfEvent, objectsOfSlice } from "../db/archive-index";
import { eventRowsOf, type LoggedEvent, parseDeliveries } from "../db/events";
import { type LogSlice, logSlice } from "../db/recovery";
import { iso, parseRuns, parseRunViolations, type RunView, type RunWithCalls, withCalls } from "../db/runs";
import { parseViolations } from "../db/violations";
import { parseWorkflows, type WorkflowSummary } from "../db/workflows";
import { type EventLine, EventLineSchema, WorkflowLineSchema } from "./format";
import { ArchiveReadLimit, eventLines, inTurn } from "./lines";
import { readLines } from "./store";

/** Objects a replay page reads: a few, more only while they overlap the cursor, never more than the cap. */
const SLICE_OBJECTS = 4;
export const SLICE_OBJECTS_MAX = 64;
/** Objects one workflow read may take (a correlation's events over that many batch hours). */
export const WORKFLOW_OBJECTS_MAX = 256;

const logged = (line: EventLine): LoggedEvent => ({
  seq: line.seq,
  receivedAt: line.receivedAt,
  receivedAtIso: iso(line.receivedAt),
  loggedAt: line.loggedAt,
  loggedAtIso: iso(line.loggedAt),
  event: line.event,
});

/** A run's violations carry no type or correlation of their own: they are its event's. */
const violationsOf = (line: EventLine) =>
  parseViolations(
    line.violations.map((v) => ({
      ...v,
      event_type: v.event_type ?? line.event.type,
      correlation_id: v.correlation_id ?? line.event.correlationid,
    })),
  );

/** Later entries replace earlier ones with the same key. */
function latest<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [key(item), item])).values()];
}
const runKey = (r: RunView) => `${r.eventSource} ${r.eventId} ${r.agent}`;

/**
 * Per run (event, agent), the run of the latest source that has one, with that source's model calls
 * of it: a run redone after its event was archived shows its own calls, not the first run's.
 */
function latestRuns(sources: readonly { runs: readonly RunView[]; calls: readonly unknown[] }[]) {
  const byRun = new Map<string, { run: RunView; calls: unknown[] }>();
  for (const { runs, calls } of sources) {
    for (const run of runs) {
      const mine = calls.filter((c) => callKey(c) === runKey(run));
      byRun.set(runKey(run), { run, calls: mine });
    }
  }
  const winners = [...byRun.values()];
  return { runs: winners.map((w) => w.run), calls: winners.flatMap((w) => w.calls) };
}
const CallKey = z.looseObject({ event_source: z.string(), event_id: z.string(), agent: z.string() });
const callKey = (row: unknown) => {
  const c = CallKey.safeParse(row);
  return c.success ? `${c.data.event_source} ${c.data.event_id} ${c.data.agent}` : "";
};

/** Violations of runs (an agent's), as withCalls attaches them. */
const runViolationsOf = (lines: readonly EventLine[]) =>
  parseRunViolations(lines.flatMap((l) => l.violations.filter((v) => v.agent !== "" && v.agent !== undefined)));

/**
 * An archived event in the shape GET /v1/events/:id answers, marked `archived: true`, with what D1
 * holds for it since (runs of a replay after archiving); null when the index has no such event.
 */
export async function archivedEvent(env: Env, id: string, source?: string) {
  const objects = await objectsOfEvent(env.DB, id, source);
  if (objects.length === 0) return null;
  const lines = (
    await inTurn(objects, async (o) =>
      (await readLines(env.ARCHIVE, o.key))
        .map((l) => EventLineSchema.parse(l))
        .filter((l) => l.event.id === id && l.event.source === o.source),
    )
  ).flat();
  const newest = lines.reduce<EventLine | undefined>((a, l) => (a && a.seq >= l.seq ? a : l), undefined);
  if (!newest) return null;
  const mine = lines.filter((l) => eventKey(l.event) === eventKey(newest.event));
  const hot = await eventRowsOf(env.DB, newest.event.source, newest.event.id);
  const runs = latestRuns([...mine.map((l) => ({ runs: parseRuns(l.runs), calls: l.modelCalls })), hot]);
  const violations = latest([...hot.violations, ...mine.flatMap(violationsOf)], (v) => String(v.seq)).sort(
    (a, b) => b.seq - a.seq,
  );
  return {
    ...logged(newest),
    deliveries: latest([...mine.flatMap((l) => parseDeliveries(l.deliveries)), ...hot.deliveries], (d) => d.agent).sort(
      (a, b) => a.agent.localeCompare(b.agent),
    ),
    runs: withCalls(
      runs.runs.sort((a, b) => a.startedAt - b.startedAt),
      runs.calls,
      violations,
      [...mine.flatMap((l) => l.steps), ...hot.steps],
    ),
    violations,
    archived: true as const,
  };
}

export interface SlicePage {
  events: LoggedEvent[];
  /** Per archived event (`source id`): the agents whose run on it succeeded, recorded in the archive. */
  succeeded: Map<string, Set<string>>;
  next: { afterSeq: number } | null;
}

/**
 * A page of the log for replay, in seq order: D1 and the archive together. Objects come by their
 * first log position, so every line before the first object not read is known; lines from there on
 * wait for the next page. The page reads SLICE_OBJECTS objects, and more while the next one may hold
 * the position right after the cursor: objects whose ranges overlap (hours of one batch interleave,
 * a re-check or a reopened event spans older ones) would otherwise hold the cursor in place forever.
 */
export async function replaySlice(env: Env, slice: LogSlice): Promise<SlicePage> {
  const archived: ArchivedSlice = slice;
  const after = slice.afterSeq ?? 0;
  const [hot, objects] = await Promise.all([
    logSlice(env.DB, slice),
    objectsOfSlice(env.DB, archived, SLICE_OBJECTS_MAX + 1),
  ]);
  let count = Math.min(objects.length, SLICE_OBJECTS);
  while (count < objects.length && (objects[count]?.firstSeq ?? Infinity) <= after + 1) count++;
  if (count > SLICE_OBJECTS_MAX) {
    throw new ArchiveReadLimit(
      `more than ${SLICE_OBJECTS_MAX} archive objects hold log positions right after ${after}: ` +
        "replay this range with a narrower filter (type, correlationid, from/to)",
    );
  }
  const read = objects.slice(0, count);
  // Everything up to `complete` is known: lines past it may sit in objects not read yet, or be D1
  // events past the page D1 answered.
  const boundary = objects[count]?.firstSeq ?? Infinity;
  const hotEnd = hot.length === slice.limit ? (hot.at(-1)?.seq ?? Infinity) : Infinity;
  const complete = Math.min(boundary - 1, hotEnd);
  const inSlice = (l: EventLine) =>
    l.seq > after &&
    l.seq <= complete &&
    (slice.type === undefined || l.event.type === slice.type) &&
    (slice.correlationid === undefined || l.event.correlationid === slice.correlationid) &&
    (slice.from === undefined || l.loggedAt >= slice.from) &&
    (slice.to === undefined || l.loggedAt < slice.to);
  const inD1 = new Set(hot.map((e) => eventKey(e.event)));
  // Per event, one of its lines and the agents whose run succeeded in any of them. Lines are taken as
  // each object is read; past twice a page, only the page's worth with the lowest positions is kept
  // (those later drop out of this page anyway), so memory stays bounded however many objects are read.
  const found = new Map<string, { line: EventLine; succeeded: Set<string> }>();
  let keepUpTo = complete;
  await inTurn(read, async (o) => {
    for (const line of await eventLines(env, o)) {
      const key = eventKey(line.event);
      if (!inSlice(line) || line.seq > keepUpTo || inD1.has(key)) continue;
      const entry = found.get(key) ?? { line, succeeded: new Set<string>() };
      for (const run of parseRuns(line.runs)) if (run.status === "succeeded") entry.succeeded.add(run.agent);
      found.set(key, entry);
    }
    if (found.size > 2 * slice.limit) {
      const kept = [...found.values()].sort((a, b) => a.line.seq - b.line.seq).slice(0, slice.limit);
      keepUpTo = kept.at(-1)?.line.seq ?? keepUpTo;
      for (const [key, entry] of found) if (entry.line.seq > keepUpTo) found.delete(key);
    }
  });
  const events = [...hot.filter((e) => e.seq <= complete), ...[...found.values()].map((f) => logged(f.line))]
    .sort((a, b) => a.seq - b.seq)
    .slice(0, slice.limit);
  const succeeded = new Map([...found].map(([key, f]) => [key, f.succeeded]));
  const last = events.at(-1)?.seq;
  const next =
    events.length === slice.limit && last !== undefined
      ? { afterSeq: last }
      : complete !== Infinity
        ? { afterSeq: Math.max(complete, after) }
        : null;
  return { events, succeeded, next };
}

export interface WorkflowView {
  instances: WorkflowSummary[];
  events: LoggedEvent[];
  runs: RunWithCalls[];
}

/**
 * A workflow as D1 holds it, completed with its archived instances, events and runs (D1 wins). Reads
 * every object listed for the correlation, a few at a time, keeping only its lines; past
 * WORKFLOW_OBJECTS_MAX it refuses rather than show part of the workflow.
 */
export async function withArchive(env: Env, id: string, hot: WorkflowView): Promise<WorkflowView> {
  const objects = await objectsOfCorrelation(env.DB, id, WORKFLOW_OBJECTS_MAX + 1);
  if (objects.length === 0) return hot;
  if (objects.length > WORKFLOW_OBJECTS_MAX) {
    throw new ArchiveReadLimit(
      `workflow "${id}" is spread over more than ${WORKFLOW_OBJECTS_MAX} archive objects: ` +
        "read its events with POST /v1/replay paging, or GET /v1/events/:id one by one",
    );
  }
  const read = await inTurn(objects, async (o) =>
    o.kind === "workflows"
      ? {
          workflows: (await readLines(env.ARCHIVE, o.key))
            .map((l) => WorkflowLineSchema.parse(l).workflow)
            .filter((w) => w.id === id),
          events: [],
        }
      : { workflows: [], events: (await eventLines(env, o)).filter((l) => l.event.correlationid === id) },
  );
  const workflowRows = read.flatMap((r) => r.workflows);
  const eventLinesRead = read.flatMap((r) => r.events);
  const instances = [...parseWorkflows(workflowRows), ...hot.instances]
    .sort((a, b) => a.version - b.version)
    .filter((w, i, all) => !all.slice(i + 1).some((x) => x.workflow === w.workflow));
  const inD1 = new Set(hot.events.map((e) => eventKey(e.event)));
  const events = [
    ...latest(
      eventLinesRead.filter((l) => !inD1.has(eventKey(l.event))),
      (l) => eventKey(l.event),
    ).map(logged),
    ...hot.events,
  ].sort((a, b) => a.seq - b.seq);
  const archived = latestRuns(eventLinesRead.map((l) => ({ runs: parseRuns(l.runs), calls: l.modelCalls })));
  const archivedRuns = withCalls(
    archived.runs,
    archived.calls,
    runViolationsOf(eventLinesRead),
    eventLinesRead.flatMap((l) => l.steps),
  );
  const runs = latest([...archivedRuns, ...hot.runs], runKey).sort((a, b) => a.startedAt - b.startedAt);
  return { instances: instances.sort((a, b) => a.startedAt - b.startedAt), events, runs };
}
