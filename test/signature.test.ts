import { describe, expect, it } from "vitest";
import { parseSecrets, sign, verify } from "../src/ingest/signature";

const enc = new TextEncoder();
// The Standard Webhooks specification's own test vector.
const VECTOR = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};
const headers = (signature: string, timestamp = VECTOR.timestamp) => ({
  id: VECTOR.id,
  timestamp: String(timestamp),
  signature,
});
const check = (signature: string, opts: { now?: number; payload?: string; secrets?: string } = {}) =>
  verify(
    parseSecrets(opts.secrets ?? VECTOR.secret),
    headers(signature),
    enc.encode(opts.payload ?? VECTOR.payload),
    300,
    opts.now ?? VECTOR.timestamp,
  );

describe("Standard Webhooks signatures", () => {
  it("signs the specification's test vector", async () => {
    expect(await sign(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.payload)).toBe(VECTOR.signature);
  });

  it("verifies the specification's test vector", async () => {
    expect(await check(VECTOR.signature)).toMatchObject({ ok: true });
  });

  it("accepts any one of several signatures (sender-side rotation)", async () => {
    const other = await sign(
      "whsec_" + btoa("an old secret, since rotated"),
      VECTOR.id,
      VECTOR.timestamp,
      VECTOR.payload,
    );
    expect(await check(`${other} ${VECTOR.signature}`)).toMatchObject({ ok: true });
    expect(await check(`v2,abc ${VECTOR.signature}`)).toMatchObject({ ok: true });
  });

  it("accepts a signature by any configured secret (receiver-side rotation)", async () => {
    const secrets = `whsec_${btoa("the new secret")} ${VECTOR.secret}`;
    expect(await check(VECTOR.signature, { secrets })).toMatchObject({ ok: true });
  });

  it("rejects a tampered body", async () => {
    expect(await check(VECTOR.signature, { payload: '{"test": 2432232315}' })).toMatchObject({ ok: false });
  });

  it("rejects a signature by another secret", async () => {
    const forged = await sign("whsec_" + btoa("not the secret"), VECTOR.id, VECTOR.timestamp, VECTOR.payload);
    expect(await check(forged)).toEqual({ ok: false, reason: "no signature matches" });
  });

  it("rejects timestamps more than five minutes old or ahead, and accepts the edges", async () => {
    expect(await check(VECTOR.signature, { now: VECTOR.timestamp + 301 })).toEqual({
      ok: false,
      reason: "webhook-timestamp is too old",
    });
    expect(await check(VECTOR.signature, { now: VECTOR.timestamp - 301 })).toEqual({
      ok: false,
      reason: "webhook-timestamp is in the future",
    });
    expect(await check(VECTOR.signature, { now: VECTOR.timestamp + 300 })).toMatchObject({ ok: true });
    expect(await check(VECTOR.signature, { now: VECTOR.timestamp - 300 })).toMatchObject({ ok: true });
  });

  it("rejects malformed signature headers", async () => {
    for (const bad of ["", "v1,", "v1,!!!notbase64", "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "v1g0hM9"]) {
      expect((await check(bad)).ok).toBe(false);
    }
    const noId = await verify(
      parseSecrets(VECTOR.secret),
      { ...headers(VECTOR.signature), id: null },
      enc.encode(VECTOR.payload),
      300,
      VECTOR.timestamp,
    );
    expect(noId.ok).toBe(false);
  });
});
