// Each source scheme against a fixed test vector: GitHub's own documented one, and Stripe's and
// Shopify's computed from their documented algorithms with OpenSSL and Python's hmac (two
// implementations independent of the code under test; the commands are next to each vector).
import { describe, expect, it } from "vitest";
import { VerifySchema } from "../src/sources/define";
import { verifyScheme } from "../src/sources/schemes";
import { keysOf } from "../src/sources/secrets";

const enc = new TextEncoder();
const key = (text: string) => new Uint8Array(enc.encode(text));
const verifyOf = (input: unknown) => VerifySchema.parse(input);

/**
 * GitHub's documentation ("Validating webhook deliveries"): secret "It's a Secret to Everybody",
 * payload "Hello, World!". Reproduced with
 *   printf %s 'Hello, World!' | openssl dgst -sha256 -hmac "It's a Secret to Everybody"
 */
const GITHUB = {
  secret: "It's a Secret to Everybody",
  payload: "Hello, World!",
  signature: "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
};

/**
 * Stripe ("Verify signatures manually"): v1 = hex HMAC-SHA256, keyed with the whole endpoint secret
 * (`whsec_…` as text), of `${t}.${payload}`. t is the timestamp of the docs' example header.
 *   printf %s "1492774577.$PAYLOAD" | openssl dgst -sha256 -hmac whsec_test_secret
 *   python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_test_secret", b"1492774577." + PAYLOAD, hashlib.sha256).hexdigest())'
 */
const STRIPE = {
  secret: "whsec_test_secret",
  t: 1492774577,
  payload: '{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","type":"charge.dispute.created"}',
  v1: "b18413d63a4b838ad2c858b928e54db16c391b23a47b231173aea63c000923dd",
};

/**
 * Shopify ("Verify a webhook"): base64 of the HMAC-SHA256 of the raw body, keyed with the app's
 * client secret as text.
 *   printf %s "$PAYLOAD" | openssl dgst -sha256 -hmac shpss_0123456789abcdef0123456789abcdef -binary | base64
 */
const SHOPIFY = {
  secret: "shpss_0123456789abcdef0123456789abcdef",
  payload: '{"id":450789469,"name":"#1001","total_price":"129.50"}',
  hmac: "4hT6GKwtms7IO41KZS9rXLeHVkirryy0X11Lnyn7JSQ=",
};

describe("GitHub X-Hub-Signature-256", () => {
  const github = verifyOf({ scheme: "github", secret: "GITHUB_WEBHOOK_SECRET" });
  const check = (signature: string, payload = GITHUB.payload, keys = [key(GITHUB.secret)]) =>
    verifyScheme(github, keys, new Headers({ "x-hub-signature-256": signature }), enc.encode(payload));

  it("verifies the documented vector", async () => {
    expect(await check(GITHUB.signature)).toEqual({ ok: true, keyIndex: 0 });
    expect(await check(GITHUB.signature.toUpperCase().replace("SHA256=", "sha256="))).toMatchObject({ ok: true });
  });

  it("refuses a tampered payload, another secret, a missing or malformed header", async () => {
    expect(await check(GITHUB.signature, "Hello, World?")).toMatchObject({ ok: false });
    expect(await check(GITHUB.signature, GITHUB.payload, [key("It's a Secret to Nobody")])).toMatchObject({
      ok: false,
    });
    expect(await check("")).toMatchObject({ ok: false, reason: "missing X-Hub-Signature-256 header" });
    expect(await check(GITHUB.signature.replace("sha256=", "sha1="))).toMatchObject({ ok: false });
    expect(await check(GITHUB.signature.slice(0, -2))).toMatchObject({ ok: false });
  });

  it("accepts any configured key, and says which (a rotation in progress)", async () => {
    expect(
      await check(GITHUB.signature, GITHUB.payload, [key("the-new-secret-0123456789"), key(GITHUB.secret)]),
    ).toEqual({
      ok: true,
      keyIndex: 1,
    });
  });
});

