// A destination's delivery as the run consumer sees it: the circuit breaker's gate, one HTTP attempt
// (src/destinations/deliver.ts), then the circuit's count. While the circuit is open nothing calls the
// receiver: the delivery waits out the cooldown in the queue, and after it one delivery probes.
import { raiseAlert } from "../alerts/raise";
import type { Catalog } from "../bus/catalog";
import type { Envelope } from "../bus/envelope";
import { circuitFailed, circuitGate, circuitSucceeded } from "../db/circuits";
import type { Destination, Limits } from "../destinations/define";
import { limitsOf } from "../destinations/limits";
import { settings } from "../config";
import { backoffSeconds } from "../retry";
import { type DeliveryResult, deliver } from "../destinations/deliver";
import { log, logError } from "../log";

/** What the run records of a delivered attempt (its output) — never the URL or a header. */
export interface DeliveryRecord {
  webhookId: string;
  status?: number;
  latencyMs: number;
  excerpt?: string;
  skipped?: string;
}

export type DeliveryOutcome =
  { ok: true; delivery: DeliveryRecord } | { ok: false; message: string; retryable: boolean; delaySeconds?: number };

/** Slack-style URLs hold their secret in the path, so the log names the destination only. */
export async function deliverOne(
  env: Env,
  catalog: Catalog,
  d: Destination,
  event: Envelope,
  attempt: number,
): Promise<DeliveryOutcome> {
  const limits = limitsOf(env, d);
  const gate = await circuitGate(env.DB, d.name, Date.now(), limits.circuitCooldownMs, limits.timeoutMs + 5000);
  if (!gate.pass) {
    const seconds = Math.max(1, Math.ceil(gate.retryInMs / 1000));
    // A wait costs the delivery an attempt: it backs off like any retry, so that a receiver down for
    // an hour spends the queue's 20 attempts over that hour, not over twenty cooldowns.
    const { RETRY_BASE_DELAY_SECONDS: base, RETRY_MAX_DELAY_SECONDS: max } = settings(env, "runs");
    return {
      ok: false,
      message: `circuit open: the receiver was not called; next probe in ${seconds} s`,
      retryable: true,
      delaySeconds: Math.max(seconds, backoffSeconds(attempt, base, max)),
    };
  }
  const result = await deliver(env, d, event, undefined, limits.timeoutMs);
  await count(env, catalog, d, limits, result, gate.probe, gate.dirty).catch((error: unknown) =>
    logError("destination.circuit_unrecorded", { destination: d.name }, error),
  );
  log("destination.delivery", {
    destination: d.name,
    eventId: event.id,
    type: event.type,
    webhookId: result.webhookId,
    status: result.ok ? (result.skipped ? "skipped" : "delivered") : result.retryable ? "failed" : "refused",
    httpStatus: result.status ?? null,
    latencyMs: result.latencyMs,
    ...(gate.probe ? { probe: true } : {}),
    ...(result.ok ? {} : { error: result.message }),
  });
  if (result.ok) {
    const { webhookId, status, latencyMs, excerpt, skipped } = result;
    return {
      ok: true,
      delivery: {
        webhookId,
        latencyMs,
        ...(status === undefined ? {} : { status }),
        ...(excerpt ? { excerpt } : {}),
        ...(skipped ? { skipped } : {}),
      },
    };
  }
  return {
    ok: false,
    message: result.message,
    retryable: result.retryable,
    ...(result.delaySeconds === undefined ? {} : { delaySeconds: result.delaySeconds }),
  };
}

/** The circuit's count: a receiver down counts toward opening it; a delivered attempt resets it. */
async function count(
  env: Env,
  catalog: Catalog,
  d: Destination,
  limits: Limits,
  result: DeliveryResult,
  probe: boolean,
  dirty: boolean,
) {
  if (result.ok) {
    if (result.skipped || !dirty) return;
    const { reset } = await circuitSucceeded(env.DB, d.name, Date.now());
    if (reset && probe) log("destination.circuit", { destination: d.name, status: "closed" });
    return;
  }
  if (!result.receiverDown) return;
  const { opened, failures } = await circuitFailed(env.DB, d.name, Date.now(), limits.circuitFailures, probe);
  if (opened) {
    log("destination.circuit", {
      destination: d.name,
      status: "opened",
      failures,
      cooldownMs: limits.circuitCooldownMs,
    });
    // Not when a probe fails: the circuit was open already, and this window has its alert.
    if (!probe) {
      await raiseAlert(env, catalog, {
        condition: "circuit_opened",
        subject: d.name,
        severity: "critical",
        summary: `destination ${d.name} stopped answering: circuit opened after ${failures} failed attempts`,
        details: { failures, cooldownMs: limits.circuitCooldownMs, error: result.ok ? null : result.message },
      });
    }
  }
}
