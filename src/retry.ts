// Exponential backoff with "equal jitter": half the delay is fixed, half random, so retries of a
// failed batch spread out instead of stampeding a recovering dependency.
export function backoffSeconds(attempt: number, baseSeconds: number, maxSeconds: number, random = Math.random): number {
  const exponential = Math.min(maxSeconds, baseSeconds * 2 ** Math.max(0, attempt - 1));
  return Math.ceil(exponential / 2 + (exponential / 2) * random());
}
