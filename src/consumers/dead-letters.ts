// The dead-letter queue consumer: records each dead delivery (task or event) in D1 with its last
// error and the original message, in one batch per queue batch.
import { raiseAlert } from "../alerts/raise";
import type { Catalog } from "../bus/catalog";
import { QueueMessageSchema } from "../bus/envelope";
import { settings } from "../config";
import { type DeadLetter, recordDeadLetters } from "../db/dead-letters";
import { log, logError } from "../log";

export async function recordDeadLetterBatch(batch: MessageBatch, env: Env, catalog: Catalog): Promise<void> {
  const letters: DeadLetter[] = [];
  for (const message of batch.messages) {
    const parsed = QueueMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      // Never the body: it may hold anything a sender put in an event.
      logError("dead_letter.malformed", { messageId: message.id }, parsed.error);
      continue;
    }
    letters.push({ message: parsed.data, attempts: message.attempts });
  }
  // If this write fails the consumer throws and the whole batch is retried (max_retries = 100).
  await recordDeadLetters(env.DB, letters, Date.now());
  for (const { message } of letters) {
    log("dead_letter", {
      eventId: message.event.id,
      type: message.event.type,
      correlationid: message.event.correlationid,
      agent: message.kind === "task" ? message.agent : null,
      kind: message.kind,
      status: "dead_lettered",
    });
  }
  batch.ackAll();
  if (letters.length > 0) await alertOnDeadLetters(env, catalog);
}

const HOUR = 3_600_000;

/** Dead letters over ALERT_DEAD_LETTERS in the hour so far: one alert for the hour. */
async function alertOnDeadLetters(env: Env, catalog: Catalog): Promise<void> {
  try {
    const now = Date.now();
    const since = Math.floor(now / HOUR) * HOUR;
    const row = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM dead_letters WHERE status = 'dead' AND recorded_at >= ?",
    )
      .bind(since)
      .first<{ n: number }>();
    const threshold = settings(env, "runs").ALERT_DEAD_LETTERS;
    const n = row?.n ?? 0;
    if (n < threshold) return;
    await raiseAlert(env, catalog, {
      condition: "dead_letters",
      subject: "dead-letters",
      severity: "critical",
      summary: `${n} deliveries dead-lettered this hour (threshold ${threshold}): see the dead letters`,
      details: { count: n, threshold },
      at: now,
    });
  } catch (error) {
    logError("alert.check_failed", { condition: "dead_letters" }, error);
  }
}
