// Re-delivery: dead letters back onto their queues, logged events to agents that missed them or
// failed on them (from D1 and, past the hot window, from the archive), and a resumed agent's held
// deliveries. Idempotent: runs are claimed per (event, agent), so a pair that already succeeded is
// never run again; for an archived event, the archive says which succeeded.
import { replaySlice } from "../archive/read";
import { type Envelope, type EventMessage, eventKey, type TaskMessage } from "../bus/envelope";
import { sendAll } from "../bus/publish";
import { subscribersOf } from "../bus/subscriptions";
import {
  type DeadLetterFilter,
  type LogSlice,
  prepareRedelivery,
  releaseHeld,
  takeForReplay,
  untake,
} from "../db/recovery";
import { log } from "../log";
import type { Registry } from "../registry";

const task = (agent: string, event: Envelope): TaskMessage => ({ kind: "task", agent, event, receivedAt: Date.now() });

/** Replays the dead letters matching `filter` (each once). Throws if the queue refuses: nothing is lost. */
export async function replayDeadLetters(env: Env, filter: DeadLetterFilter) {
  const letters = await takeForReplay(env.DB, filter, Date.now());
  const tasks = letters.flatMap((l) => (l.message.kind === "task" ? [l.message] : []));
  const events = letters.flatMap((l): EventMessage[] => (l.message.kind === "event" ? [l.message] : []));
  try {
    await Promise.all([sendAll(env.TASKS_QUEUE, tasks), sendAll(env.EVENTS_QUEUE, events)]);
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

/** Re-delivers a slice of the log to one agent, or to every subscriber. */
export async function replayLog(env: Env, registry: Registry, slice: LogSlice, agentName?: string) {
  const agents = agentName ? registry.agents.filter((a) => a.name === agentName) : registry.agents;
  const { events: logged, succeeded, next } = await replaySlice(env, slice);
  const all = logged.flatMap(({ event }) => subscribersOf(agents, event).map((a) => ({ event, agent: a.name })));
  const pairs = all.filter((p) => !succeeded.get(eventKey(p.event))?.has(p.agent));
  const decisions = await prepareRedelivery(
    env.DB,
    pairs.map((p) => ({ source: p.event.source, id: p.event.id, agent: p.agent })),
    Date.now(),
  );
  const toSend = pairs.filter((_, i) => decisions[i] === "send");
  await sendAll(
    env.TASKS_QUEUE,
    toSend.map((p) => task(p.agent, p.event)),
  );
  const count = (d: string) => decisions.filter((x) => x === d).length;
  log("replay.log", { status: "queued", events: logged.length, queued: toSend.length, held: count("held") });
  return {
    events: logged.length,
    queued: toSend.length,
    held: count("held"),
    skipped: count("done") + all.length - pairs.length,
    next,
  };
}

/** Sends a resumed agent its held deliveries, in rounds; what is left (if any) goes on the next call. */
export async function releaseHeldDeliveries(env: Env, agent: string, rounds = 20, perRound = 500) {
  let released = 0;
  for (let round = 0; round < rounds; round++) {
    const events = await releaseHeld(env.DB, agent, perRound);
    if (events.length === 0) return { released, done: true };
    await sendAll(
      env.TASKS_QUEUE,
      events.map((e) => task(agent, e.event)),
    );
    released += events.length;
  }
  return { released, done: false };
}
