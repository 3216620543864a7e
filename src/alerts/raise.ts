// Alerts: agentwire's own events for what needs a person (dead letters piling up, an agent failing or
// slowing down, a budget at 80% and 100%, workflows timing out or waiting too long for approval, the
// sweep repairing lost work, a destination's circuit opening). Each is an ordinary `alert.raised`
// event in the log, routed like any other (the example sends it to the ops channel), with an id
// derived from its condition, subject and window: however often the condition is seen in a window,
// the log holds one alert, so an outage pages once, not thousands of times.
import { z } from "zod";
import type { Catalog } from "../bus/catalog";
import { type EventMessage, mintTraceparent } from "../bus/envelope";
import { derivedId, eventIdKey, sendAll } from "../bus/publish";
import { log, logError } from "../log";

export const ALERT_SOURCE = "/agentwire/alerts";
export const ALERT_TYPE = "alert.raised";
const HOUR = 3_600_000;

export const ALERT_CONDITIONS = [
  "dead_letters",
  "agent_failure_rate",
  "agent_latency",
  "budget_80",
  "budget_100",
  "workflow_timed_out",
  "approval_waiting",
  "sweep_repaired",
  "circuit_opened",
] as const;
export type AlertCondition = (typeof ALERT_CONDITIONS)[number];

/** The data of an `alert.raised` event; add `"alert.raised": internal(AlertSchema)` to the catalog. */
export const AlertSchema = z.object({
  condition: z.enum(ALERT_CONDITIONS),
  /** What it is about: an agent, a destination, a workflow, "budget", "sweep", "dead-letters". */
  subject: z.string(),
  severity: z.enum(["warning", "critical"]),
  summary: z.string(),
  /** The start of the window the alert stands for (ISO 8601): one alert per condition, subject and window. */
  windowStart: z.string(),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
});
export type Alert = z.output<typeof AlertSchema>;

export interface AlertInput {
  condition: AlertCondition;
  subject: string;
  severity: Alert["severity"];
  summary: string;
  details?: Alert["details"];
  /** The dedup window; default an hour. */
  windowMs?: number;
  at?: number;
}

/** Windows this isolate has already raised, so a storm sends one queue message per window, not one per failure. */
const raised = new Map<string, number>();

/**
 * Raises an alert: logs it, and (when the catalog has `alert.raised`) sends it through the events
 * queue to be logged once and routed. Never throws: an alert that cannot be sent is logged as such.
 */
export async function raiseAlert(env: Env, catalog: Catalog, input: AlertInput): Promise<void> {
  const at = input.at ?? Date.now();
  const windowMs = input.windowMs ?? HOUR;
  const windowStart = Math.floor(at / windowMs) * windowMs;
  const key = `${input.condition}|${input.subject}|${windowStart}`;
  if (raised.get(key) === windowStart) return;
  const data: Alert = {
    condition: input.condition,
    subject: input.subject,
    severity: input.severity,
    summary: input.summary,
    windowStart: new Date(windowStart).toISOString(),
    details: input.details ?? {},
  };
  const { details, ...fields } = data;
  log("alert.raised", { ...fields, details: JSON.stringify(details), status: input.severity });
  if (!Object.hasOwn(catalog, ALERT_TYPE)) return;
  try {
    const message: EventMessage = {
      kind: "event",
      receivedAt: at,
      event: {
        specversion: "1.0",
        // Like every id agentwire derives: stable for the window, unpredictable without the server key.
        id: await derivedId(await eventIdKey(env), "alert", [input.condition, input.subject, windowStart]),
        source: ALERT_SOURCE,
        type: ALERT_TYPE,
        time: new Date(at).toISOString(),
        datacontenttype: "application/json",
        subject: input.subject,
        correlationid: `alert:${input.condition}:${input.subject}`,
        hopcount: 0,
        traceparent: mintTraceparent(),
        data,
      },
    };
    await sendAll(env.EVENTS_QUEUE, [message]);
    raised.set(key, windowStart);
    if (raised.size > 1000) raised.delete(raised.keys().next().value ?? "");
  } catch (error) {
    logError("alert.unsent", { condition: input.condition, subject: input.subject }, error);
  }
}
