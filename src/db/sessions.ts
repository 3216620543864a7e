// console_sessions: the server side of a console sign-in. Rows are keyed by an HMAC of the cookie
// (computed by the caller), so this module never sees a cookie or the admin token.
import { z } from "zod";

const SessionRow = z.object({ id: z.string(), created_at: z.number(), expires_at: z.number() });

export interface SessionRecord {
  id: string;
  createdAt: number;
  expiresAt: number;
}

/** Stores a new session and prunes expired ones in the same batch, so the table never grows unbounded. */
export async function insertSession(db: D1Database, s: SessionRecord): Promise<void> {
  await db.batch([
    db.prepare("DELETE FROM console_sessions WHERE expires_at <= ?").bind(s.createdAt),
    db
      .prepare("INSERT INTO console_sessions (id, created_at, expires_at) VALUES (?, ?, ?)")
      .bind(s.id, s.createdAt, s.expiresAt),
  ]);
}

/** The session with this key, if it exists and has not expired at `now`. */
export async function findSession(db: D1Database, id: string, now: number): Promise<SessionRecord | null> {
  const row = await db
    .prepare("SELECT id, created_at, expires_at FROM console_sessions WHERE id = ? AND expires_at > ?")
    .bind(id, now)
    .first();
  if (!row) return null;
  const r = SessionRow.parse(row);
  return { id: r.id, createdAt: r.created_at, expiresAt: r.expires_at };
}

/** Ends a session for good: its cookie opens nothing afterwards, even before its expiry. */
export async function deleteSession(db: D1Database, id: string): Promise<void> {
  await db.prepare("DELETE FROM console_sessions WHERE id = ?").bind(id).run();
}
