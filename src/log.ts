// Structured logs: one object per line. Workers Logs indexes the fields of a logged object (a
// pre-stringified line may land as one `message` field), so every field can be filtered on in the
// dashboard: event id, type, correlationid, traceId, agent, status, latency.
export type LogFields = Record<string, string | number | boolean | null | undefined | readonly string[]>;

/** Statuses of the lines that only say things went as they should. */
const ROUTINE = new Set(["accepted", "duplicate", "routed", "succeeded", "running", "completed", "held", "resumed"]);
let routine = true;

/**
 * LOG_LEVEL: "info" (the default) logs every event, run and workflow step; "warn" leaves out the
 * routine lines (accepted, routed, succeeded, completed, …) and keeps everything that needs a look.
 * Set per isolate from each entry point's env; the D1 log holds every step whatever the level.
 */
export function setLogLevel(level: string | undefined): void {
  routine = level?.trim().toLowerCase() !== "warn";
}

export function log(msg: string, fields: LogFields): void {
  if (!routine && typeof fields.status === "string" && ROUTINE.has(fields.status)) return;
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
