// Errors an agent throws on purpose, named for what the runtime does with them. Anything else an
// agent throws is retried with exponential backoff and jitter, then dead-lettered.

/** Give up on this delivery now: it goes to the dead letters (replayable once the cause is fixed). */
export class DeadLetter extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DeadLetter";
  }
}

/** Retry this delivery after `seconds` (at most 43,200, the queue's longest delay). */
export class RetryAfter extends Error {
  readonly seconds: number;
  constructor(seconds: number, message = `retry after ${seconds} s`) {
    super(message);
    this.name = "RetryAfter";
    this.seconds = Math.min(43_200, Math.max(0, Math.ceil(seconds)));
  }
}
