// What the source tests check after each request: the answer, and what reached D1 (or did not).
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { count } from "./helpers";
import { postSource, request, type Sent } from "./sources";

/** Lets the queue consumers run, so "nothing was written" is checked after they had the chance. */
export const settle = () => new Promise((r) => setTimeout(r, 300));
export const send = (name: string, sent: Sent) => postSource(request(name, sent));
export const logged = (id: string, source: string) =>
  count("SELECT COUNT(*) AS n FROM events WHERE id = ? AND source = ?", id, `/sources/${source}`);
export const recorded = (webhookId: string) =>
  count("SELECT COUNT(*) AS n FROM webhook_messages WHERE webhook_id = ?", webhookId);
export const envelope = async (id: string, source: string) => {
  const row = await env.DB.prepare("SELECT envelope FROM events WHERE id = ? AND source = ?")
    .bind(id, `/sources/${source}`)
    .first<{ envelope: string }>();
  return row ? (JSON.parse(row.envelope) as Record<string, unknown>) : undefined;
};

export async function expectAnswer(res: Response, status: number, code?: string) {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  if (code) expect((JSON.parse(text) as { error: { code: string } }).error.code).toBe(code);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Refused, and after the consumers had their chance, neither the event nor its delivery id is anywhere. */
export async function expectNothingWritten(
  res: Response,
  status: number,
  code: string,
  id: string,
  source: string,
  webhookId?: string,
) {
  await expectAnswer(res, status, code);
  await settle();
  expect(await count("SELECT COUNT(*) AS n FROM events WHERE id = ?", id)).toBe(0);
  if (webhookId) expect(await recorded(webhookId)).toBe(0);
  expect(await logged(id, source)).toBe(0);
}
