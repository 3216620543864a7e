// Percentiles and a load loop for the benchmarks.

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export function summarize(values: readonly number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/**
 * Runs `task(i)` for i in [0, n) with at most `concurrency` in flight; with `ratePerSecond`, task i
 * starts no earlier than i / rate seconds in (a steady, open-loop rate). Returns the wall time in ms.
 */
export async function load(
  n: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
  ratePerSecond?: number,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++;
        if (ratePerSecond) {
          const wait = started + (i * 1000) / ratePerSecond - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        await task(i);
      }
    }),
  );
  return performance.now() - started;
}

export async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
