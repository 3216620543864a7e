// Reading event objects back: their lines (less those whose rows stayed in D1), a few objects at a
// time, and the archived line of given events, for a resume that sends held deliveries of archived
// events and for the archive run that moves rows written after their event was archived.
import { eventKey } from "../bus/envelope";
import { indexedIn, type ObjectRef, objectsOfEvents } from "../db/archive-index";
import { type EventLine, EventLineSchema } from "./format";
import { readLines } from "./store";

/** R2 gets in flight at once for one read: bounds its memory to a few objects. */
const CONCURRENCY = 4;

/**
 * A read that needs more objects than it may take (each an R2 get and its memory): refused whole,
 * never answered from part of them.
 */
export class ArchiveReadLimit extends Error {
  override name = "ArchiveReadLimit";
}

/** `fn` over `items`, at most CONCURRENCY at a time; results in the items' order. */
export async function inTurn<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
  return results;
}

/** The lines of an event object whose rows left D1 with it (a partial object's others stayed). */
export async function eventLines(env: Env, object: ObjectRef): Promise<EventLine[]> {
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

export interface ArchivedLines {
  /** By `source id`: a line of the event (its seq, times and envelope are the same in every one). */
  lines: Map<string, EventLine>;
  /** Not in the archive's index. */
  missing: string[];
  /** Archived in objects past `maxObjects`: for a later call. */
  deferred: string[];
  /** Objects read (R2 gets). */
  read: number;
}

/** A line of each of these events, reading at most `maxObjects` objects, those that serve most first. */
export async function archivedLines(
  env: Env,
  events: readonly { source: string; id: string }[],
  maxObjects: number,
): Promise<ArchivedLines> {
  if (events.length === 0) return { lines: new Map(), missing: [], deferred: [], read: 0 };
  const objects = await objectsOfEvents(env.DB, events);
  const wanted = new Map<number, { object: ObjectRef; keys: Set<string> }>();
  const missing: string[] = [];
  for (const key of new Set(events.map(eventKey))) {
    const object = objects.get(key);
    if (!object) {
      missing.push(key);
      continue;
    }
    const entry = wanted.get(object.seq) ?? { object, keys: new Set<string>() };
    entry.keys.add(key);
    wanted.set(object.seq, entry);
  }
  const byUse = [...wanted.values()].sort((a, b) => b.keys.size - a.keys.size);
  const read = byUse.slice(0, maxObjects);
  const lines = new Map<string, EventLine>();
  await inTurn(read, async ({ object, keys }) => {
    for (const raw of await readLines(env.ARCHIVE, object.key)) {
      const line = EventLineSchema.parse(raw);
      if (keys.has(eventKey(line.event))) lines.set(eventKey(line.event), line);
    }
  });
  const deferred = byUse.slice(maxObjects).flatMap(({ keys }) => [...keys]);
  // The index promised these lines: an object without them is damaged, and says so.
  const absent = read.flatMap(({ object, keys }) => [...keys].filter((k) => !lines.has(k)).map(() => object.key));
  if (absent.length > 0) throw new Error(`archive object ${absent[0]} lacks lines its index lists`);
  return { lines, missing, deferred, read: read.length };
}
