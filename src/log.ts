// Structured logs: one object per line. Workers Logs indexes the fields of a logged object (a
// pre-stringified line may land as one `message` field), so every field can be filtered on in the
// dashboard: event id, type, correlationid, traceId, agent, status, latency.
export type LogFields = Record<string, string | number | boolean | null | undefined | readonly string[]>;

export function log(msg: string, fields: LogFields): void {
  console.log({ msg, ...fields });
}

/** A failure: its message, and its stack when it has one (never a request body or a secret). */
export function logError(msg: string, fields: LogFields, error: unknown): void {
  console.error({
    msg,
    ...fields,
    error: errorMessage(error),
    ...(error instanceof Error && error.stack ? { stack: error.stack } : {}),
  });
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
