// The archive bucket (R2): the only code that touches env.ARCHIVE. Objects are written once under a
// key no other run picks, and never overwritten, so a put racing another run cannot lose a line.
import { decodeLines, encodeLines, FORMAT_VERSION } from "./format";

/** Writes lines as one gzip NDJSON object; returns its size in bytes. */
export async function putLines(bucket: R2Bucket, key: string, lines: readonly unknown[]): Promise<number> {
  const body = await encodeLines(lines);
  await bucket.put(key, body, {
    httpMetadata: { contentType: "application/x-ndjson", contentEncoding: "gzip" },
    customMetadata: { format: String(FORMAT_VERSION), lines: String(lines.length) },
  });
  return body.byteLength;
}

/** The lines of an object the index lists; a missing one is an error (the index promised it). */
export async function readLines(bucket: R2Bucket, key: string): Promise<unknown[]> {
  const object = await bucket.get(key);
  if (!object) throw new Error(`archive object ${key} is missing from the bucket`);
  return decodeLines(object.body as ReadableStream<Uint8Array>);
}

/** Deletes objects nothing lists (R2 takes up to 1,000 keys a call); a failure only leaves garbage. */
export async function deleteObjects(bucket: R2Bucket, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) await bucket.delete(keys.slice(i, i + 1000));
}
