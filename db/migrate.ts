import { sql } from "drizzle-orm";
import { migrate } from "drizzle-orm/libsql/migrator";
import type { Db } from "./client.ts";

export const MIGRATIONS_FOLDER =
  new URL("../migrations", import.meta.url).pathname;

interface JournalEntry {
  idx: number;
  tag: string;
}

async function journal(): Promise<JournalEntry[]> {
  const text = await Deno.readTextFile(
    `${MIGRATIONS_FOLDER}/meta/_journal.json`,
  );
  return (JSON.parse(text) as { entries: JournalEntry[] }).entries;
}

async function appliedCount(db: Db): Promise<number> {
  const table = await db.get<{ n: number }>(
    sql`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'`,
  );
  if (!table || table.n === 0) return 0;
  const row = await db.get<{ n: number }>(
    sql`SELECT count(*) AS n FROM __drizzle_migrations`,
  );
  return row?.n ?? 0;
}

/** Applies pending migrations (idempotent) and returns the tags of those it applied, in order. */
export async function runMigrations(db: Db): Promise<string[]> {
  const before = await appliedCount(db);
  await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  const after = await appliedCount(db);
  return (await journal()).slice(before, after).map((entry) => entry.tag);
}

/** Migrations the code knows about that the database has not applied yet. */
export async function pendingMigrations(db: Db): Promise<string[]> {
  const applied = await appliedCount(db);
  return (await journal()).slice(applied).map((entry) => entry.tag);
}
