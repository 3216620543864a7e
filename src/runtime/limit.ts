// At most `n` of something at once. A Worker invocation may hold about six outgoing connections open;
// a tasks batch of 100 model-backed deliveries would otherwise queue its calls behind each other
// inside the SDK's timeout.
export function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
