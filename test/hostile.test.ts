// A corpus of malformed and hostile requests: each must get the right 4xx status and error code,
// never a 5xx, and must write nothing to D1 (checked after the queue consumers had time to run).
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN,
  call,
  orderData,
  orderPlaced,
  SECRET,
  type SignOptions,
  signedRequest,
  uniqueId,
} from "./support/helpers";

const STRUCTURED = "application/cloudevents+json";
const BATCH = "application/cloudevents-batch+json";
const BASE = "https://agentwire.test";
const ADMIN_TOKEN = ADMIN.authorization.slice("Bearer ".length);

/** Lets the queue consumers run, so "nothing was written" is checked after they had the chance. */
const settle = () => new Promise((r) => setTimeout(r, 300));
const now = () => Math.floor(Date.now() / 1000);
/**
 * Waits for the start of the next second and returns it. Timestamps are whole seconds: "301 s in the
 * future", taken late in a second, is only 300 s ahead if the request arrives in the next one.
 */
async function secondStart(): Promise<number> {
  await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
  return now();
}

/** Every table a request could end up writing to, counted in one round trip. */
async function snapshot(): Promise<Record<string, number>> {
  const row = await env.DB.prepare(
    `SELECT (SELECT COUNT(*) FROM events) AS events,
            (SELECT COUNT(*) FROM deliveries) AS deliveries,
            (SELECT COUNT(*) FROM agent_runs) AS agent_runs,
            (SELECT COUNT(*) FROM dead_letters) AS dead_letters,
            (SELECT COUNT(*) FROM parked_events) AS parked_events,
            (SELECT COUNT(*) FROM agent_state) AS agent_state,
            (SELECT COUNT(*) FROM workflows) AS workflows`,
  ).first<Record<string, number>>();
  return row ?? {};
}

/** Event and correlation ids of every event the corpus built, to look for each one in D1. */
const sentKeys = new Set<string>();
const track = (id: string) => (sentKeys.add(id), id);

/** A valid order.placed event with attribute and data overrides (undefined removes a key). */
function order(attributes: Record<string, unknown> = {}, data: Record<string, unknown> = {}) {
  const event: Record<string, unknown> = { ...orderPlaced(undefined, data), ...attributes };
  for (const key of [event.id, event.correlationid]) if (typeof key === "string" && key.length <= 256) track(key);
  return event;
}

async function send(body: string | Uint8Array, opts: SignOptions = {}): Promise<Response> {
  return call(await signedRequest(body, opts));
}
const structured = (event: unknown, opts: SignOptions = {}) => send(JSON.stringify(event), opts);
const batch = (body: unknown) => send(typeof body === "string" ? body : JSON.stringify(body), { contentType: BATCH });

/** Binary mode: the data in the body, the attributes in ce-* headers (overridable, "" kept as empty). */
function binary(ce: Record<string, string>, body: string | Uint8Array = JSON.stringify(orderData("ord-bin"))) {
  const { contentType = "application/json", ...rest } = ce;
  return send(body, {
    contentType,
    headers: {
      "ce-specversion": "1.0",
      "ce-id": track(uniqueId("evt-bin")),
      "ce-source": "/shop/checkout",
      "ce-type": "order.placed",
      ...rest,
    },
  });
}

/** A correctly signed request with one header removed after signing. */
async function withoutHeader(name: string): Promise<Response> {
  const request = await signedRequest(JSON.stringify(order()));
  request.headers.delete(name);
  expect(request.headers.has(name)).toBe(false);
  return call(request);
}

/** The signature of one body (or webhook id), sent with another. */
async function mismatched(opts: { body?: string; webhookId?: string }): Promise<Response> {
  const event = order();
  const signed = await signedRequest(JSON.stringify(event));
  const headers = new Headers(signed.headers);
  if (opts.webhookId !== undefined) headers.set("webhook-id", opts.webhookId);
  return call(new Request(signed.url, { method: "POST", headers, body: opts.body ?? JSON.stringify(event) }));
}

