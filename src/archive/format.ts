// The archive's format: gzip-compressed NDJSON, one line per event with every row keyed by it (so a
// read needs one object), or one line per workflow instance; objects partitioned by UTC hour.
// Rows are kept as D1 holds them (snake_case columns), so restoring one is an INSERT per row.
import { z } from "zod";
import { EnvelopeSchema } from "../bus/envelope";

export const FORMAT_VERSION = 1;
export type Kind = "events" | "workflows";

const Row = z.record(z.string(), z.unknown());

export const EventLineSchema = z.object({
  v: z.literal(FORMAT_VERSION),
  seq: z.number(),
  receivedAt: z.number(),
  loggedAt: z.number(),
  event: EnvelopeSchema,
  deliveries: z.array(Row),
  runs: z.array(Row),
  modelCalls: z.array(Row),
  violations: z.array(Row),
  parked: z.array(Row),
  // Lines written before these tables existed have neither.
  unrouted: z.array(Row).default([]),
  duplicates: z.array(Row).default([]),
  steps: z.array(Row).default([]),
  archivedAt: z.number(),
});
export type EventLine = z.infer<typeof EventLineSchema>;

export const WorkflowLineSchema = z.object({
  v: z.literal(FORMAT_VERSION),
  workflow: z.looseObject({ id: z.string(), workflow: z.string(), version: z.number(), started_at: z.number() }),
  archivedAt: z.number(),
});
export type WorkflowLine = z.infer<typeof WorkflowLineSchema>;

const HOUR_MS = 3_600_000;
/** The start of the UTC hour of `ms`. */
export const hourOf = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;

/** `events/2026/11/22/13/<batch>.ndjson.gz`: the kind, then the UTC day and hour of `at`. */
export function objectKey(kind: Kind, at: number, batch: string): string {
  const [date = "", time = ""] = new Date(hourOf(at)).toISOString().split("T");
  return `${kind}/${date.replaceAll("-", "/")}/${time.slice(0, 2)}/${batch}.ndjson.gz`;
}

/** A batch id no other run can pick: what it holds (when known) and random bits. */
export function batchId(label: string): string {
  const random = [...crypto.getRandomValues(new Uint8Array(4))].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${label}-${random}`;
}

export async function encodeLines(lines: readonly unknown[]): Promise<Uint8Array> {
  const text = lines.map((line) => JSON.stringify(line)).join("\n") + "\n";
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function decodeLines(body: ReadableStream<Uint8Array>): Promise<unknown[]> {
  const text = await new Response(body.pipeThrough(new DecompressionStream("gzip"))).text();
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as unknown);
}
