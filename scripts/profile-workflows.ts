// Where agentwire's CPU goes: a V8 CPU profile of the Worker's isolate (the HTTP handler, the queue
// consumers and the coordinators; Miniflare's simulators run in isolates of their own) while it runs
// three-agent workflows at a steady rate, summarised by function and by file.
//
//   npm run profile:workflows [-- --n 300] [--rate 20] [--log-level info] [--top 40] [--out profile.cpuprofile]
//
// The .cpuprofile file opens in Chrome DevTools (Performance) or speedscope.
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { freePort } from "./lib/dev";
import { loadRun } from "./lib/phases";
import { startSystem } from "./lib/systems";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "300" },
    rate: { type: "string", default: "20" },
    "log-level": { type: "string", default: "info" },
    top: { type: "string", default: "40" },
    out: { type: "string" },
  },
});
const n = Number(values.n);
const rate = Number(values.rate);
const top = Number(values.top);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; scriptId: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A Chrome DevTools Protocol session over the inspector's WebSocket. */
async function inspect(port: number) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json<{ webSocketDebuggerUrl: string }[]>();
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target at port ${port}`);
  // Miniflare's inspector proxy wants a local Origin (undici's WebSocket takes headers as its second argument).
  const ws = new WebSocket(url, { headers: { origin: "http://127.0.0.1" } } as unknown as string[]);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve);
    ws.addEventListener("error", () => reject(new Error(`could not open the inspector at ${url}`)));
  });
  let next = 1;
  const pending = new Map<number, (result: unknown) => void>();
  ws.addEventListener("message", (m: MessageEvent) => {
    const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown; error?: unknown };
    if (msg.id === undefined) return;
    pending.get(msg.id)?.(msg.error ? Promise.reject(new Error(JSON.stringify(msg.error))) : msg.result);
    pending.delete(msg.id);
  });
  const send = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve) => {
      const id = next++;
      pending.set(id, resolve as (r: unknown) => void);
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => ws.close() };
}

/** Self time per key (function or file), in ms, from the profile's samples. */
function selfTimes(profile: Profile, key: (n: ProfileNode) => string): [string, number][] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node) return;
    const k = key(node);
    totals.set(k, (totals.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return [...totals].sort((a, b) => b[1] - a[1]);
}

const shortUrl = (url: string) => url.replace(/^.*\/(src|node_modules|bench)\//, "$1/") || "(native)";

const inspectorPort = await freePort();
const system = await startSystem("agentwire", { LOG_LEVEL: values["log-level"] }, inspectorPort);
try {
  const session = await inspect(inspectorPort);
  const shape = { mode: "parallel" as const, n: 3, latencyMs: 0 };
  await loadRun(system, shape, 20, 4, rate); // warm-up
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: 200 });
  await session.send("Profiler.start");
  const result = await loadRun(system, shape, n, 32, rate);
  const { profile } = await session.send<{ profile: Profile }>("Profiler.stop");
  if (values.out) {
    writeFileSync(values.out, JSON.stringify(profile));
    // The bundle as it ran, to read the profile's line numbers against.
    const bundle = profile.nodes.find((node) => node.callFrame.url.endsWith("worker.js"))?.callFrame.scriptId;
    if (bundle) {
      await session.send("Debugger.enable");
      const { scriptSource } = await session.send<{ scriptSource: string }>("Debugger.getScriptSource", {
        scriptId: bundle,
      });
      writeFileSync(`${values.out}.worker.js`, scriptSource);
    }
  }
  session.close();

  const idle = new Set(["(idle)", "(program)", "(garbage collector)"]);
  const fn = selfTimes(profile, (node) => {
    const f = node.callFrame;
    return `${f.functionName || "(anonymous)"} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
  });
  const files = selfTimes(profile, (node) =>
    idle.has(node.callFrame.functionName) ? node.callFrame.functionName : shortUrl(node.callFrame.url),
  );
  const busy = files.filter(([k]) => k !== "(idle)").reduce((s, [, ms]) => s + ms, 0);
  console.log(
    `${n} three-agent workflows at ${rate}/s: p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms; ` +
      `process tree CPU ${(result.cpu.total / n).toFixed(1)} ms a workflow; ` +
      `the Worker's isolate busy ${(busy / n).toFixed(2)} ms a workflow (V8 samples)\n`,
  );
  console.log("ms a workflow, by file:");
  for (const [k, ms] of files.slice(0, 25)) console.log(`  ${(ms / n).toFixed(3).padStart(7)}  ${k}`);
  console.log("\nms a workflow, by function (self time):");
  for (const [k, ms] of fn.slice(0, top)) console.log(`  ${(ms / n).toFixed(3).padStart(7)}  ${k}`);
} finally {
  await system.stop();
}
