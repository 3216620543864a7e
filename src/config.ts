// Settings from the Worker's vars and secrets, validated once per isolate with every problem named
// with its fix. Each setting belongs to the parts that need it, so a wrong read-side setting leaves
// ingest working: a part refuses to run (503 with the reasons) only for its own problems.
import { z } from "zod";
import { resolveModels } from "./models/lineup";
import { SourceSecret } from "./sources/secrets";

/**
 * The parts of agentwire a setting serves; "models" problems dead-letter model-backed runs only, and a
 * source's secret (unset: that source answers 503) stops that source only.
 */
export type Part = "ingest" | "admin" | "runs" | "models" | "archive" | "sources";

const int = (min: number, max: number, fallback: number) =>
  z.coerce
    .number({ error: "is not a number" })
    .int("is not a whole number")
    .min(min, `is below ${min}`)
    .max(max, `is above ${max}`)
    .default(fallback);
const secretFix = (name: string) => `\`wrangler secret put ${name}\` (locally: add it to .dev.vars)`;
const varFix = (name: string, hint: string) => `set ${name} in wrangler.toml [vars] to ${hint}`;

/** whsec_ secrets, space- or comma-separated for rotation: each base64 of 16+ bytes, at most 4. */
const WebhookSecret = z
  .string({ error: "is not set" })
  .trim()
  .min(1, "is not set")
  .refine((v) => v.split(/[\s,]+/).length <= 4, "lists more than 4 secrets")
  .refine(
    (v) =>
      v.split(/[\s,]+/).every((s) => {
        try {
          return atob(s.replace(/^whsec_/, "")).length >= 16;
        } catch {
          return false;
        }
      }),
    "is not whsec_ followed by base64 of 16 or more bytes",
  );

/** A source's secret: unset, that source is off (it answers 503 naming the secret). */
const sourceSecret = (name: string): { schema: z.ZodOptional<typeof SourceSecret>; parts: Part[]; fix: string } => ({
  schema: SourceSecret.optional(),
  parts: ["sources"],
  fix: secretFix(name),
});

