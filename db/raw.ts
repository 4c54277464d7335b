import type { Client, InValue, ResultSet, Transaction } from "@libsql/client";
import type { DbOrTx } from "./client.ts";

/** What `executeRaw` reads of drizzle's libsql session (drizzle-orm 0.45; see the test). */
interface LibsqlSession {
  session: { client: Client; tx: Transaction | undefined };
}

/**
 * Runs one statement as written, with positional arguments, on `db` or inside the transaction `db`
 * is, without drizzle's SQL builder. For the few hot statements with many parameters: building the
 * 200-parameter statement that writes a quiz submit's answer rows cost drizzle about as much as
 * SQLite takes to run it. Arguments go in as the driver takes them (numbers, text, null): map
 * values as the schema stores them (dates in milliseconds, JSON as text) before calling.
 */
export function executeRaw(
  db: DbOrTx,
  sql: string,
  args: InValue[] = [],
): Promise<ResultSet> {
  const { client, tx } = (db as unknown as LibsqlSession).session;
  const statement = { sql, args };
  return tx ? tx.execute(statement) : client.execute(statement);
}
