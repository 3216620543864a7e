// The archive's event batches: a window of the log (the forward scan or the re-check of events left
// behind), or archived events with rows written since (reopened). Either way: their rows as they
// are, one object per hour put to R2, then one D1 commit that indexes them and deletes the rows.
import { type Envelope, eventKey } from "../bus/envelope";
import {
  type Candidate,
  candidateWindow,
  type CandidateWindow,
  commitEvents,
  EVENT_COMMIT_STATEMENTS,
  EVENT_TABLES,
  type EventMember,
  moveCursor,
  type EventRow,
  type EventTable,
  type ObjectEntry,
  reopenedEvents,
  rowsOf,
} from "../db/archive";
import { log, logError } from "../log";
import { batchId, type EventLine, FORMAT_VERSION, hourOf, objectKey } from "./format";
import { archivedLines } from "./lines";
import { type Run, tally } from "./run";
import { deleteObjects, putLines } from "./store";

/** A sparse log spreads a batch over many hours: each hour is one object, one R2 put. */
export const MAX_HOURS_PER_BATCH = 24;
/** Statements per batch: read the window (or the notes and the index), the rows of each table, then the commit. */
export const EVENT_BATCH_STATEMENTS = 2 + EVENT_TABLES.length + EVENT_COMMIT_STATEMENTS;
/** R2 gets a batch of reopened events may take to find their envelopes. */
const REOPENED_OBJECTS = 24;

/** An event to write, with what its line needs besides its rows. */
interface Ready extends EventMember {
  hour: number;
  type: string;
  receivedAt: number;
  loggedAt: number;
  envelope: Envelope;
}

/**
 * One batch of the log: a window, its ready events (up to `max`, in at most MAX_HOURS_PER_BATCH hours)
 * with their rows, one object per hour, then the commit, which also moves `cursor` to the window's end.
 */
export async function archiveEvents(run: Run, w: CandidateWindow, cursor: string, max: number, stopAtHot: boolean) {
  const result = { ...tally(), end: w.after, reachedHot: false };
  run.statements++;
  let rows = await candidateWindow(run.env.DB, w);
  const hot = stopAtHot ? rows.findIndex((r) => r.received_at >= w.cutoff) : -1;
  if (hot >= 0) {
    rows = rows.slice(0, hot);
    result.reachedHot = true;
  }
  const ready: Ready[] = [];
  const hours = new Set<number>();
  for (const [i, row] of rows.entries()) {
    if (!row.ready || row.envelope === null || row.version === null) continue;
    const hour = hourOf(row.received_at);
    if (ready.length >= max || (!hours.has(hour) && hours.size >= MAX_HOURS_PER_BATCH)) {
      rows = rows.slice(0, i);
      result.reachedHot = false;
      break;
    }
    hours.add(hour);
    ready.push(fromCandidate(row, row.envelope, row.version));
  }
  result.examined = rows.length;
  result.leftBehind = rows.length - ready.length;
  result.end = rows.at(-1)?.seq ?? w.after;
  if (ready.length === 0) {
    if (result.end !== w.after) {
      run.statements++;
      await moveCursor(run.env.DB, cursor, result.end);
    }
    return result;
  }
  const written = await writeAndCommit(run, ready, { name: cursor, seq: result.end });
  result.archived = written.archived;
  result.leftBehind += ready.length - written.archived;
  result.objects = written.objects;
  result.bytes = written.bytes;
  return result;
}

const fromCandidate = (row: Candidate, envelope: Envelope, version: string): Ready => ({
  seq: row.seq,
  source: row.source,
  id: row.id,
  correlationId: row.correlation_id,
  version,
  reopened: false,
  hour: hourOf(row.received_at),
  type: row.type,
  receivedAt: row.received_at,
  loggedAt: row.logged_at,
  envelope,
});

/**
 * Archived events with rows written since they left D1 (a replay's, a replayed dead letter's) whose
 * runs are over: the rows go to a new object, in a line with the event as first archived, and leave D1.
 * Reads merge an event's lines. At most `max` events, and the objects of at most REOPENED_OBJECTS to
 * find their envelopes; the rest wait for the next batch or run.
 */
