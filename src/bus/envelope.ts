// The CloudEvents 1.0 envelope every event travels in, its trace context, and the queue messages.
// Schema first: the types are inferred, never declared twice.
import { z } from "zod";

/** CloudEvents attribute names: lower-case ASCII letters and digits, at most 20 characters. */
export const ATTRIBUTE_NAME = /^[a-z0-9]{1,20}$/;

const CONTEXT_ATTRIBUTES = new Set([
  "specversion",
  "id",
  "source",
  "type",
  "time",
  "subject",
  "datacontenttype",
  "dataschema",
  "data",
  "data_base64",
  "correlationid",
  "causationid",
  "hopcount",
  "traceparent",
]);

const nonEmpty = (max: number) => z.string().min(1).max(max);
/** In a `u` regex a valid pair is one code point, so only unpaired surrogates match. */
const LONE_SURROGATE = /\p{Cs}/u;
const uriReference = z
  .string()
  .min(1)
  .max(1024)
  .regex(/^[^\s]+$/, "must be a URI-reference without whitespace");
const extensionValue = z.union([z.string().max(2048), z.number().finite(), z.boolean()]);

export const CloudEventSchema = z
  .looseObject({
    specversion: z.literal("1.0"),
    id: nonEmpty(256),
    source: uriReference,
    type: nonEmpty(256).regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "must be dotted name characters"),
    time: z.iso.datetime({ offset: true }).optional(),
    subject: nonEmpty(1024).optional(),
    datacontenttype: nonEmpty(256).optional(),
    dataschema: uriReference.optional(),
    data: z.unknown().optional(),
    data_base64: z.string().optional(),
    correlationid: nonEmpty(256).optional(),
    causationid: nonEmpty(256).optional(),
    hopcount: z.number().int().min(0).max(1_000_000).optional(),
    traceparent: z
      .string()
      .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/, "must be a W3C traceparent")
      .optional(),
  })
  .superRefine((event, ctx) => {
    for (const [key, value] of Object.entries(event)) {
      // A lone surrogate (JSON allows "\ud800") is not text: it would not survive UTF-8 in D1 or a URL.
      if (key !== "data" && typeof value === "string" && LONE_SURROGATE.test(value)) {
        ctx.addIssue({ code: "custom", path: [key], message: "must be well-formed Unicode (a lone surrogate)" });
      }
      if (CONTEXT_ATTRIBUTES.has(key)) continue;
      if (!ATTRIBUTE_NAME.test(key)) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: "extension names must be 1-20 lower-case letters or digits",
        });
      } else if (!extensionValue.safeParse(value).success) {
        ctx.addIssue({ code: "custom", path: [key], message: "extension values must be a string, number or boolean" });
      }
    }
    if (event.data !== undefined && event.data_base64 !== undefined) {
      ctx.addIssue({ code: "custom", path: ["data_base64"], message: "data and data_base64 are exclusive" });
    }
  });

export type IncomingCloudEvent = z.infer<typeof CloudEventSchema>;

/**
 * Attribute names of a raw (just parsed) event that break the naming rule. Checked before the schema,
 * which cannot see every key: zod drops `__proto__` while parsing.
 */
export function invalidAttributeNames(raw: object): string[] {
  return Object.keys(raw).filter((k) => !CONTEXT_ATTRIBUTES.has(k) && !ATTRIBUTE_NAME.test(k));
}

/** An event as it travels the bus: correlation and hop count always present. */
export const EnvelopeSchema = CloudEventSchema.and(
  z.object({ correlationid: nonEmpty(256), hopcount: z.number().int().min(0) }),
);
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** Fills in what the bus relies on: the workflow key defaults to the event's own id (a root event). */
export function normalize(event: IncomingCloudEvent): Envelope {
  return { ...event, correlationid: event.correlationid ?? event.id, hopcount: event.hopcount ?? 0 };
}

/** Ingest (or a coordinator, or a run whose direct routing failed) → events queue. */
export const EventMessageSchema = z.object({
  kind: z.literal("event"),
  event: EnvelopeSchema,
  receivedAt: z.number(),
  /** Already logged, not yet routed: route it even though the log has it. */
  reroute: z.literal(true).optional(),
});
export type EventMessage = z.infer<typeof EventMessageSchema>;

/** Route consumer → tasks queue: one per (event, subscribed agent). */
export const TaskMessageSchema = z.object({
  kind: z.literal("task"),
  agent: z.string().min(1),
  event: EnvelopeSchema,
  receivedAt: z.number(),
  /**
   * The claim routing recorded the run under (a new run): this task's deliveries take the run by it,
   * and a first delivery that arrives promptly runs without claiming it again.
   */
  claim: z.string().optional(),
  /**
   * A replay's choice for a model-backed agent's recorded steps: "recorded" reuses them and calls no
   * model (a missing step fails the run), "fresh" decides again. Default: reuse, then continue live.
   */
  models: z.enum(["recorded", "fresh"]).optional(),
  /**
   * A re-run of history (POST /v1/replay with rerun): its generation. The run is claimed again even
   * if it finished, and what it emits gets new ids (derived with the generation).
   */
  rerun: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
});
export type TaskMessage = z.infer<typeof TaskMessageSchema>;

export const QueueMessageSchema = z.discriminatedUnion("kind", [EventMessageSchema, TaskMessageSchema]);

export const eventKey = (event: { source: string; id: string }) => `${event.source} ${event.id}`;

// ---- trace context: every event carries a traceparent (the sender's, or one minted at ingest) ----

const hex = (bytes: number) =>
  [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");

/** A fresh, sampled traceparent: version 00, a random trace id and parent id. */
export const mintTraceparent = () => `00-${hex(16)}-${hex(8)}-01`;

/** The trace id of an event's traceparent (32 hex digits), if it has one. */
export const traceIdOf = (event: { traceparent?: string | undefined }): string | undefined =>
  event.traceparent?.split("-")[1];
