import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineCatalog, external, internal } from "../src/bus/catalog";
import { normalize } from "../src/bus/envelope";
import { type Subscriber, matchesPattern, subscribersOf } from "../src/bus/subscriptions";
import { defineRegistry } from "../src/registry";
import { backoffSeconds } from "../src/retry";
import { agentDefiner } from "../src/runtime/define";

const event = (type: string, data: unknown = {}) =>
  normalize({ specversion: "1.0", id: "e1", source: "/t", type, data });

describe("subscription matching", () => {
  it("matches exact types, prefix wildcards and everything", () => {
    expect(matchesPattern("order.placed", "order.placed")).toBe(true);
    expect(matchesPattern("order.placed", "order.placed.v2")).toBe(false);
    expect(matchesPattern("order.*", "order.placed")).toBe(true);
    expect(matchesPattern("order.*", "order.refund.issued")).toBe(true);
    expect(matchesPattern("order.*", "orders.placed")).toBe(false);
    expect(matchesPattern("order.*", "order")).toBe(false);
    expect(matchesPattern("*", "anything.at.all")).toBe(true);
  });

  it("narrows by filter, and a throwing filter excludes only its agent", () => {
    const subs: Subscriber[] = [
      { name: "all-orders", subscribes: ["order.*"] },
      {
        name: "big-orders",
        subscribes: ["order.placed"],
        filter: (e) => (e.data as { amount: number }).amount > 100,
      },
      {
        name: "broken",
        subscribes: ["order.placed"],
        filter: () => {
          throw new Error("bug");
        },
      },
      { name: "payments", subscribes: ["payment.*"] },
    ];
    expect(subscribersOf(subs, event("order.placed", { amount: 500 })).map((s) => s.name)).toEqual([
      "all-orders",
      "big-orders",
    ]);
    expect(subscribersOf(subs, event("order.placed", { amount: 5 })).map((s) => s.name)).toEqual(["all-orders"]);
    expect(subscribersOf(subs, event("payment.settled")).map((s) => s.name)).toEqual(["payments"]);
  });
});

describe("backoff", () => {
  it("doubles per attempt, caps at the max, and jitters within the upper half", () => {
    expect(backoffSeconds(1, 2, 300, () => 0)).toBe(1);
    expect(backoffSeconds(1, 2, 300, () => 1)).toBe(2);
    expect(backoffSeconds(4, 2, 300, () => 1)).toBe(16);
    expect(backoffSeconds(4, 2, 300, () => 0)).toBe(8);
    expect(backoffSeconds(20, 2, 300, () => 1)).toBe(300);
    expect(backoffSeconds(3, 0, 300, () => 0.5)).toBe(0);
  });
});

describe("registry", () => {
  const catalog = defineCatalog({ "a.happened": external(z.object({})), "b.happened": internal(z.object({})) });
  const defineAgent = agentDefiner(catalog);
  const ok = defineAgent({ name: "ok", description: "", subscribes: ["a.*"], emits: ["b.happened"], handle: () => [] });

  it("accepts a sound registry and finds agents by name", () => {
    const registry = defineRegistry({ catalog, agents: [ok] });
    expect(registry.agent("ok")).toBe(ok);
    expect(registry.agent("missing")).toBeUndefined();
  });

  it("refuses duplicate names, bad names, unknown emits and dead subscriptions", () => {
    const bad = { ...ok, name: "Bad_Name", emits: ["c.happened"], subscribes: ["z.*"] };
    expect(() => defineRegistry({ catalog, agents: [ok, ok, bad] })).toThrow(
      /registered twice[\s\S]*not kebab-case[\s\S]*"c.happened", which is not in the catalog[\s\S]*"z.\*", which matches no catalog type/,
    );
  });
});
