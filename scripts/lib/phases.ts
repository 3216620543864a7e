// The workflow benchmark's phases, the same for every system (scripts/lib/systems.ts): one workflow
// at a time, a steady rate, and flat out, with the CPU the server's process tree used meanwhile.
import { randomUUID } from "node:crypto";
import { cpuBetween, type CpuUse, sampleCpu } from "./proc";
import { load, summarize, until } from "./stats";
import type { Shape, System } from "./systems";

export type Summary = ReturnType<typeof summarize>;

/** Completion − send time of `repeat` workflows, sent one after the other. */
export async function oneAtATime(system: System, shape: Shape, repeat: number): Promise<Summary> {
  const times: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const id = `wf-${randomUUID()}`;
    const sentAt = await system.start(id, shape);
    const done = await until(() => system.completedAt(id), 120_000, `${system.kind} workflow ${id}`);
    times.push(done - sentAt);
  }
  return summarize(times);
}

export interface LoadResult {
  n: number;
  /** Completion − send time per workflow. */
  latency: Summary;
  /** First send to last 202. */
  acceptedPerSecond: number;
  /** First send to last completion. */
  spanMs: number;
  completedPerSecond: number;
  /** agentwire: workflows decided at their deadline instead of by their join (should be 0). */
  atDeadline: number;
  /** From just before the first send until every completion was seen. */
  cpu: CpuUse;
}

/**
 * What the server's process tree uses with nothing to do but answer the completion probe that every
 * load run polls (every 250 ms): the floor under the CPU figures of a load run.
 */
export async function idleCpu(system: System, durationMs: number): Promise<CpuUse> {
  const pid = system.server.process.pid;
  if (pid === undefined) throw new Error("wrangler dev has no pid");
  const before = sampleCpu(pid);
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    await system.completedCount();
    await new Promise((r) => setTimeout(r, 250));
  }
  return cpuBetween(before, sampleCpu(pid));
}

/** Why a run may have gone wrong: wrangler reloads the Worker when a source file changes mid-run. */
export function reloadHint(system: System): string {
  return /Reloading local server|Detected changes, restarted server/.test(system.server.output())
    ? " (wrangler dev reloaded the Worker during the run: a source file changed, and in-flight work may be lost)"
    : "";
}

/** Polls `completedCount` (every 250 ms, cheap) until it reaches `target`; fails after 60 s without progress. */
async function waitForCount(system: System, target: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let movedAt = Date.now();
  for (;;) {
    const count = await system.completedCount();
    if (count >= target) return;
    if (count !== last) [last, movedAt] = [count, Date.now()];
    if (Date.now() > deadline || Date.now() - movedAt > 60_000) {
      throw new Error(`${system.kind}: ${count} of ${target} completed, stuck or too slow${reloadHint(system)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Sends n workflows with at most `concurrency` in flight, at `rate` per second when given (open loop)
 * or as fast as they are accepted, and waits for all of them.
 */
export async function loadRun(
  system: System,
  shape: Shape,
  n: number,
  concurrency: number,
  rate?: number,
): Promise<LoadResult> {
  const pid = system.server.process.pid;
  if (pid === undefined) throw new Error("wrangler dev has no pid");
  const base = await system.completedCount();
  const ids = Array.from({ length: n }, () => `wf-${randomUUID()}`);
  const sent = new Map<string, number>();
  const before = sampleCpu(pid);
  const sendMs = await load(
    n,
    concurrency,
    async (i) => {
      const id = ids[i]!;
      sent.set(
        id,
        await system.start(id, shape).catch((e: unknown) => {
          throw new Error(`${system.kind}: ${e instanceof Error ? e.message : String(e)}${reloadHint(system)}`);
        }),
      );
    },
    rate,
  );
  await waitForCount(system, base + n, Math.max(120_000, n * 300));
  const cpu = cpuBetween(before, sampleCpu(pid));
  const done = await system.completions();
  const latencies: number[] = [];
  let first = Infinity;
  let last = -Infinity;
  let atDeadline = 0;
  for (const id of ids) {
    const completion = done.get(id);
    if (completion === undefined) throw new Error(`${system.kind}: no completion recorded for ${id}`);
    const { at } = completion;
    if (completion.atDeadline) atDeadline++;
    latencies.push(at - sent.get(id)!);
    first = Math.min(first, sent.get(id)!);
    last = Math.max(last, at);
  }
  const spanMs = last - first;
  return {
    n,
    latency: summarize(latencies),
    acceptedPerSecond: (n / sendMs) * 1000,
    spanMs,
    completedPerSecond: (n / spanMs) * 1000,
    atDeadline,
    cpu,
  };
}
