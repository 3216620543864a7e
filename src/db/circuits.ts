// Destination circuit breakers in D1: one row per destination that has ever failed. Closed lets every
// delivery through; `failures` consecutive failed attempts open it; while open nothing calls the
// receiver, and after the cooldown exactly one delivery claims the probe (an atomic UPDATE): its
// success closes the circuit, its failure opens it again for another cooldown.
import { z } from "zod";

/** `dirty`: failures are counted, so a success has something to reset. */
export type Gate = { pass: true; probe: boolean; dirty: boolean } | { pass: false; retryInMs: number };

const Row = z.object({
  state: z.enum(["closed", "open"]),
  failures: z.number(),
  opened_at: z.number().nullable(),
  probe_at: z.number().nullable(),
});

/**
 * Whether a delivery may call the receiver now. `probeLeaseMs` is how long a claimed probe keeps
 * others out (its timeout): a probe that died unanswered is taken over after it.
 */
export async function circuitGate(
  db: D1Database,
  destination: string,
  now: number,
  cooldownMs: number,
  probeLeaseMs: number,
): Promise<Gate> {
  const row = await db
    .prepare("SELECT state, failures, opened_at, probe_at FROM destination_circuits WHERE destination = ?")
    .bind(destination)
    .first();
  if (row === null) return { pass: true, probe: false, dirty: false };
  const c = Row.parse(row);
  if (c.state === "closed") return { pass: true, probe: false, dirty: c.failures > 0 };
  const reopensAt = (c.opened_at ?? 0) + cooldownMs;
  if (now < reopensAt) return { pass: false, retryInMs: reopensAt - now };
  const claimed = await db
    .prepare(
      `UPDATE destination_circuits SET probe_at = ?2
        WHERE destination = ?1 AND state = 'open' AND opened_at <= ?2 - ?3 AND (probe_at IS NULL OR probe_at <= ?2 - ?4)
        RETURNING destination`,
    )
    .bind(destination, now, cooldownMs, probeLeaseMs)
    .first();
  return claimed ? { pass: true, probe: true, dirty: true } : { pass: false, retryInMs: probeLeaseMs };
}

/** A failed attempt with the receiver down: counts, and opens (or re-opens) the circuit at the threshold. */
export async function circuitFailed(
  db: D1Database,
  destination: string,
  now: number,
  threshold: number,
  probe: boolean,
): Promise<{ opened: boolean; failures: number }> {
  const row = await db
    .prepare(
      `INSERT INTO destination_circuits (destination, state, failures, opened_at, probe_at, changed_at)
       VALUES (?1, CASE WHEN ?3 <= 1 THEN 'open' ELSE 'closed' END, 1, CASE WHEN ?3 <= 1 THEN ?2 END, NULL, ?2)
       ON CONFLICT (destination) DO UPDATE SET
         failures = failures + 1,
         state = CASE WHEN ?4 OR state = 'open' OR failures + 1 >= ?3 THEN 'open' ELSE 'closed' END,
         opened_at = CASE WHEN ?4 OR (state = 'closed' AND failures + 1 >= ?3) THEN ?2 ELSE opened_at END,
         probe_at = CASE WHEN ?4 THEN NULL ELSE probe_at END,
         changed_at = ?2
       RETURNING state, failures, opened_at`,
    )
    .bind(destination, now, threshold, probe ? 1 : 0)
    .first<{ state: string; failures: number; opened_at: number | null }>();
  const opened = row?.state === "open" && row.opened_at === now;
  return { opened, failures: row?.failures ?? 0 };
}

/** A delivered attempt: closes the circuit and forgets the failures; writes nothing when already clean. */
export async function circuitSucceeded(db: D1Database, destination: string, now: number): Promise<{ reset: boolean }> {
  const row = await db
    .prepare(
      `UPDATE destination_circuits SET state = 'closed', failures = 0, opened_at = NULL, probe_at = NULL, changed_at = ?2
        WHERE destination = ?1 AND (failures > 0 OR state = 'open')
        RETURNING (SELECT 1) AS changed`,
    )
    .bind(destination, now)
    .first();
  return { reset: row !== null };
}

export interface CircuitRow {
  destination: string;
  state: "closed" | "open";
  failures: number;
  openedAt: number | null;
  changedAt: number;
}

/** Every destination's circuit, for the read API and the console. */
export async function circuits(db: D1Database): Promise<Map<string, CircuitRow>> {
  const { results } = await db
    .prepare("SELECT destination, state, failures, opened_at, changed_at FROM destination_circuits")
    .all<{
      destination: string;
      state: "closed" | "open";
      failures: number;
      opened_at: number | null;
      changed_at: number;
    }>();
  return new Map(
    results.map((r) => [
      r.destination,
      {
        destination: r.destination,
        state: r.state,
        failures: r.failures,
        openedAt: r.opened_at,
        changedAt: r.changed_at,
      },
    ]),
  );
}

/** Which agents and destinations are paused, by name. */
export async function pausedNames(db: D1Database): Promise<Set<string>> {
  const { results } = await db.prepare("SELECT agent FROM agent_state WHERE paused = 1").all<{ agent: string }>();
  return new Set(results.map((r) => r.agent));
}
