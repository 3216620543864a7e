// Settings from the Worker's vars and secrets, parsed once per isolate with zod so a bad deploy
// fails with a clear message instead of a NaN deep in a consumer.
import { z } from "zod";

const seconds = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

const SettingsSchema = z.object({
  WEBHOOK_SECRET: z.string().min(1, "WEBHOOK_SECRET is not set (see .dev.vars.example)"),
  ADMIN_TOKEN: z.string().min(8, "ADMIN_TOKEN is not set or shorter than 8 characters"),
  WEBHOOK_TOLERANCE_SECONDS: seconds(300),
  RETRY_BASE_DELAY_SECONDS: seconds(2),
  RETRY_MAX_DELAY_SECONDS: seconds(300),
  MAX_HOPS: z.coerce.number().int().min(1).default(8),
  MAX_EVENTS_PER_CORRELATION: z.coerce.number().int().min(1).default(1000),
  // The anti-entropy sweep: how old lost work must be before it is repaired (in-flight work is not
  // lost), how far back it looks, and how many repairs of each kind one run makes.
  SWEEP_GRACE_SECONDS: seconds(300),
  SWEEP_LOOKBACK_SECONDS: seconds(86_400),
  SWEEP_LIMIT: z.coerce.number().int().min(1).max(500).default(500),
});
export type Settings = z.infer<typeof SettingsSchema>;

const cache = new WeakMap<object, Settings>();

export function settings(env: Env): Settings {
  let parsed = cache.get(env);
  if (!parsed) {
    const result = SettingsSchema.safeParse(env);
    if (!result.success) {
      throw new Error(
        `invalid configuration: ${result.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join("; ")}`,
      );
    }
    parsed = result.data;
    cache.set(env, parsed);
  }
  return parsed;
}
