// publish(): the one way onto a queue. Splits into sendBatch calls within the Queues limits
// (100 messages, 256 KB per batch, 128 KB per message) and sends JSON so sizes are predictable.
import type { Envelope, EventMessage, TaskMessage } from "./envelope";

const MAX_BATCH_MESSAGES = 100;
const MAX_BATCH_BYTES = 250_000; // under 256 KB, leaving room for per-message overhead
const encoder = new TextEncoder();

export async function sendAll<T extends EventMessage | TaskMessage>(
  queue: Queue,
  messages: readonly T[],
): Promise<void> {
  let batch: MessageSendRequest<T>[] = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length > 0) await queue.sendBatch(batch);
    batch = [];
    bytes = 0;
  };
  for (const body of messages) {
    const size = encoder.encode(JSON.stringify(body)).length + 100;
    if (batch.length === MAX_BATCH_MESSAGES || bytes + size > MAX_BATCH_BYTES) await flush();
    batch.push({ body, contentType: "json" });
    bytes += size;
  }
  await flush();
}

/** Puts events on the events queue for the route consumer to log and fan out. */
export function publish(queue: Queue, events: readonly Envelope[], receivedAt: number = Date.now()): Promise<void> {
  return sendAll(
    queue,
    events.map((event): EventMessage => ({ kind: "event", event, receivedAt })),
  );
}
