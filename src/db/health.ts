// The database's schema as far as health is concerned: the newest migration applied, if any.
import { z } from "zod";

const Row = z.object({ name: z.string() });

export async function latestMigration(
  db: D1Database,
): Promise<{ ok: true; migration: string } | { ok: false; problem: string }> {
  try {
    const row = await db.prepare("SELECT name FROM d1_migrations ORDER BY id DESC LIMIT 1").first();
    if (!row) return { ok: false, problem: "no migrations applied: run `npx wrangler d1 migrations apply DB`" };
    return { ok: true, migration: Row.parse(row).name };
  } catch {
    return {
      ok: false,
      problem: "no migrations applied: `npm run dev` applies them locally; `npm run deploy` remotely",
    };
  }
}
