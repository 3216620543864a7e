// A destination's limits: its own definition's, else the deployment's DESTINATION_* settings.
import { settings } from "../config";
import type { Destination, Limits } from "./define";

/** A destination's own limits, else the deployment's DESTINATION_* settings. */
export function limitsOf(env: Env, d: Destination): Limits {
  const s = settings(env, "runs");
  return {
    timeoutMs: d.timeoutMs ?? s.DESTINATION_TIMEOUT_SECONDS * 1000,
    circuitFailures: d.circuitFailures ?? s.DESTINATION_CIRCUIT_FAILURES,
    circuitCooldownMs: d.circuitCooldownMs ?? s.DESTINATION_CIRCUIT_COOLDOWN_SECONDS * 1000,
  };
}
