// Secrets that are optional, so `wrangler types` (which reads .dev.vars) cannot know about them.
declare namespace Cloudflare {
  interface Env {
    /** Unset: the deterministic local model answers for every model-backed agent. */
    ANTHROPIC_API_KEY?: string;
    /** Key for the ids agentwire derives. Unset: derived from ADMIN_TOKEN (see src/bus/publish.ts). */
    EVENT_ID_SECRET?: string;
  }
}