function admin(method: "GET" | "POST", path: string, authorization?: string | string[], body?: unknown) {
  const headers = new Headers();
  for (const value of [authorization ?? []].flat()) headers.append("authorization", value);
  if (body !== undefined) headers.set("content-type", "application/json");
  return call(
    new Request(`${BASE}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }),
  );
}

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
const nestedObject = (depth: number): unknown => {
  let value: unknown = "leaf";
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};
const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? [...new TextEncoder().encode(p)] : p)));

/** Builds a request with a raw non-ASCII header value; undefined if the platform refuses to. */
async function rawNonAsciiHeader(): Promise<Response | undefined> {
  let request: Request;
  try {
    request = await signedRequest(JSON.stringify(orderData("ord-raw")), {
      contentType: "application/json",
      headers: {
        "ce-specversion": "1.0",
        "ce-id": track(uniqueId("evt-raw")),
        "ce-source": "/shop/checkout",
        "ce-type": "order.placed",
        "ce-subject": "caf\u00e9 order",
      },
    });
  } catch {
    return undefined;
  }
  return call(request);
}

interface Case {
  name: string;
  status: number;
  code: string;
  send: () => Promise<Response | undefined>;
}

const c = (status: number, code: string, name: string, sendIt: Case["send"]): Case => ({
  name,
  status,
  code,
  send: sendIt,
});

const groups: [string, Case[]][] = [
  [
    "broken JSON",
    [
      c(400, "malformed_json", "truncated JSON", () => send(JSON.stringify(order()).slice(0, -10))),
      c(400, "malformed_json", "JSON followed by trailing garbage", () => send(`${JSON.stringify(order())} trailing`)),
      c(400, "malformed_json", "two JSON objects back to back", () => send(JSON.stringify(order()).repeat(2))),
      c(400, "malformed_json", "NaN as a value", () => send(JSON.stringify(order()).replace(/}$/, ',"n":NaN}'))),
      c(400, "malformed_json", "Infinity as a value", () =>
        send(JSON.stringify(order()).replace(/}$/, ',"n":Infinity}')),
      ),
      c(400, "malformed_json", "single-quoted JSON", () => send(JSON.stringify(order()).replace(/"/g, "'"))),
      c(400, "malformed_json", "a trailing comma", () => send(JSON.stringify(order()).replace(/}$/, ",}"))),
      c(400, "malformed_json", "a JS comment", () => send(`/* hi */${JSON.stringify(order())}`)),
      c(400, "malformed_json", "an empty body", () => send("")),
      c(400, "malformed_json", "a whitespace-only body", () => send(" \n\t ")),
      c(400, "malformed_json", "an empty batch body", () => send("", { contentType: BATCH })),
      c(400, "malformed_json", "binary mode with non-JSON data", () => binary({}, "{not json")),
      c(400, "invalid_utf8", "invalid UTF-8 bytes in a string", () => send(bytes('{"id":"', [0xff, 0xfe], '"}'))),
      c(400, "invalid_utf8", "an overlong UTF-8 encoding of '/'", () => send(bytes('{"id":"', [0xc0, 0xaf], '"}'))),
      c(400, "invalid_utf8", "a UTF-8 encoded lone surrogate", () => send(bytes('{"id":"', [0xed, 0xa0, 0x80], '"}'))),
      c(400, "invalid_utf8", "a UTF-16LE body with its BOM", () => {
        const text = JSON.stringify(order());
        const utf16 = new Uint8Array(2 + text.length * 2);
        utf16.set([0xff, 0xfe]);
        for (let i = 0; i < text.length; i++) utf16[2 + i * 2] = text.charCodeAt(i);
        return send(utf16);
      }),
    ],
  ],
  [
    "wrong JSON types",
    [
      c(400, "not_a_cloudevent", "an array in structured mode", () => structured([order()])),
      c(400, "not_a_cloudevent", "a string in structured mode", () => structured("order.placed")),
      c(400, "not_a_cloudevent", "a number in structured mode", () => structured(42)),
      c(400, "not_a_cloudevent", "null in structured mode", () => structured(null)),
      c(400, "not_a_cloudevent", "true in structured mode", () => structured(true)),
      c(400, "not_a_batch", "an object in batch mode", () => batch(order())),
      c(400, "not_a_batch", "a string in batch mode", () => batch('"[]"')),
      c(400, "not_a_batch", "null in batch mode", () => batch("null")),
      c(400, "empty_batch", "an empty batch", () => batch([])),
      c(400, "not_a_cloudevent", "a batch holding null", () => batch([order(), null])),
      c(400, "not_a_cloudevent", "a batch holding a nested array", () => batch([[order()]])),
      c(400, "not_a_cloudevent", "a batch holding a number", () => batch([order(), 7])),
    ],
  ],
  [
    "missing or mistyped attributes",
    [
      c(400, "not_a_cloudevent", "a missing id", () => structured(order({ id: undefined }))),
      c(400, "not_a_cloudevent", "a missing source", () => structured(order({ source: undefined }))),
      c(400, "not_a_cloudevent", "a missing type", () => structured(order({ type: undefined }))),
      c(400, "not_a_cloudevent", "a missing specversion", () => structured(order({ specversion: undefined }))),
      c(400, "not_a_cloudevent", "specversion 0.3", () => structured(order({ specversion: "0.3" }))),
      c(400, "not_a_cloudevent", "specversion as the number 1.0", () => structured(order({ specversion: 1.0 }))),
      c(400, "not_a_cloudevent", "id as a number", () => structured(order({ id: 12345 }))),
      c(400, "not_a_cloudevent", "an empty id", () => structured(order({ id: "" }))),
      c(400, "not_a_cloudevent", "type as an object", () => structured(order({ type: { name: "order.placed" } }))),
      c(400, "not_a_cloudevent", "type starting with a dot", () => structured(order({ type: ".order.placed" }))),
      c(400, "not_a_cloudevent", "type __proto__", () => structured(order({ type: "__proto__" }))),
      c(400, "not_a_cloudevent", "an empty source", () => structured(order({ source: "" }))),
      c(400, "not_a_cloudevent", "a source with whitespace", () => structured(order({ source: "/shop checkout" }))),
      c(400, "not_a_cloudevent", "time not RFC 3339 (a word)", () => structured(order({ time: "yesterday" }))),
      c(400, "not_a_cloudevent", "time without T or offset", () => structured(order({ time: "2024-01-01 10:00:00" }))),
      c(400, "not_a_cloudevent", "time as epoch millis", () => structured(order({ time: Date.now() }))),
      c(400, "not_a_cloudevent", "dataschema with spaces", () =>
        structured(order({ dataschema: "https://x.test/a b" })),
      ),
      c(400, "not_a_cloudevent", "a malformed traceparent", () => structured(order({ traceparent: "00-xyz" }))),
      c(400, "not_a_cloudevent", "both data and data_base64", () => structured(order({ data_base64: "e30=" }))),
      c(400, "not_a_cloudevent", "id over 256 characters", () => structured(order({ id: "x".repeat(257) }))),
      c(400, "not_a_cloudevent", "correlationid over 256 characters", () =>
        structured(order({ correlationid: "c".repeat(257) })),
      ),
    ],
  ],
  [
    "extensions",
    [
      c(400, "not_a_cloudevent", "an upper-case extension name", () => structured(order({ Tenant: "acme" }))),
      c(400, "not_a_cloudevent", "an extension name with an underscore", () =>
        structured(order({ tenant_id: "acme" })),
      ),
      c(400, "not_a_cloudevent", "an extension name over 20 characters", () =>
        structured(order({ abcdefghijklmnopqrstu: "x" })),
      ),
      c(400, "not_a_cloudevent", "an extension name with a hyphen", () => structured(order({ "tenant-id": "x" }))),
      c(400, "not_a_cloudevent", "an empty extension name", () => structured(order({ "": "x" }))),
      c(400, "not_a_cloudevent", "a __proto__ key", () =>
        send(JSON.stringify(order()).replace(/}$/, ',"__proto__":{"admin":true}}')),
      ),
      c(400, "not_a_cloudevent", "an object-valued extension", () => structured(order({ tenant: { id: "acme" } }))),
      c(400, "not_a_cloudevent", "an array-valued extension", () => structured(order({ tenant: ["acme"] }))),
      c(400, "not_a_cloudevent", "a null-valued extension", () => structured(order({ tenant: null }))),
      c(400, "not_a_cloudevent", "an extension value over 2048 characters", () =>
        structured(order({ tenant: "t".repeat(2049) })),
      ),
      c(400, "invalid_attribute_name", "binary: ce- header with an underscore", () =>
        binary({ "ce-tenant_id": "acme" }),
      ),
      c(400, "invalid_attribute_name", "binary: ce- header over 20 characters", () =>
        binary({ "ce-abcdefghijklmnopqrstu": "x" }),
      ),
      c(400, "invalid_attribute_name", "binary: ce- header with a hyphen", () => binary({ "ce-tenant-id": "x" })),
      c(400, "invalid_attribute_name", "binary: an empty attribute name (ce-)", () => binary({ "ce-": "x" })),
      c(400, "invalid_attribute_name", "binary: ce-data", () => binary({ "ce-data": "{}" })),
      c(400, "invalid_attribute_name", "binary: ce-datacontenttype", () =>
        binary({ "ce-datacontenttype": "text/xml" }),
      ),
      // An upper-case binary extension (ce-TENANT) is not a case: HTTP header names are case-insensitive
      // and arrive lower-cased, so it is the valid extension "tenant".
    ],
  ],
  [
    "binary-mode header encoding",
    [
      c(400, "invalid_header_encoding", "binary: %ZZ in a ce- header", () => binary({ "ce-subject": "bad%ZZ" })),
      c(400, "invalid_header_encoding", "binary: truncated UTF-8 %E0%A4%A", () => binary({ "ce-subject": "%E0%A4%A" })),
      c(400, "invalid_header_encoding", "binary: a lone %", () => binary({ "ce-subject": "100%" })),
      c(400, "invalid_header_encoding", "binary: percent-encoded invalid UTF-8 (%FF)", () =>
        binary({ "ce-subject": "%FF" }),
      ),
      c(400, "invalid_header_encoding", "binary: a tab in a ce- header", () => binary({ "ce-subject": "a\tb" })),
      c(400, "invalid_header_encoding", "binary: raw non-ASCII bytes in a ce- header", rawNonAsciiHeader),
      c(400, "not_a_cloudevent", "binary: an empty ce-id", () => binary({ "ce-id": "" })),
      c(400, "not_a_cloudevent", "binary: ce-specversion 0.3", () => binary({ "ce-specversion": "0.3" })),
      c(400, "not_a_cloudevent", "binary: a percent-encoded space in ce-source", () =>
        binary({ "ce-source": "/shop%20checkout" }),
      ),
    ],
  ],
  [
    "sizes and nesting",
    [
      c(413, "event_too_large", "a 70 KB extension value in structured mode", () =>
        structured(order({ tenant: "x".repeat(70_000) })),
      ),
      c(413, "event_too_large", "a 70 KB data field in structured mode", () =>
        structured(order({}, { customerId: "x".repeat(70_000) })),
      ),
      c(413, "event_too_large", "a 70 KB event inside a batch", () =>
        batch([order(), order({}, { customerId: "x".repeat(70_000) })]),
      ),
      c(413, "event_too_large", "binary: a 70 KB body", () =>
        binary({}, JSON.stringify(orderData("ord-big", { customerId: "x".repeat(70_000) }))),
      ),
      c(413, "event_too_large", "binary: a 70 KB ce- header", () => binary({ "ce-tenant": "x".repeat(70_000) })),
      c(413, "body_too_large", "a body over 1 MiB", () => send("x".repeat(1024 * 1024 + 1), { contentType: BATCH })),
      c(413, "body_too_large", "a chunked body over 1 MiB without Content-Length", async () => {
        const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
        let sent = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent++ < 32) controller.enqueue(chunk);
            else controller.close();
          },
        });
        const signed = await signedRequest("irrelevant", { contentType: BATCH });
        const request = new Request(signed.url, { method: "POST", headers: signed.headers, body });
        request.headers.delete("content-length");
        expect(request.headers.has("content-length")).toBe(false);
        const res = await call(request);
        expect(sent, "stopped reading before the end").toBeLessThan(33);
        return res;
      }),
      c(413, "batch_too_large", "a batch of 101 events", () => batch(Array.from({ length: 101 }, () => order()))),
      c(400, "too_deeply_nested", "10,000 nested arrays in structured mode", () => send(nested(10_000))),
      c(400, "too_deeply_nested", "10,000 nested arrays in batch mode", () => batch(nested(10_000))),
      c(400, "too_deeply_nested", "100,000 unclosed brackets in batch mode", () => batch("[".repeat(100_000))),
      c(400, "too_deeply_nested", "binary: 10,000 nested arrays as data", () => binary({}, nested(10_000))),
      c(400, "too_deeply_nested", "data nested 100 objects deep", () =>
        structured(order({}, { shippingAddress: nestedObject(100) })),
      ),
    ],
  ],
  [
    "content types",
    [
      c(415, "unsupported_content_type", "text/plain", () => structured(order(), { contentType: "text/plain" })),
      c(415, "unsupported_content_type", "application/xml", () =>
        structured(order(), { contentType: "application/xml" }),
      ),
      c(415, "unsupported_content_type", "multipart/form-data", () =>
        structured(order(), { contentType: "multipart/form-data; boundary=xyz" }),
      ),
      c(415, "unsupported_content_type", "application/cloudevents+xml", () =>
        structured(order(), { contentType: "application/cloudevents+xml" }),
      ),
      c(415, "unsupported_content_type", "application/json without ce- headers", () =>
        structured(order(), { contentType: "application/json" }),
      ),
      c(415, "unsupported_content_type", "a missing content type", async () => {
        const request = await signedRequest(new TextEncoder().encode(JSON.stringify(order())));
        request.headers.delete("content-type");
        expect(request.headers.has("content-type")).toBe(false);
        return call(request);
      }),
      c(415, "unsupported_content_type", "binary: text/csv data", () =>
        binary({ contentType: "text/csv" }, "orderId,amount\n1,2"),
      ),
      c(415, "unsupported_charset", "charset=latin1", () =>
        structured(order(), { contentType: `${STRUCTURED}; charset=latin1` }),
      ),
      c(415, "unsupported_charset", "charset=utf-16 in batch mode", () =>
        send(JSON.stringify([order()]), { contentType: `${BATCH}; charset="UTF-16"` }),
      ),
      c(415, "unsupported_charset", "binary: charset=iso-8859-1", () =>
        binary({ contentType: "application/json; charset=iso-8859-1" }),
      ),
    ],
  ],
  [
    "signatures",
    [
      c(401, "invalid_signature", "an empty signature", () => structured(order(), { signature: "" })),
      c(401, "invalid_signature", "a signature 'v1,' with no value", () => structured(order(), { signature: "v1," })),
      c(401, "invalid_signature", "a signature that is not base64", () =>
        structured(order(), { signature: "v1,!!!!" }),
      ),
      c(401, "invalid_signature", "a valid MAC with version prefix v2", async () => {
        const request = await signedRequest(JSON.stringify(order()));
        const mac = request.headers.get("webhook-signature")?.slice(3) ?? "";
        request.headers.set("webhook-signature", `v2,${mac}`);
        return call(request);
      }),
      c(401, "invalid_signature", "a valid MAC with no version prefix", async () => {
        const request = await signedRequest(JSON.stringify(order()));
        request.headers.set("webhook-signature", request.headers.get("webhook-signature")?.slice(3) ?? "");
        return call(request);
      }),
      c(401, "invalid_signature", "a signature over a different body", () =>
        mismatched({ body: JSON.stringify(order()) }),
      ),
      c(401, "invalid_signature", "a different webhook-id than signed", () =>
        mismatched({ webhookId: uniqueId("msg") }),
      ),
      c(401, "invalid_signature", "a timestamp 301 s old", async () =>
        structured(order(), { timestamp: (await secondStart()) - 301 }),
      ),
      c(401, "invalid_signature", "a timestamp 301 s in the future", async () =>
        structured(order(), { timestamp: (await secondStart()) + 301 }),
      ),
      c(401, "invalid_signature", "a timestamp with letters", () =>
        structured(order(), { headers: { "webhook-timestamp": `${now()}abc` } }),
      ),
      c(401, "invalid_signature", "a negative timestamp", () =>
        structured(order(), { headers: { "webhook-timestamp": `-${now()}` } }),
      ),
      c(401, "invalid_signature", "a timestamp in exponent notation", () =>
        structured(order(), { headers: { "webhook-timestamp": "1.7e9" } }),
      ),
      c(401, "invalid_signature", "a missing webhook-id", () => withoutHeader("webhook-id")),
      c(401, "invalid_signature", "a missing webhook-timestamp", () => withoutHeader("webhook-timestamp")),
      c(401, "invalid_signature", "a missing webhook-signature", () => withoutHeader("webhook-signature")),
      c(401, "invalid_signature", "the admin token instead of a signature", async () => {
        const request = await signedRequest(JSON.stringify(order()));
        request.headers.delete("webhook-signature");
        request.headers.set("authorization", ADMIN.authorization);
        return call(request);
      }),
      c(401, "invalid_signature", "a bad signature on malformed JSON (signature is checked first)", () =>
        send("{not json", { signature: "v1,AAAA" }),
      ),
    ],
  ],
  [
    "hop count",
    [
      c(400, "not_a_cloudevent", "a negative hopcount", () => structured(order({ hopcount: -1 }))),
      c(400, "not_a_cloudevent", "a fractional hopcount", () => structured(order({ hopcount: 1.5 }))),
      c(400, "not_a_cloudevent", 'hopcount as the string "9"', () => structured(order({ hopcount: "9" }))),
      c(400, "not_a_cloudevent", "hopcount 10^12", () => structured(order({ hopcount: 1e12 }))),
      c(422, "hop_limit", "hopcount 17 (over the limit of 16)", () => structured(order({ hopcount: 17 }))),
      c(422, "hop_limit", "binary: ce-hopcount 17", () => binary({ "ce-hopcount": "17" })),
      c(422, "hop_limit", "binary: ce-hopcount %317 (a percent-encoded 17)", () => binary({ "ce-hopcount": "%317" })),
      c(400, "invalid_hopcount", "binary: ce-hopcount abc", () => binary({ "ce-hopcount": "abc" })),
      c(400, "invalid_hopcount", "binary: ce-hopcount -1", () => binary({ "ce-hopcount": "-1" })),
      c(400, "invalid_hopcount", "binary: ce-hopcount 1e3", () => binary({ "ce-hopcount": "1e3" })),
      c(400, "invalid_hopcount", "binary: an empty ce-hopcount", () => binary({ "ce-hopcount": "" })),
      c(400, "invalid_hopcount", "binary: ce-hopcount 10^12", () => binary({ "ce-hopcount": "1000000000000" })),
    ],
  ],
  [
    "types and data",
    [
      c(422, "unknown_type", "an unknown event type", () => structured(order({ type: "order.teleported" }))),
      c(422, "unknown_type", "type constructor (an Object.prototype key)", () =>
        structured(order({ type: "constructor" })),
      ),
      c(422, "unknown_type", "type hasOwnProperty", () => structured(order({ type: "hasOwnProperty" }))),
      c(422, "invalid_data", "a negative amount", () => structured(order({}, { amount: -1 }))),
      c(422, "invalid_data", "an amount as a string", () => structured(order({}, { amount: "120" }))),
      c(422, "invalid_data", "an item with qty 0", () => structured(order({}, { items: [{ sku: "SKU-1", qty: 0 }] }))),
      c(422, "invalid_data", "a lower-case currency", () => structured(order({}, { currency: "usd" }))),
      c(422, "invalid_data", "missing items", () => structured(order({}, { items: undefined }))),
      c(422, "invalid_data", "empty items", () => structured(order({}, { items: [] }))),
      c(422, "invalid_data", "missing data", () => structured(order({ data: undefined }))),
      c(422, "invalid_data", "binary: an empty body (no data)", () => binary({}, "")),
      c(422, "invalid_data", "a batch with one bad event among good ones", () =>
        batch([order(), order(), order({}, { currency: "usd" }), order()]),
      ),
      c(422, "unknown_type", "a batch with one unknown type among good ones", () =>
        batch([order(), order({ type: "nope.nope" }), order()]),
      ),
      c(422, "hop_limit", "a batch with one event over the hop limit", () => batch([order(), order({ hopcount: 17 })])),
      c(400, "not_a_cloudevent", "a batch with one non-CloudEvent last", () => batch([order(), order(), { hello: 1 }])),
    ],
  ],
  [
    "admin endpoints",
    [
      c(401, "unauthorized", "GET /v1/events without a token", () => admin("GET", "/v1/events")),
      c(401, "unauthorized", "GET /v1/events with Basic auth", () =>
        admin("GET", "/v1/events", `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}`),
      ),
      c(401, "unauthorized", "GET /v1/stats with a wrong token", () => admin("GET", "/v1/stats", "Bearer wrong-token")),
      c(401, "unauthorized", "GET /v1/dead-letters with the right token followed by junk", () =>
        admin("GET", "/v1/dead-letters", `${ADMIN.authorization} junk`),
      ),
      c(401, "unauthorized", "GET /v1/workflows with the token plus a comma", () =>
        admin("GET", "/v1/workflows", `${ADMIN.authorization},`),
      ),
      c(401, "unauthorized", "GET /v1/agents with 'Bearer' and no token", () => admin("GET", "/v1/agents", "Bearer ")),
      c(401, "unauthorized", "GET /v1/events/:id with no space after Bearer", () =>
        admin("GET", "/v1/events/x", `Bearer${ADMIN_TOKEN}`),
      ),
      c(401, "unauthorized", "GET /v1/events with the token in the query string", () =>
        admin("GET", `/v1/events?token=${ADMIN_TOKEN}&access_token=${ADMIN_TOKEN}`),
      ),
      c(401, "unauthorized", "GET /v1/events with a right and a wrong authorization header", () =>
        admin("GET", "/v1/events", [ADMIN.authorization, "Bearer wrong-token"]),
      ),
      c(401, "unauthorized", "POST /v1/replay without a token", () =>
        admin("POST", "/v1/replay", undefined, { type: "order.placed" }),
      ),
      c(401, "unauthorized", "POST /v1/agents/inventory/pause with a wrong token", () =>
        admin("POST", "/v1/agents/inventory/pause", "Bearer wrong-token", { by: "mallory" }),
      ),
      c(401, "unauthorized", "POST /v1/agents/inventory/pause with the token as Basic", () =>
        admin("POST", "/v1/agents/inventory/pause", `Basic ${ADMIN_TOKEN}`, { by: "mallory" }),
      ),
      c(401, "unauthorized", "POST /v1/dead-letters/replay with the right token followed by junk", () =>
        admin("POST", "/v1/dead-letters/replay", `${ADMIN.authorization} junk`, { correlationid: "x" }),
      ),
      c(401, "unauthorized", "POST /v1/workflows/:id/approve without a token", () =>
        admin("POST", "/v1/workflows/wf-1/approve", undefined, { by: "mallory", reason: "trust me" }),
      ),
    ],
  ],
];
const cases = groups.flatMap(([, group]) => group);

async function expectRejected(res: Response, status: number, code: string) {
  expect(res.status, `never a 5xx (got ${res.status})`).toBeLessThan(500);
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = JSON.parse(text) as { error: { code: string; message: string; issues?: unknown } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
  if (body.error.issues !== undefined) expect(Array.isArray(body.error.issues)).toBe(true);
  // No secret is echoed back, whatever the request held.
  expect(text).not.toContain(SECRET.slice("whsec_".length));
  expect(text).not.toContain(ADMIN_TOKEN);
}

/** Rows in D1 that belong to the given event or correlation ids (D1 binds at most 100 parameters). */
async function rowsFor(keys: string[]): Promise<number> {
  let rows = 0;
  for (let i = 0; i < keys.length; i += 14) {
    const chunk = keys.slice(i, i + 14);
    const list = chunk.map(() => "?").join(",");
    const row = await env.DB.prepare(
      `SELECT (SELECT COUNT(*) FROM events WHERE id IN (${list}) OR correlation_id IN (${list}))
            + (SELECT COUNT(*) FROM deliveries WHERE event_id IN (${list}))
            + (SELECT COUNT(*) FROM agent_runs WHERE event_id IN (${list}))
            + (SELECT COUNT(*) FROM parked_events WHERE event_id IN (${list}))
            + (SELECT COUNT(*) FROM dead_letters WHERE event_id IN (${list}))
            + (SELECT COUNT(*) FROM workflows WHERE id IN (${list})) AS n`,
    )
      .bind(...Array.from({ length: 7 }, () => chunk).flat())
      .first<{ n: number }>();
    rows += row?.n ?? 0;
  }
  return rows;
}

describe("hostile requests", () => {
  for (const [group, groupCases] of groups) {
    describe(group, () => {
      let baseline: Record<string, number> = {};
      /** The event and correlation ids each case sent, to name the case that wrote anything. */
      const keysOf = new Map<string, string[]>();
      beforeAll(async () => {
        baseline = await snapshot();
      });

      it.for(groupCases)("$status $code: $name", async ({ name, status, code, send: sendIt }, context) => {
        const already = sentKeys.size;
        const res = await sendIt();
        keysOf.set(name, [...sentKeys].slice(already));
        // The platform's Headers refused to construct the request (raw non-ASCII): nothing to send.
        if (res === undefined) context.skip("the platform refuses raw non-ASCII header values");
        else await expectRejected(res, status, code);
      });

      it("wrote nothing to D1, after the consumers had time to run", async () => {
        await settle();
        const wrote: string[] = [];
        for (const [name, keys] of keysOf) if ((await rowsFor(keys)) > 0) wrote.push(name);
        expect(wrote, "cases whose events reached D1").toEqual([]);
        expect(await snapshot()).toEqual(baseline);
      });
    });
  }

  it("has at least 40 cases, each with a distinct name", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.map((x) => x.name)).size).toBe(cases.length);
  });
});
