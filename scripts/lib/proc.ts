// CPU time of a process tree, read from /proc (Linux only): `wrangler dev` is a Node launcher, the
// Node process running wrangler (and Miniflare), its workerd processes and esbuild. Sample before and
// after a measured phase; the difference is what the phase cost, per kind of process.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export type ProcessKind = "node" | "workerd" | "other";

export interface CpuSample {
  /** performance.now() when taken. */
  at: number;
  /** CPU ms (user + system) used so far, per live process of the tree. */
  byPid: Map<number, { kind: ProcessKind; ms: number }>;
}

export interface CpuUse {
  wallMs: number;
  node: number;
  workerd: number;
  other: number;
  total: number;
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  ticksPerSecond ??= Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout?.trim()) || 100;
  return ticksPerSecond;
}

/** pid → { ppid, cpu ms } for every process readable now; processes that vanish meanwhile are skipped. */
function readAll(): Map<number, { ppid: number; ms: number }> {
  const all = new Map<number, { ppid: number; ms: number }>();
  const tick = 1000 / clockTicks();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, "utf8");
      // Fields after the command (which may hold spaces and parentheses): state, ppid, … utime, stime
      // are fields 14 and 15 of stat(5), at 11 and 12 here.
      const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
      all.set(Number(name), { ppid: Number(rest[1]), ms: (Number(rest[11]) + Number(rest[12])) * tick });
    } catch {
      // exited between readdir and read
    }
  }
  return all;
}

function kindOf(pid: number): ProcessKind {
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] ?? "";
    const base = path.basename(argv0);
    return base === "node" ? "node" : base === "workerd" ? "workerd" : "other";
  } catch {
    return "other";
  }
}

/** The CPU used so far by `root` and every descendant. */
export function sampleCpu(root: number): CpuSample {
  const at = performance.now();
  const all = readAll();
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of all) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const byPid = new Map<number, { kind: ProcessKind; ms: number }>();
  const queue = all.has(root) ? [root] : [];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    byPid.set(pid, { kind: kindOf(pid), ms: all.get(pid)!.ms });
    queue.push(...(children.get(pid) ?? []));
  }
  return { at, byPid };
}

/** What the tree used between two samples (a process that exited in between is not counted). */
export function cpuBetween(before: CpuSample, after: CpuSample): CpuUse {
  const use: CpuUse = { wallMs: after.at - before.at, node: 0, workerd: 0, other: 0, total: 0 };
  for (const [pid, { kind, ms }] of after.byPid) {
    const used = ms - (before.byPid.get(pid)?.ms ?? 0);
    use[kind] += used;
    use.total += used;
  }
  return use;
}
