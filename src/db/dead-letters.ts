// dead_letters: deliveries that ran out of retries or failed for good, kept with their last error
// and the original message so they can be inspected and replayed.
import type { EventMessage, TaskMessage } from "../bus/envelope";
import { CLAIM_LEASE_MS } from "./runs";

export interface DeadLetter {
  message: EventMessage | TaskMessage;
  attempts: number;
  /** Set when the error is known here; otherwise it is taken from the agent's last run. */
  error?: string;
}

/** Records dead letters in one transaction; a task's run is marked dead_lettered. Idempotent. */
export async function recordDeadLetters(db: D1Database, letters: readonly DeadLetter[], now: number): Promise<void> {
  if (letters.length === 0) return;
  const statements = letters.flatMap(({ message, attempts, error }) => {
    const { source, id } = message.event;
    const agent = message.kind === "task" ? message.agent : "";
    return [
      db
        .prepare(
          `INSERT INTO dead_letters (kind, event_source, event_id, agent, attempts, error, message, recorded_at)
           SELECT ?1, ?2, ?3, ?4, MAX(?5, COALESCE(r.attempt, 0)), COALESCE(?6, r.error), ?7, ?8
             FROM (SELECT 1) LEFT JOIN agent_runs r
               ON r.event_source = ?2 AND r.event_id = ?3 AND r.agent = ?4
           ON CONFLICT (kind, event_source, event_id, agent) DO UPDATE SET
             attempts = excluded.attempts, error = excluded.error, message = excluded.message,
             recorded_at = excluded.recorded_at`,
        )
        .bind(message.kind, source, id, agent, attempts, error ?? null, JSON.stringify(message), now),
      db
        .prepare(
          `UPDATE agent_runs SET status = 'dead_lettered', finished_at = COALESCE(finished_at, ?4)
            WHERE event_source = ?1 AND event_id = ?2 AND agent = ?3
              AND (status = 'failed' OR (status = 'running' AND started_at < ?5))`,
        )
        // A run still inside its claim lease belongs to a live delivery: a duplicate's dead letter
        // must not mark it dead.
        .bind(source, id, agent, now, now - CLAIM_LEASE_MS),
    ];
  });
  await db.batch(statements);
}