describe("Stripe-Signature", () => {
  const stripe = verifyOf({ scheme: "stripe", secret: "STRIPE_WEBHOOK_SECRET" });
  const check = (header: string, opts: { now?: number; payload?: string; secrets?: string } = {}) =>
    verifyScheme(
      stripe,
      keysOf("stripe", opts.secrets ?? STRIPE.secret),
      new Headers({ "stripe-signature": header }),
      enc.encode(opts.payload ?? STRIPE.payload),
      opts.now ?? STRIPE.t,
    );
  const header = `t=${STRIPE.t},v1=${STRIPE.v1}`;

  it("verifies the computed vector, keyed with the whole whsec_ secret", async () => {
    expect(stripe).toMatchObject({ toleranceSeconds: 300 });
    expect(await check(header)).toEqual({ ok: true, keyIndex: 0, timestamp: STRIPE.t });
    // Stripe's own example header shape: several schemes, unknown ones (v0) ignored.
    expect(await check(`t=${STRIPE.t},v1=${"0".repeat(64)},v1=${STRIPE.v1},v0=6ffbb59b2300aae63f27`)).toMatchObject({
      ok: true,
    });
  });

  it("refuses a timestamp outside the tolerance, either way, and a signature over another timestamp", async () => {
    expect(await check(header, { now: STRIPE.t + 300 })).toMatchObject({ ok: true });
    expect(await check(header, { now: STRIPE.t + 301 })).toMatchObject({
      ok: false,
      reason: "Stripe-Signature timestamp is too old",
    });
    expect(await check(header, { now: STRIPE.t - 301 })).toMatchObject({
      ok: false,
      reason: "Stripe-Signature timestamp is in the future",
    });
    expect(await check(`t=${STRIPE.t + 1},v1=${STRIPE.v1}`)).toMatchObject({
      ok: false,
      reason: "no signature matches",
    });
  });

  it("refuses a tampered payload, another secret, and malformed headers", async () => {
    expect(await check(header, { payload: STRIPE.payload.replace("dispute", "refund") })).toMatchObject({ ok: false });
    expect(await check(header, { secrets: "whsec_another_secret_0123" })).toMatchObject({ ok: false });
    for (const bad of [
      `v1=${STRIPE.v1}`,
      `t=${STRIPE.t}`,
      `t=abc,v1=${STRIPE.v1}`,
      `t=1,t=2,v1=${STRIPE.v1}`,
      `t=${STRIPE.t},v0=${STRIPE.v1}`,
    ]) {
      expect(await check(bad), bad).toMatchObject({ ok: false });
    }
    const many = Array.from({ length: 9 }, () => `v1=${STRIPE.v1}`).join(",");
    expect(await check(`t=${STRIPE.t},${many}`)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("more than 8"),
    });
  });

  it("accepts the old secret while it is still configured (rotation)", async () => {
    expect(await check(header, { secrets: `whsec_the_new_one_0123456789, ${STRIPE.secret}` })).toMatchObject({
      ok: true,
      keyIndex: 1,
    });
  });
});

describe("Shopify X-Shopify-Hmac-Sha256", () => {
  const shopify = verifyOf({ scheme: "shopify", secret: "SHOPIFY_WEBHOOK_SECRET" });
  const check = (hmac: string, payload = SHOPIFY.payload, secrets = SHOPIFY.secret) =>
    verifyScheme(
      shopify,
      keysOf("shopify", secrets),
      new Headers({ "x-shopify-hmac-sha256": hmac }),
      enc.encode(payload),
    );

  it("verifies the computed vector", async () => {
    expect(await check(SHOPIFY.hmac)).toEqual({ ok: true, keyIndex: 0 });
  });

  it("refuses a tampered payload, another secret, hex instead of base64, and no header", async () => {
    expect(await check(SHOPIFY.hmac, SHOPIFY.payload.replace("129.50", "1.50"))).toMatchObject({ ok: false });
    expect(await check(SHOPIFY.hmac, SHOPIFY.payload, "shpss_another_secret_0123456789")).toMatchObject({ ok: false });
    expect(await check("e214fa18ac2d9acec83b8d4a652f6b5cb7875648abaf2cb45f5d4b9f29fb2524")).toMatchObject({
      ok: false,
    });
    expect(await check("")).toMatchObject({ ok: false, reason: "missing X-Shopify-Hmac-Sha256 header" });
  });

  it("accepts either of two configured secrets", async () => {
    expect(await check(SHOPIFY.hmac, SHOPIFY.payload, `shpss_the_new_one_0123456789 ${SHOPIFY.secret}`)).toMatchObject({
      ok: true,
      keyIndex: 1,
    });
  });
});

describe("Standard Webhooks and bearer sources", () => {
  // The Standard Webhooks specification's own vector (also in test/signature.test.ts).
  const standard = verifyOf({ scheme: "standard-webhooks", secret: "X" });
  const headers = new Headers({
    "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "webhook-timestamp": "1614265330",
    "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
  });
  const payload = enc.encode('{"test": 2432232314}');

  it("verifies the specification's vector with either of two secrets, and refuses it stale", async () => {
    const keys = keysOf("standard-webhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    expect(await verifyScheme(standard, keys, headers, payload, 1614265330)).toEqual({
      ok: true,
      keyIndex: 0,
      timestamp: 1614265330,
    });
    const rotated = keysOf(
      "standard-webhooks",
      `whsec_${btoa("a newer secret, 16+ bytes")} whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`,
    );
    expect(await verifyScheme(standard, rotated, headers, payload, 1614265330)).toMatchObject({
      ok: true,
      keyIndex: 1,
    });
    expect(await verifyScheme(standard, keys, headers, payload, 1614265330 + 301)).toMatchObject({ ok: false });
  });

  it("compares a bearer token whatever its length, and accepts either configured token", async () => {
    const bearer = verifyOf({ scheme: "bearer", secret: "X" });
    const keys = keysOf("bearer", "token-new-0123456789,token-old-0123456789");
    const auth = (value: string) => new Headers({ authorization: value });
    expect(await verifyScheme(bearer, keys, auth("Bearer token-old-0123456789"), payload)).toEqual({
      ok: true,
      keyIndex: 1,
    });
    for (const bad of [
      "Bearer token-new",
      "Bearer token-new-01234567890",
      "Basic dG9rZW4=",
      "token-new-0123456789",
      "",
    ]) {
      expect(await verifyScheme(bearer, keys, auth(bad), payload), bad).toMatchObject({ ok: false });
    }
  });
});