const FIELDS = {
  WEBHOOK_SECRET: { schema: WebhookSecret, parts: ["ingest"], fix: secretFix("WEBHOOK_SECRET") },
  ADMIN_TOKEN: {
    schema: z.string({ error: "is not set" }).min(8, "is not set or shorter than 8 characters"),
    // Runs need it too while EVENT_ID_SECRET is unset: derived ids are keyed from it.
    parts: ["admin", "runs"],
    fix: secretFix("ADMIN_TOKEN"),
  },
  EVENT_ID_SECRET: {
    schema: z.string().min(16, "is shorter than 16 characters").optional(),
    parts: ["runs"],
    fix: secretFix("EVENT_ID_SECRET"),
  },
  WEBHOOK_TOLERANCE_SECONDS: {
    schema: int(1, 3600, 300),
    parts: ["ingest"],
    fix: varFix("WEBHOOK_TOLERANCE_SECONDS", "seconds, 1 to 3600"),
  },
  RETRY_BASE_DELAY_SECONDS: {
    schema: int(0, 43_200, 2),
    parts: ["runs"],
    fix: varFix("RETRY_BASE_DELAY_SECONDS", "seconds, 0 to 43200"),
  },
  RETRY_MAX_DELAY_SECONDS: {
    schema: int(0, 43_200, 300),
    parts: ["runs"],
    fix: varFix("RETRY_MAX_DELAY_SECONDS", "seconds, 0 to 43200"),
  },
  MAX_HOPS: { schema: int(1, 100, 16), parts: ["ingest", "runs"], fix: varFix("MAX_HOPS", "a whole number, 1 to 100") },
  MAX_EVENTS_PER_CORRELATION: {
    schema: int(1, 1_000_000, 1000),
    parts: ["ingest", "runs"],
    fix: varFix("MAX_EVENTS_PER_CORRELATION", "a whole number, 1 or more"),
  },
  BUDGET_DAILY_MICROS: {
    schema: int(0, Number.MAX_SAFE_INTEGER, 50_000_000),
    parts: ["runs"],
    fix: varFix("BUDGET_DAILY_MICROS", "micro-dollars, e.g. 50000000 for $50"),
  },
  BUDGET_WORKFLOW_MICROS: {
    schema: int(0, Number.MAX_SAFE_INTEGER, 250_000),
    parts: ["runs"],
    fix: varFix("BUDGET_WORKFLOW_MICROS", "micro-dollars, e.g. 250000 for $0.25"),
  },
  // The anti-entropy sweep: how old lost work must be before it is repaired (in-flight work is not
  // lost), how far back it looks, and how many repairs of each kind one run makes.
  SWEEP_GRACE_SECONDS: { schema: int(0, 86_400, 300), parts: ["runs"], fix: varFix("SWEEP_GRACE_SECONDS", "seconds") },
  SWEEP_LOOKBACK_SECONDS: {
    schema: int(0, 30 * 86_400, 86_400),
    parts: ["runs"],
    fix: varFix("SWEEP_LOOKBACK_SECONDS", "seconds"),
  },
  SWEEP_LIMIT: { schema: int(1, 500, 500), parts: ["runs"], fix: varFix("SWEEP_LIMIT", "1 to 500") },
  // The archive (cron, or POST /v1/archive): events, runs and finished workflows older than the hot
  // window move from D1 to R2; at most ARCHIVE_LIMIT events per run.
  ARCHIVE_AFTER_HOURS: {
    schema: int(1, 87_600, 168),
    parts: ["archive"],
    fix: varFix("ARCHIVE_AFTER_HOURS", "hours, at least SWEEP_LOOKBACK_SECONDS / 3600"),
  },
  ARCHIVE_LIMIT: {
    schema: int(1, 50_000, 20_000),
    parts: ["archive"],
    fix: varFix("ARCHIVE_LIMIT", "events per run, 1 to 50000"),
  },
  // Destinations (src/destinations): what a destination's own definition leaves unset.
  DESTINATION_TIMEOUT_SECONDS: {
    schema: int(1, 30, 10),
    parts: ["runs"],
    fix: varFix("DESTINATION_TIMEOUT_SECONDS", "seconds one delivery attempt may take, 1 to 30"),
  },
  DESTINATION_CIRCUIT_FAILURES: {
    schema: int(1, 1000, 5),
    parts: ["runs"],
    fix: varFix("DESTINATION_CIRCUIT_FAILURES", "consecutive failed attempts that open a circuit, 1 to 1000"),
  },
  DESTINATION_CIRCUIT_COOLDOWN_SECONDS: {
    schema: int(1, 3600, 30),
    parts: ["runs"],
    fix: varFix("DESTINATION_CIRCUIT_COOLDOWN_SECONDS", "seconds an open circuit waits before a probe, 1 to 3600"),
  },
  // Alerts (src/alerts): when agentwire raises `alert.raised` for a person to look.
  ALERT_DEAD_LETTERS: {
    schema: int(1, 1_000_000, 10),
    parts: ["runs"],
    fix: varFix("ALERT_DEAD_LETTERS", "dead letters in an hour that raise an alert, 1 or more"),
  },
  ALERT_APPROVAL_WAIT_SECONDS: {
    schema: int(60, 7 * 86_400, 600),
    parts: ["runs"],
    fix: varFix("ALERT_APPROVAL_WAIT_SECONDS", "seconds a workflow may wait for approval before an alert, 60 or more"),
  },
  // The shipped sources' secrets (agents/sources.ts): optional, each checked here so `npm start` and
  // deploy name a malformed one; at a request each source reads its own (src/sources/secrets.ts).
  GITHUB_WEBHOOK_SECRET: sourceSecret("GITHUB_WEBHOOK_SECRET"),
  STRIPE_WEBHOOK_SECRET: sourceSecret("STRIPE_WEBHOOK_SECRET"),
  SHOPIFY_WEBHOOK_SECRET: sourceSecret("SHOPIFY_WEBHOOK_SECRET"),
} satisfies Record<string, { schema: z.ZodType; parts: Part[]; fix: string }>;

type Fields = typeof FIELDS;
export type Settings = { [K in keyof Fields]: z.output<Fields[K]["schema"]> };

export interface Problem {
  name: string;
  problem: string;
  fix: string;
  parts: Part[];
}

export interface ConfigReport {
  /** Every setting, a valid value or (when wrong) its default, so the unaffected parts can run. */
  settings: Settings;
  problems: Problem[];
  /** Worth knowing, not wrong: a configured model near its end of life. */
  warnings: string[];
}

