// Reads a request body up to a byte limit, streaming, so an oversized or chunked body (no
// Content-Length) is refused before it is buffered whole or parsed.
import type { Rejection } from "./rejection";

export const MAX_BODY_BYTES = 1024 * 1024;

export async function readBody(request: Request, limit: number = MAX_BODY_BYTES): Promise<Uint8Array | Rejection> {
  const tooLarge: Rejection = {
    ok: false,
    status: 413,
    code: "body_too_large",
    message: `the request body may be at most ${limit} bytes`,
  };
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) return tooLarge;
  if (!request.body) return new Uint8Array();
  // A declared length within the limit frames the body (the runtime delivers no more than it): read
  // it whole. A body sent with a transfer-encoding, whatever length it declares, is counted as it
  // streams in, like one that declares none.
  if (declared !== null && request.headers.get("transfer-encoding") === null) {
    return new Uint8Array(await request.arrayBuffer());
  }
  const reader = (request.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      return tooLarge;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
