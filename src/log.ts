// Structured logs: one JSON object per line, so Workers Logs can filter on any field
// (event id, type, correlationid, agent, status, latency).
export type LogFields = Record<string, string | number | boolean | null | undefined | readonly string[]>;

export function log(msg: string, fields: LogFields): void {
  console.log(JSON.stringify({ msg, ...fields }));
}

export function logError(msg: string, fields: LogFields, error: unknown): void {
  console.error(JSON.stringify({ msg, ...fields, error: errorMessage(error) }));
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
