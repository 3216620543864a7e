// BudgetLedger: the strongly consistent record of model spend, one Durable Object for the account.
// A daily cap and a per-workflow cap; escalations reserve their worst case first, then settle.
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";

/** Storage version: v1 is spend and reservations; bump and migrate in the constructor when they change. */
const LEDGER_VERSION = 1;
const MicrosRow = z.object({ micros: z.number().int() });
const SumRow = z.object({ n: z.number().int().nullable() });

/** A reservation never settled (its worker died) stops counting after this long. */
const RESERVATION_TTL_MS = 10 * 60_000;

// An empty var means the default, as in src/config.ts (not 0, which would refuse every escalation).
const emptyIsUnset = (v: unknown) => (v === "" ? undefined : v);
const Caps = z.object({
  BUDGET_DAILY_MICROS: z.preprocess(emptyIsUnset, z.coerce.number().int().nonnegative().default(50_000_000)),
  BUDGET_WORKFLOW_MICROS: z.preprocess(emptyIsUnset, z.coerce.number().int().nonnegative().default(250_000)),
});

const ReserveInput = z.object({ workflowId: z.string().min(1), micros: z.number().int().nonnegative() });
const SettleInput = z.object({ token: z.string().min(1), micros: z.number().int().nonnegative() });

export type ReserveAnswer = { ok: true; token: string } | { ok: false; reason: string };

const today = (now: number) => new Date(now).toISOString().slice(0, 10);

export class BudgetLedger extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS spend (scope TEXT PRIMARY KEY, micros INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS reservations (
        token TEXT PRIMARY KEY, day TEXT NOT NULL, workflow_id TEXT NOT NULL, micros INTEGER NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`);
    // Spend outlives deploys (a day's budget): the storage has a version to migrate forward from.
    this.sql.exec(
      "INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      String(LEDGER_VERSION),
    );
  }

  private caps() {
    return Caps.parse(this.env);
  }

  private spent(scope: string): number {
    const row = this.sql.exec("SELECT micros FROM spend WHERE scope = ?", scope).toArray()[0];
    return row ? MicrosRow.parse(row).micros : 0;
  }

  private reserved(column: "day" | "workflow_id", value: string, now: number): number {
    const row = this.sql
      .exec(
        `SELECT SUM(micros) AS n FROM reservations WHERE ${column} = ? AND created_at > ?`,
        value,
        now - RESERVATION_TTL_MS,
      )
      .toArray()[0];
    return SumRow.parse(row ?? { n: null }).n ?? 0;
  }

  private add(scope: string, micros: number): void {
    this.sql.exec(
      "INSERT INTO spend (scope, micros) VALUES (?, ?) ON CONFLICT (scope) DO UPDATE SET micros = micros + excluded.micros",
      scope,
      micros,
    );
  }

  /** Reserves `micros` against both caps, or refuses. Check and reserve are one synchronous step. */
  reserve(input: z.input<typeof ReserveInput>): ReserveAnswer {
    const { workflowId, micros } = ReserveInput.parse(input);
    const now = Date.now();
    const day = today(now);
    const caps = this.caps();
    const dayTotal = this.spent(`day:${day}`) + this.reserved("day", day, now) + micros;
    if (dayTotal > caps.BUDGET_DAILY_MICROS)
      return { ok: false, reason: `daily budget of ${caps.BUDGET_DAILY_MICROS} µ$ reached` };
    const wfTotal = this.spent(`workflow:${workflowId}`) + this.reserved("workflow_id", workflowId, now) + micros;
    if (wfTotal > caps.BUDGET_WORKFLOW_MICROS) {
      return { ok: false, reason: `workflow budget of ${caps.BUDGET_WORKFLOW_MICROS} µ$ reached` };
    }
    const token = crypto.randomUUID();
    this.sql.exec("INSERT INTO reservations VALUES (?, ?, ?, ?, ?)", token, day, workflowId, micros, now);
    return { ok: true, token };
  }

  /** Replaces a reservation with the actual cost. Settling twice counts once. */
  settle(input: z.input<typeof SettleInput>): void {
    const { token, micros } = SettleInput.parse(input);
    this.ctx.storage.transactionSync(() => {
      const row = this.sql
        .exec<{ day: string; workflow_id: string }>("SELECT day, workflow_id FROM reservations WHERE token = ?", token)
        .toArray()[0];
      if (!row) return;
      this.sql.exec("DELETE FROM reservations WHERE token = ?", token);
      this.add(`day:${row.day}`, micros);
      this.add(`workflow:${row.workflow_id}`, micros);
    });
  }

  /** Records spend that needed no permission (a triage call). */
  charge(input: z.input<typeof ReserveInput>): void {
    const { workflowId, micros } = ReserveInput.parse(input);
    this.ctx.storage.transactionSync(() => {
      this.add(`day:${today(Date.now())}`, micros);
      this.add(`workflow:${workflowId}`, micros);
    });
  }

  status(workflowId?: string) {
    const now = Date.now();
    const caps = this.caps();
    return {
      day: today(now),
      dailySpentMicros: this.spent(`day:${today(now)}`),
      dailyReservedMicros: this.reserved("day", today(now), now),
      dailyCapMicros: caps.BUDGET_DAILY_MICROS,
      workflowCapMicros: caps.BUDGET_WORKFLOW_MICROS,
      ...(workflowId ? { workflowSpentMicros: this.spent(`workflow:${workflowId}`) } : {}),
    };
  }
}

/** The ledger as the tier policy's budget port. */
export function ledgerBudget(namespace: DurableObjectNamespace<BudgetLedger>) {
  const ledger = () => namespace.get(namespace.idFromName("ledger"));
  return {
    reserve: (workflowId: string, micros: number) => ledger().reserve({ workflowId, micros }),
    settle: (token: string, micros: number) => ledger().settle({ token, micros }),
    charge: (workflowId: string, micros: number) => ledger().charge({ workflowId, micros }),
  };
}