/** A part asked for its settings while some of them are wrong. */
export class ConfigError extends Error {
  constructor(
    readonly part: Part | "all",
    readonly problems: Problem[],
  ) {
    super(`invalid configuration: ${problems.map((p) => `${p.name} ${p.problem}: ${p.fix}`).join("; ")}`);
    this.name = "ConfigError";
  }
}

/** Validates every setting at once. Pure apart from the clock (model end-of-life dates). */
export function checkConfig(env: Record<string, unknown>, now: Date = new Date()): ConfigReport {
  const problems: Problem[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(FIELDS) as [keyof Fields, Fields[keyof Fields]][]) {
    const raw = env[name] === "" && name !== "WEBHOOK_SECRET" && name !== "ADMIN_TOKEN" ? undefined : env[name];
    const parsed = field.schema.safeParse(raw);
    if (parsed.success) values[name] = parsed.data;
    else {
      const problem = parsed.error.issues[0]?.message ?? "is invalid";
      const shown = typeof raw === "string" ? `${problem} (it is ${JSON.stringify(raw).slice(0, 40)})` : problem;
      const isSecret = name.endsWith("SECRET") || name.endsWith("TOKEN");
      // Runs need ADMIN_TOKEN only to derive the id key, i.e. while EVENT_ID_SECRET is unset.
      const parts =
        name === "ADMIN_TOKEN" && typeof env.EVENT_ID_SECRET === "string" && env.EVENT_ID_SECRET.length >= 16
          ? field.parts.filter((p) => p !== "runs")
          : [...field.parts];
      problems.push({ name, problem: isSecret ? problem : shown, fix: field.fix, parts });
      values[name] = field.schema.safeParse(undefined).data;
    }
  }
  // The archive must never take what the sweep may still repair: the hot window covers its lookback.
  const window = values as Pick<Settings, "ARCHIVE_AFTER_HOURS" | "SWEEP_LOOKBACK_SECONDS">;
  if (window.ARCHIVE_AFTER_HOURS * 3600 < window.SWEEP_LOOKBACK_SECONDS) {
    const hours = Math.ceil(window.SWEEP_LOOKBACK_SECONDS / 3600);
    problems.push({
      name: "ARCHIVE_AFTER_HOURS",
      problem: `is shorter than the sweep's lookback (SWEEP_LOOKBACK_SECONDS, ${hours} h): the archive would take work the sweep may still repair`,
      fix: varFix("ARCHIVE_AFTER_HOURS", `${hours} or more, or lower SWEEP_LOOKBACK_SECONDS`),
      parts: ["archive"],
    });
  }
  const text = (name: string) => (typeof env[name] === "string" ? env[name] : undefined);
  const models = resolveModels(
    {
      TRIAGE_MODEL: text("TRIAGE_MODEL"),
      ESCALATION_MODEL: text("ESCALATION_MODEL"),
      MODEL_PRICES: text("MODEL_PRICES"),
    },
    now,
  );
  if (!models.ok) {
    for (const line of models.problems) {
      const name = /^[A-Z_]+/.exec(line)?.[0] ?? "MODEL";
      problems.push({
        name,
        problem: line.slice(name.length).trim(),
        fix: "see README → Model tiers",
        parts: ["models"],
      });
    }
  }
  return { settings: values as Settings, problems, warnings: models.ok ? models.setup.warnings : [] };
}

const cache = new WeakMap<object, ConfigReport>();

/** The report for this isolate's env, computed once. */
export function configReport(env: Env): ConfigReport {
  let report = cache.get(env);
  if (!report) {
    report = checkConfig(env as unknown as Record<string, unknown>);
    cache.set(env, report);
    for (const p of report.problems)
      console.error({ msg: "config.invalid", setting: p.name, problem: p.problem, fix: p.fix });
  }
  return report;
}

/**
 * The settings, for a part: throws ConfigError when any setting that part needs is wrong (without a
 * part: when any setting is wrong). Ingest asks for "ingest", so a wrong admin setting stops no webhook.
 */
export function settings(env: Env, part?: Exclude<Part, "models">): Settings {
  const report = configReport(env);
  const mine = part ? report.problems.filter((p) => p.parts.includes(part)) : report.problems;
  if (mine.length > 0) throw new ConfigError(part ?? "all", mine);
  return report.settings;
}
