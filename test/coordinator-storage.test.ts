// Coordinator storage outlives deploys: state written by the previous release (v1: no version, results
// keyed by id alone, fields added since missing) is migrated forward and read through zod.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { normalize } from "../src/bus/envelope";
import { parseState, prepareStorage, STORAGE_VERSION } from "../src/coordinator/storage";
import { orderPlaced, uniqueId, waitFor } from "./support/helpers";

const result = (orderId: string, type: string, source: string, data: unknown) =>
  normalize({ specversion: "1.0", id: uniqueId(type), source, type, data, correlationid: orderId, hopcount: 1 });

// The order workflow's three results, as its agents publish them.
const fraudAssessed = (orderId: string) =>
  result(orderId, "fraud.assessed", "/agentwire/agents/fraud-screen", { orderId, risk: "low", score: 5, reasons: [] });
const inventoryReserved = (orderId: string) =>
  result(orderId, "inventory.reserved", "/agentwire/agents/inventory", {
    orderId,
    reservationId: orderId,
    items: [{ sku: "SKU-1", qty: 1 }],
  });
const shippingQuoted = (orderId: string) =>
  result(orderId, "shipping.quoted", "/agentwire/agents/shipping-quote", {
    orderId,
    carrier: "UPS",
    costCents: 649,
    etaDays: 3,
  });

describe("coordinator storage", () => {
  it("migrates a v1 store forward: results re-keyed by (source, id), states parsed with defaults", async () => {
    const orderId = uniqueId("ord");
    const placed = normalize(orderPlaced(orderId));
    const fraud = fraudAssessed(orderId);
    const now = Date.now();
    // The previous release's shape: no `late`, no traceparent, observed keyed by the id alone.
    const v1State = {
      workflow: "order",
      id: orderId,
      status: "running",
      version: 2,
      start: { id: placed.id, type: placed.type, source: placed.source, data: placed.data, hopcount: 0 },
      results: [{ id: fraud.id, type: fraud.type, source: fraud.source, data: fraud.data, hopcount: 1 }],
      startedAt: now,
      deadlineAt: now + 30_000,
    };
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName(orderId));
    await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec("DROP TABLE meta");
      for (const e of [placed, fraud]) {
        sql.exec(
          "INSERT INTO observed (event_id, type, envelope, observed_at) VALUES (?, ?, ?, ?)",
          e.id,
          e.type,
          JSON.stringify(e),
          now,
        );
      }
      sql.exec("INSERT INTO instances (workflow, state) VALUES ('order', ?)", JSON.stringify(v1State));

      prepareStorage(state.storage); // what the next deploy's constructor does

      expect(sql.exec("SELECT value FROM meta WHERE key = 'schema_version'").one().value).toBe(String(STORAGE_VERSION));
      const keys = sql.exec<{ event_id: string }>("SELECT event_id FROM observed ORDER BY seq").toArray();
      expect(keys.map((k) => k.event_id)).toEqual([`${placed.source} ${placed.id}`, `${fraud.source} ${fraud.id}`]);
      const stored = sql.exec<{ state: string }>("SELECT state FROM instances").one().state;
      expect(parseState(stored)).toMatchObject({ workflow: "order", late: [], results: [{ id: fraud.id }] });
      prepareStorage(state.storage); // idempotent
    });

    // The old result delivered again is recognised; the other two complete the order.
    const again = await stub.observe([fraud]);
    expect(again).toBe(0);
    await stub.observe([inventoryReserved(orderId), shippingQuoted(orderId)]);
    const instances = stub.instances() as unknown as Promise<{ status: string; results: unknown[] }[]>;
    const [instance] = await instances;
    expect(instance).toMatchObject({ status: "completed" });
    expect(instance?.results).toHaveLength(3);
    await waitFor(() =>
      env.DB.prepare("SELECT 1 AS one FROM workflows WHERE id = ? AND status = 'completed'").bind(orderId).first(),
    );
  });

  it("creates a new object's schema at the current version, and writes an instance once per call however many results it joins", async () => {
    const orderId = uniqueId("ord");
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName(orderId));
    expect(await stub.observe([normalize(orderPlaced(orderId))])).toBe(1);
    // The three results in one call, as a tasks batch hands them over.
    expect(await stub.observe([fraudAssessed(orderId), inventoryReserved(orderId), shippingQuoted(orderId)])).toBe(3);
    await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      expect(sql.exec("SELECT value FROM meta WHERE key = 'schema_version'").one().value).toBe(String(STORAGE_VERSION));
      // Outbox rows ever written (AUTOINCREMENT's counter): the start's record, then one record and
      // the outcome event for the call that joined three results (not a record per result).
      expect(sql.exec("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").one().seq).toBe(3);
      expect(sql.exec("SELECT COUNT(*) AS n FROM outbox").one().n).toBe(0);
      expect(parseState(sql.exec<{ state: string }>("SELECT state FROM instances").one().state)).toMatchObject({
        status: "completed",
        version: 5,
      });
      prepareStorage(state.storage); // a current object: nothing to do
      expect(sql.exec("SELECT COUNT(*) AS n FROM observed").one().n).toBe(4);
    });
    await waitFor(() =>
      env.DB.prepare("SELECT 1 AS one FROM workflows WHERE id = ? AND status = 'completed'").bind(orderId).first(),
    );
  });

  it("refuses a stored state that no longer parses, rather than acting on it", () => {
    expect(() => parseState(JSON.stringify({ workflow: "order", status: "exploded" }))).toThrow();
  });
});
