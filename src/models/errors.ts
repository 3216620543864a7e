// Model API errors, classified in one place into what the queue consumer should do about them.
import { APIConnectionError, APIConnectionTimeoutError, APIError } from "@anthropic-ai/sdk";
import { errorMessage } from "../log";

export type ModelFailure =
  /** Rate limited: retry the delivery after the server's retry-after. */
  | { action: "retry_after"; delaySeconds: number; message: string }
  /** Overloaded, 5xx, timeout, connection: retry with exponential backoff. */
  | { action: "backoff"; message: string }
  /** Bad request, auth, permission, spend limit: no retry will help; dead-letter now. */
  | { action: "dead_letter"; message: string };

const SPEND_LIMIT = /spend|billing|credit balance|quota|usage limit/i;

/** The longest delay a queue retry may ask for (Queues' `delaySeconds` maximum: 12 hours). */
export const MAX_RETRY_DELAY_SECONDS = 43_200;

function retryAfterSeconds(headers: Headers | undefined): number {
  const value = headers?.get("retry-after");
  if (!value) return 30;
  const bounded = (s: number) => Math.min(MAX_RETRY_DELAY_SECONDS, Math.max(1, Math.ceil(s)));
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return bounded(seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? 30 : bounded((date - Date.now()) / 1000);
}

export function classifyModelError(error: unknown): ModelFailure {
  const message = errorMessage(error);
  if (error instanceof APIConnectionTimeoutError || error instanceof APIConnectionError) {
    return { action: "backoff", message: `model API unreachable: ${message}` };
  }
  if (error instanceof APIError) {
    const { status: code, headers } = error as APIError<number | undefined, Headers | undefined>;
    const status = code ?? 0;
    if (status === 429) {
      if (SPEND_LIMIT.test(message)) return { action: "dead_letter", message: `model spend limit: ${message}` };
      return {
        action: "retry_after",
        delaySeconds: retryAfterSeconds(headers),
        message: `rate limited: ${message}`,
      };
    }
    if (status === 529 || status >= 500 || status === 408)
      return { action: "backoff", message: `model API ${status}: ${message}` };
    return { action: "dead_letter", message: `model API ${status}: ${message}` };
  }
  // Not an API error: a bug or an unexpected fault; let the queue's backoff decide.
  return { action: "backoff", message };
}
