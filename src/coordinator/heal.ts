// What the anti-entropy sweep (src/sweep/sweep.ts) asks a WorkflowCoordinator to repair, and what
// the coordinator answers: the input and output of its heal() method.
import { z } from "zod";
import { EnvelopeSchema } from "../bus/envelope";

export const HealInput = z.object({
  /** Logged events of this correlation that a workflow listens to; those already observed are ignored. */
  events: z.array(EnvelopeSchema).max(1000).default([]),
  /** Ids of events this coordinator published that the log lacks: sent again, same id. */
  republish: z.array(z.string().min(1).max(256)).max(100).default([]),
});
/** The answer; the sweep parses it, since an RPC result crosses a boundary too. */
export const HealReportSchema = z.object({
  /** Events it had not observed before. */
  observed: z.number().int(),
  /** Outbox entries that were waiting to be flushed when the sweep came. */
  outboxHeld: z.number().int(),
  /** Outbox entries still unflushed afterwards (the flush failed again). */
  outboxLeft: z.number().int(),
  /** A deadline was due or pending but no alarm was set. */
  alarmMissing: z.boolean(),
  /** Instances whose status the heal changed (a deadline applied late). */
  changed: z.number().int(),
  republished: z.number().int(),
  /** Requested ids it has no record of publishing. */
  unknown: z.array(z.string()),
});
export type HealReport = z.infer<typeof HealReportSchema>;
