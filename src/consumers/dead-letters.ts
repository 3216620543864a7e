// The dead-letter queue consumer: records each dead delivery (task or event) in D1 with its last
// error and the original message, in one batch per queue batch.
import { QueueMessageSchema } from "../bus/envelope";
import { type DeadLetter, recordDeadLetters } from "../db/dead-letters";
import { log, logError } from "../log";

export async function recordDeadLetterBatch(batch: MessageBatch, env: Env): Promise<void> {
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
}
