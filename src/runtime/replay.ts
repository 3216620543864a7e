// Re-delivery: dead letters back onto their queues, logged events to agents that missed them or
// failed on them (from D1 and, past the hot window, from the archive), and a resumed agent's held
// deliveries (their events from D1 or the archive). Idempotent: runs are claimed per (event, agent),
// so a pair that already succeeded is never run again; for an archived event, the archive says which.
import { archivedLines } from "../archive/lines";
import { replaySlice } from "../archive/read";
import { type Envelope, type EventMessage, eventKey, type TaskMessage } from "../bus/envelope";
import { type Lanes, sendAll, sendTasks } from "../bus/publish";
import { subscribersOf } from "../bus/subscriptions";
import {
  type DeadLetterFilter,
  type LogSlice,
  heldDeliveries,
  holdAgain,
  markReleased,
  prepareRedelivery,
  takeForReplay,
  untake,
} from "../db/recovery";
import { log } from "../log";
import type { Registry } from "../registry";

/** How a replay treats finished work: recorded model outputs, and (a re-run) runs that succeeded. */
export interface ReplayOptions {
  models?: TaskMessage["models"];
  /** A re-run's generation: runs that finished run again, and emit new events. */
  rerun?: string;
}

const task = (agent: string, event: Envelope, o: ReplayOptions = {}): TaskMessage => ({
  kind: "task",
  agent,
  event,
  receivedAt: Date.now(),
  ...(o.models ? { models: o.models } : {}),
  ...(o.rerun ? { rerun: o.rerun } : {}),
});

/** Replays the dead letters matching `filter` (each once). Throws if the queue refuses: nothing is lost. */
export async function replayDeadLetters(env: Env, lanes: Lanes, filter: DeadLetterFilter) {
  const letters = await takeForReplay(env.DB, filter, Date.now());
  const tasks = letters.flatMap((l) => (l.message.kind === "task" ? [l.message] : []));
  const events = letters.flatMap((l): EventMessage[] => (l.message.kind === "event" ? [l.message] : []));
  try {
    await Promise.all([sendTasks(env, lanes, tasks), sendAll(env.EVENTS_QUEUE, events)]);
  } catch (error) {
    await untake(
      env.DB,
      letters.map((l) => l.id),
    );
    throw error;
  }
  for (const l of letters)
    log("replay.dead_letter", { eventId: l.event.id, agent: l.agent, status: "replayed", id: l.id });
  return letters.map((l) => ({ id: l.id, kind: l.kind, agent: l.agent, eventId: l.event.id }));
}

/**
 * Re-delivers a slice of the log to one agent, or to every subscriber: the pairs whose run has not
 * succeeded, or — a re-run — every pair, finished or not. `models` says how model-backed agents treat
 * their recorded steps (default: reuse them, then continue live).
 */
export async function replayLog(
  env: Env,
  registry: Registry,
  slice: LogSlice,
  agentName?: string,
  options: ReplayOptions = {},
) {
  const agents = agentName ? registry.agents.filter((a) => a.name === agentName) : registry.agents;
  const { events: logged, succeeded, next } = await replaySlice(env, slice);
  const all = logged.flatMap(({ event }) => subscribersOf(agents, event).map((a) => ({ event, agent: a.name })));
  const pairs = options.rerun ? all : all.filter((p) => !succeeded.get(eventKey(p.event))?.has(p.agent));
  const decisions = await prepareRedelivery(
    env.DB,
    pairs.map((p) => ({ source: p.event.source, id: p.event.id, agent: p.agent })),
    Date.now(),
  );
  // A finished run ("done") is sent again only in a re-run; its claim lets one delivery per generation run.
  const toSend = pairs.filter((_, i) => decisions[i] === "send" || (options.rerun && decisions[i] === "done"));
  await sendTasks(
    env,
    registry,
    toSend.map((p) => task(p.agent, p.event, options)),
  );
  const count = (d: string) => decisions.filter((x) => x === d).length;
  log("replay.log", { status: "queued", events: logged.length, queued: toSend.length, held: count("held") });
  return {
    events: logged.length,
    queued: toSend.length,
    held: count("held"),
    skipped: options.rerun ? 0 : count("done") + all.length - pairs.length,
    ...(options.rerun ? { rerun: options.rerun } : {}),
    next,
  };
}

/** Archive objects (R2 gets) one resume may read for held deliveries of archived events. */
const RESUME_OBJECTS = 32;

/**
 * Sends a resumed agent its held deliveries, in rounds; what is left (if any) goes on the next call.
 * A delivery is released only once its event is found, in D1 or in the archive (a replay of an
 * archived event held while the agent was paused), and held again if its task cannot be sent: none
 * is dropped. One whose event is nowhere stays held, logged, and counts as remaining.
 */
export async function releaseHeldDeliveries(env: Env, lanes: Lanes, agent: string, rounds = 20, perRound = 500) {
  let released = 0;
  let afterRowid = 0;
  let unresolved = 0;
  let objects = RESUME_OBJECTS;
  for (let round = 0; round < rounds; round++) {
    const held = await heldDeliveries(env.DB, agent, afterRowid, perRound);
    if (held.length === 0) return { released, done: unresolved === 0 };
    const archived = held.filter((h) => h.logged === null);
    const { lines, missing, deferred, read } = await archivedLines(env, archived, objects);
    objects -= read;
    if (missing.length > 0)
      log("replay.held", { agent, status: "unresolved", events: missing.length, first: missing[0] });
    unresolved += missing.length;
    const found = held.flatMap((h) => {
      const event = h.logged?.event ?? lines.get(eventKey(h))?.event;
      return event ? [{ ...h, event }] : [];
    });
    const marked = await markReleased(env.DB, agent, found);
    const toSend = found.filter((f) => marked.has(eventKey(f)));
    try {
      await sendTasks(
        env,
        lanes,
        toSend.map((f) => task(agent, f.event)),
      );
    } catch (error) {
      await holdAgain(env.DB, agent, toSend);
      throw error;
    }
    released += toSend.length;
    // Deliveries whose objects were past this call's budget wait, held, for the next call.
    if (deferred.length > 0) return { released, done: false };
    afterRowid = held.at(-1)?.rowid ?? afterRowid;
  }
  return { released, done: false };
}
