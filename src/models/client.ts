// The Anthropic client: the only place that constructs one. Options, each with the SDK's default:
// apiKey (ANTHROPIC_API_KEY), baseURL (https://api.anthropic.com; ANTHROPIC_BASE_URL for AI
// Gateway or tests), maxRetries (2; 0 here: the queue's delayed retry honours retry-after instead),
// timeout (10 min; 60 s here, within a queue consumer's wall time), fetch (global fetch; injectable).
import Anthropic from "@anthropic-ai/sdk";

export interface ModelEnv {
  ANTHROPIC_API_KEY?: string;
  ANTHROPIC_BASE_URL?: string;
}

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

let injectedFetch: Fetch | undefined;

/** Routes every model call through `fetch` (the tests' and benchmark's fake Messages API). */
export function setModelFetch(fetch: Fetch | undefined): void {
  injectedFetch = fetch;
}

export const MODEL_TIMEOUT_MS = 60_000;

/** A client, or null when no key is set: the deterministic local model stands in. */
export function modelClient(env: ModelEnv): Anthropic | null {
  const apiKey = env.ANTHROPIC_API_KEY?.trim();
  if (!apiKey) return null;
  return new Anthropic({
    apiKey,
    ...(env.ANTHROPIC_BASE_URL ? { baseURL: env.ANTHROPIC_BASE_URL } : {}),
    maxRetries: 0,
    timeout: MODEL_TIMEOUT_MS,
    ...(injectedFetch ? { fetch: injectedFetch } : {}),
  });
}

export type { Anthropic };
