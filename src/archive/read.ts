// Reads that reach past the hot window: an archived event (GET /v1/events/:id), a slice of the log
// for replay, and a workflow with its archived instances, events and runs. The D1 index says which
// objects to read; what D1 still holds wins over the archive (a line whose rows stayed in D1 after a
// failed or partial commit is ignored), so a crash between a put and its commit never shows twice.
import { eventKey } from "../bus/envelope";
import {
  type ArchivedSlice,
  indexedIn,
  type ObjectRef,
  objectsOfCorrelation,
  objectsOfEvent,
  objectsOfSlice,
} from "../db/archive-index";
import { eventRowsOf, type LoggedEvent, parseDeliveries } from "../db/events";
import { type LogSlice, logSlice } from "../db/recovery";
import { iso, parseRuns, type RunView, type RunWithCalls, withCalls } from "../db/runs";
import { parseViolations } from "../db/violations";
import { parseWorkflows, type WorkflowSummary } from "../db/workflows";
import { type EventLine, EventLineSchema, WorkflowLineSchema } from "./format";
import { readLines } from "./store";

/** Objects read for one replay page and for one workflow: each is an R2 get. */
const SLICE_OBJECTS = 4;
const WORKFLOW_OBJECTS = 16;

async function eventLines(env: Env, object: ObjectRef): Promise<EventLine[]> {
  if (object.kind !== "events") return [];
  const lines = (await readLines(env.ARCHIVE, object.key)).map((l) => EventLineSchema.parse(l));
  if (!object.partial) return lines;
  const indexed = await indexedIn(
    env.DB,
    object.seq,
    lines.map((l) => l.event),
  );
  return lines.filter((l) => indexed.has(eventKey(l.event)));
}

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
 * An archived event in the shape GET /v1/events/:id answers, marked `archived: true`, with what D1
 * holds for it since (runs of a replay after archiving); null when the index has no such event.
 */
export async function archivedEvent(env: Env, id: string, source?: string) {
  const objects = await objectsOfEvent(env.DB, id, source);
  if (objects.length === 0) return null;
  const lines = (
    await Promise.all(
      objects.map(async (o) =>
        (await readLines(env.ARCHIVE, o.key))
          .map((l) => EventLineSchema.parse(l))
          .filter((l) => l.event.id === id && l.event.source === o.source),
      ),
    )
  ).flat();
  const newest = lines.reduce<EventLine | undefined>((a, l) => (a && a.seq >= l.seq ? a : l), undefined);
  if (!newest) return null;
  const mine = lines.filter((l) => eventKey(l.event) === eventKey(newest.event));
  const hot = await eventRowsOf(env.DB, newest.event.source, newest.event.id);
  return {
    ...logged(newest),
    deliveries: latest([...mine.flatMap((l) => parseDeliveries(l.deliveries)), ...hot.deliveries], (d) => d.agent).sort(
      (a, b) => a.agent.localeCompare(b.agent),
    ),
    runs: withCalls(
      latest([...mine.flatMap((l) => parseRuns(l.runs)), ...hot.runs], runKey).sort(
        (a, b) => a.startedAt - b.startedAt,
      ),
      [...mine.flatMap((l) => l.modelCalls), ...hot.calls],
    ),
    violations: latest([...hot.violations, ...mine.flatMap(violationsOf)], (v) => String(v.seq)).sort(
      (a, b) => b.seq - a.seq,
    ),
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
 * A page of the log for replay, in seq order: D1 and the archive together. The archive side reads at
 * most SLICE_OBJECTS objects; lines at or past the first object it did not read wait for the next page.
 */
export async function replaySlice(env: Env, slice: LogSlice): Promise<SlicePage> {
  const archived: ArchivedSlice = slice;
  const [hot, objects] = await Promise.all([
    logSlice(env.DB, slice),
    objectsOfSlice(env.DB, archived, SLICE_OBJECTS + 1),
  ]);
  const read = objects.slice(0, SLICE_OBJECTS);
  // Everything up to `complete` is known: lines past it may sit in objects not read yet, or be D1
  // events past the page D1 answered.
  const boundary = objects[SLICE_OBJECTS]?.firstSeq ?? Infinity;
  const hotEnd = hot.length === slice.limit ? (hot.at(-1)?.seq ?? Infinity) : Infinity;
  const complete = Math.min(boundary - 1, hotEnd);
  const after = slice.afterSeq ?? 0;
  const inSlice = (l: EventLine) =>
    l.seq > after &&
    l.seq <= complete &&
    (slice.type === undefined || l.event.type === slice.type) &&
    (slice.correlationid === undefined || l.event.correlationid === slice.correlationid) &&
    (slice.from === undefined || l.loggedAt >= slice.from) &&
    (slice.to === undefined || l.loggedAt < slice.to);
  const lines = (await Promise.all(read.map((o) => eventLines(env, o)))).flat().filter(inSlice);
  const inD1 = new Set(hot.map((e) => eventKey(e.event)));
  const fromArchive = latest(
    lines.filter((l) => !inD1.has(eventKey(l.event))),
    (l) => eventKey(l.event),
  );
  const events = [...hot.filter((e) => e.seq <= complete), ...fromArchive.map(logged)]
    .sort((a, b) => a.seq - b.seq)
    .slice(0, slice.limit);
  const succeeded = new Map(
    fromArchive.map((l) => [
      eventKey(l.event),
      new Set(
        parseRuns(l.runs)
          .filter((r) => r.status === "succeeded")
          .map((r) => r.agent),
      ),
    ]),
  );
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

/** A workflow as D1 holds it, completed with its archived instances, events and runs (D1 wins). */
export async function withArchive(env: Env, id: string, hot: WorkflowView): Promise<WorkflowView> {
  const objects = await objectsOfCorrelation(env.DB, id, WORKFLOW_OBJECTS);
  if (objects.length === 0) return hot;
  const read = await Promise.all(objects.map(async (o) => ({ o, lines: await readLines(env.ARCHIVE, o.key) })));
  const workflowRows = read
    .filter(({ o }) => o.kind === "workflows")
    .flatMap(({ lines }) => lines.map((l) => WorkflowLineSchema.parse(l).workflow))
    .filter((w) => w.id === id);
  const eventLinesRead = read
    .filter(({ o }) => o.kind === "events")
    .flatMap(({ lines }) => lines.map((l) => EventLineSchema.parse(l)))
    .filter((l) => l.event.correlationid === id);
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
  const archivedRuns = withCalls(
    eventLinesRead.flatMap((l) => parseRuns(l.runs)),
    eventLinesRead.flatMap((l) => l.modelCalls),
  );
  const runs = latest([...archivedRuns, ...hot.runs], runKey).sort((a, b) => a.startedAt - b.startedAt);
  return { instances: instances.sort((a, b) => a.startedAt - b.startedAt), events, runs };
}