export async function archiveReopened(run: Run, max: number) {
  const result = { ...tally(), selected: 0 };
  run.statements++;
  const notes = await reopenedEvents(run.env.DB, max);
  result.selected = notes.length;
  if (notes.length === 0) return result;
  run.statements++;
  const { lines, missing } = await archivedLines(run.env, notes, REOPENED_OBJECTS);
  // The triggers note only indexed events, and index rows are never deleted: this would be damage.
  if (missing.length > 0) log("archive", { status: "reopened_unindexed", events: missing.length, first: missing[0] });
  const ready = notes.flatMap((n): Ready[] => {
    const line = lines.get(eventKey(n));
    if (!line) return [];
    return [
      {
        seq: line.seq,
        source: n.source,
        id: n.id,
        correlationId: line.event.correlationid,
        version: n.version,
        reopened: true,
        hour: hourOf(line.receivedAt),
        type: line.event.type,
        receivedAt: line.receivedAt,
        loggedAt: line.loggedAt,
        envelope: line.event,
      },
    ];
  });
  // Hours of the oldest first, at most MAX_HOURS_PER_BATCH of them (puts): the rest wait.
  const hours = [...new Set(ready.map((r) => r.hour))].sort((a, b) => a - b).slice(0, MAX_HOURS_PER_BATCH);
  const batch = ready.filter((r) => hours.includes(r.hour));
  result.examined = notes.length;
  if (batch.length === 0) return result;
  const written = await writeAndCommit(run, batch, null);
  result.archived = written.archived;
  result.leftBehind = notes.length - written.archived;
  result.objects = written.objects;
  result.bytes = written.bytes;
  return result;
}

/** Reads the rows of `ready`, puts one object per hour, commits; deletes objects that indexed nothing. */
async function writeAndCommit(run: Run, ready: readonly Ready[], cursor: { name: string; seq: number } | null) {
  run.statements += EVENT_TABLES.length;
  const byEvent = groupRows(await rowsOf(run.env.DB, ready));
  const written = await Promise.all(
    [...Map.groupBy(ready, (r) => r.hour)].map(async ([hour, group]) => {
      const seqs = group.map((r) => r.seq);
      const first = Math.min(...seqs);
      const last = Math.max(...seqs);
      const key = objectKey("events", hour, batchId(`s${first}-${last}`));
      const lines = group.map((r): EventLine => {
        const of = (table: EventTable) => byEvent.get(`${table} ${eventKey(r)}`) ?? [];
        return {
          v: FORMAT_VERSION,
          seq: r.seq,
          receivedAt: r.receivedAt,
          loggedAt: r.loggedAt,
          event: r.envelope,
          deliveries: of("deliveries"),
          runs: of("agent_runs"),
          modelCalls: of("model_calls"),
          violations: of("policy_violations"),
          parked: of("parked_events"),
          unrouted: of("unrouted_events"),
          duplicates: of("duplicates"),
          steps: of("run_steps"),
          archivedAt: run.now,
        };
      });
      const bytes = await putLines(run.env.ARCHIVE, key, lines);
      const logged = group.map((r) => r.loggedAt);
      const entry: ObjectEntry = {
        key,
        hour,
        lines: lines.length,
        bytes,
        firstSeq: first,
        lastSeq: last,
        minLoggedAt: Math.min(...logged),
        maxLoggedAt: Math.max(...logged),
        types: [...new Set(group.map((r) => r.type))].sort(),
      };
      return { entry, members: group };
    }),
  );
  run.puts += written.length;
  run.statements += EVENT_COMMIT_STATEMENTS - (cursor ? 0 : 1);
  const { archived, dropped } = await commitEvents(
    run.env.DB,
    written.map((w) => w.entry),
    written.map((w) => ({ key: w.entry.key, members: w.members })),
    cursor,
    run.cutoff,
    run.now,
  );
  await dropObjects(run, dropped);
  const kept = written.filter((w) => !dropped.includes(w.entry.key));
  return { archived, objects: kept.length, bytes: kept.reduce((sum, w) => sum + w.entry.bytes, 0) };
}

/** Objects the commit left out of the manifest are read by nothing: delete them (a failure leaves garbage only). */
export async function dropObjects(run: Run, keys: readonly string[]) {
  if (keys.length === 0) return;
  await deleteObjects(run.env.ARCHIVE, keys).catch((error: unknown) =>
    logError("archive", { status: "delete_failed", objects: keys.length, first: keys[0] }, error),
  );
}

/** Rows by `table source id`. */
function groupRows(rows: Record<EventTable, EventRow[]>) {
  const byEvent = new Map<string, EventRow[]>();
  for (const table of EVENT_TABLES) {
    for (const row of rows[table]) {
      const key = `${table} ${eventKey({ source: row.event_source, id: row.event_id })}`;
      const list = byEvent.get(key) ?? [];
      list.push(row);
      byEvent.set(key, list);
    }
  }
  return byEvent;
}
