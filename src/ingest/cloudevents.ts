// CloudEvents 1.0 over HTTP: structured, batch and binary content modes, turned into candidate
// events for validation. Only JSON data is supported: the catalog validates every event's data.
import { ATTRIBUTE_NAME } from "../bus/envelope";
import { reject, type Rejection } from "./rejection";

/** One limit for every mode: an event's size is that of its JSON, as it is queued and logged. */
export const MAX_EVENT_BYTES = 64 * 1024;
export const MAX_BATCH_EVENTS = 100;
const MAX_NESTING = 64;

export type ParseResult = { ok: true; mode: "structured" | "batch" | "binary"; events: unknown[] } | Rejection;

export function mediaType(contentType: string | null): { type: string; charset?: string } {
  const [type = "", ...params] = (contentType ?? "").split(";");
  const charset = params
    .map((p) => p.trim().split("="))
    .find(([k]) => k?.toLowerCase() === "charset")?.[1]
    ?.replace(/"/g, "")
    .toLowerCase();
  return { type: type.trim().toLowerCase(), ...(charset === undefined ? {} : { charset }) };
}

export const isJsonType = (type: string) =>
  type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);

export function parseCloudEvents(headers: Headers, body: Uint8Array): ParseResult {
  const { type, charset } = mediaType(headers.get("content-type"));
  if (charset !== undefined && charset !== "utf-8") return reject(415, "unsupported_charset", "only UTF-8 is accepted");
  const binary = headers.has("ce-specversion");
  if (type === "application/cloudevents+json" && !binary) {
    const json = parseJson(body);
    if (!json.ok) return json;
    if (!isObject(json.value)) return reject(400, "not_a_cloudevent", "a structured-mode body must be one JSON object");
    if (tooLarge(json.value)) return reject(413, "event_too_large", `an event may be at most ${MAX_EVENT_BYTES} bytes`);
    return { ok: true, mode: "structured", events: [json.value] };
  }
  if (type === "application/cloudevents-batch+json" && !binary) {
    const json = parseJson(body);
    if (!json.ok) return json;
    if (!Array.isArray(json.value))
      return reject(400, "not_a_batch", "a batch-mode body must be a JSON array of events");
    if (json.value.length === 0) return reject(400, "empty_batch", "a batch must hold at least one event");
    if (json.value.length > MAX_BATCH_EVENTS) {
      return reject(413, "batch_too_large", `a batch may hold at most ${MAX_BATCH_EVENTS} events`);
    }
    for (const [i, event] of json.value.entries()) {
      if (!isObject(event)) return reject(400, "not_a_cloudevent", `batch item ${i} is not a JSON object`);
      if (tooLarge(event)) {
        return reject(413, "event_too_large", `batch item ${i} is over ${MAX_EVENT_BYTES} bytes`);
      }
    }
    return { ok: true, mode: "batch", events: json.value };
  }
  if (binary) {
    if (!isJsonType(type)) {
      return reject(415, "unsupported_content_type", "binary mode accepts JSON data only (application/json)");
    }
    return parseBinary(headers, body, type);
  }
  return reject(
    415,
    "unsupported_content_type",
    "send application/cloudevents+json, application/cloudevents-batch+json, or binary mode with ce-* headers",
  );
}

function parseBinary(headers: Headers, body: Uint8Array, contentType: string): ParseResult {
  const event: Record<string, unknown> = {};
  for (const [name, raw] of headers) {
    if (!name.startsWith("ce-")) continue;
    const attribute = name.slice(3);
    if (!ATTRIBUTE_NAME.test(attribute) || attribute === "data" || attribute === "datacontenttype") {
      return reject(400, "invalid_attribute_name", `header ${name}: not a valid CloudEvents attribute`);
    }
    if (!/^[\x20-\x7e]*$/.test(raw)) {
      return reject(400, "invalid_header_encoding", `header ${name}: non-ASCII bytes must be percent-encoded`);
    }
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      return reject(400, "invalid_header_encoding", `header ${name}: invalid percent-encoding or UTF-8`);
    }
    if (attribute === "hopcount") {
      if (!/^\d{1,7}$/.test(value))
        return reject(400, "invalid_hopcount", "ce-hopcount must be a non-negative integer");
      event[attribute] = Number(value);
    } else {
      event[attribute] = value;
    }
  }
  event.datacontenttype = contentType;
  if (body.length > 0) {
    const json = parseJson(body);
    if (!json.ok) return json;
    event.data = json.value;
  }
  if (tooLarge(event)) return reject(413, "event_too_large", `an event may be at most ${MAX_EVENT_BYTES} bytes`);
  return { ok: true, mode: "binary", events: [event] };
}

const encoder = new TextEncoder();
const tooLarge = (event: object) => encoder.encode(JSON.stringify(event)).length > MAX_EVENT_BYTES;

export type JsonResult = { ok: true; value: unknown } | Rejection;

/** Strict UTF-8, bounded nesting, then JSON. */
export function parseJson(body: Uint8Array): JsonResult {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    return reject(400, "invalid_utf8", "the body is not valid UTF-8");
  }
  if (nestingDepth(text) > MAX_NESTING) {
    return reject(400, "too_deeply_nested", `JSON may nest at most ${MAX_NESTING} levels`);
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return reject(400, "malformed_json", `the body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Deepest bracket nesting outside strings, found without recursion (so hostile depth cannot hurt). */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) max = Math.max(max, ++depth);
    else if (c === 125 || c === 93) depth--;
  }
  return max;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
