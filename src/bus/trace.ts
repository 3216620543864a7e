// W3C trace context for events: every event carries a `traceparent` (the sender's, or one minted at
// ingest), and every log line about it carries its trace id, so one query finds an order's whole story.
const hex = (bytes: number) =>
  [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");

/** A fresh, sampled traceparent: version 00, a random trace id and parent id. */
export const mintTraceparent = () => `00-${hex(16)}-${hex(8)}-01`;

/** The trace id of an event's traceparent (32 hex digits), if it has one. */
export const traceIdOf = (event: { traceparent?: string | undefined }): string | undefined =>
  event.traceparent?.split("-")[1];
