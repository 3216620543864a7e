// A verified source request becomes candidate CloudEvents: its body through the source's schema, its
// delivery id, and its events through the source's mapping. The headers the mapping reads are noted,
// so that they join the body in the digest that tells a resend from a replay with other headers.
import { z } from "zod";
import { MAX_BATCH_EVENTS } from "../ingest/cloudevents";
import { reject, type Rejection } from "../ingest/rejection";
import { MappedEventSchema, type Source, type SourceHeaders } from "./define";

/** `<source name>:<delivery id>` is a webhook id, at most 256 characters like any other. */
const DeliveryId = z.string().min(1, "is empty").max(192, "is longer than 192 characters");

export type Mapped =
  { ok: true; deliveryId: string; candidates: unknown[]; shapes: (name: string) => boolean } | Rejection;

/** The events' `source` attribute: outside agentwire's reserved namespace by construction. */
export const sourceOf = (source: Source) => `/sources/${source.name}`;

export function mapRequest(source: Source, headers: Headers, json: unknown): Mapped {
  const read = new Set<string>();
  const view: SourceHeaders = {
    get(name) {
      const key = name.toLowerCase();
      read.add(key);
      return headers.get(key);
    },
  };
  const body = source.body.safeParse(json);
  if (!body.success) {
    return { ...reject(400, "invalid_body", `not a ${source.name} webhook body`), issues: body.error.issues };
  }
  const request = { headers: view, body: body.data };
  let mapped: unknown;
  let deliveryId: unknown;
  try {
    deliveryId = source.deliveryId(request);
    mapped = source.toEvents(request);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return reject(400, "unmappable", `source "${source.name}" could not map this request: ${reason.slice(0, 200)}`);
  }
  const id = DeliveryId.safeParse(deliveryId ?? undefined);
  if (!id.success) {
    const problem = id.error.issues[0]?.code === "invalid_type" ? "is missing" : id.error.issues[0]?.message;
    return reject(400, "invalid_delivery_id", `the ${source.name} delivery id ${problem}`);
  }
  const events = z.array(MappedEventSchema).safeParse(Array.isArray(mapped) ? mapped : [mapped]);
  if (!events.success) {
    return {
      ...reject(400, "unmappable", `source "${source.name}" mapped this request to no valid event`),
      issues: events.error.issues,
    };
  }
  if (events.data.length > MAX_BATCH_EVENTS) {
    return reject(413, "batch_too_large", `a request may become at most ${MAX_BATCH_EVENTS} events`);
  }
  const candidates = events.data.map(({ type, id, time, subject, correlationid, data }) => ({
    specversion: "1.0",
    id,
    source: sourceOf(source),
    type,
    ...(time === undefined ? {} : { time }),
    ...(subject === undefined ? {} : { subject }),
    ...(correlationid === undefined ? {} : { correlationid }),
    datacontenttype: "application/json",
    data,
  }));
  return { ok: true, deliveryId: id.data, candidates, shapes: (name) => read.has(name) };
}
