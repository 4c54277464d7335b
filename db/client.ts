import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import * as schema from "./schema/mod.ts";
import { serializeWrites } from "./write_lock.ts";
import { watchExternalWrites, WriteGeneration } from "./write_generation.ts";

export type Db = ReturnType<typeof drizzle<typeof schema>>;
export interface Database {
  db: Db;
  /** Moves whenever the data may have changed; see write_generation.ts. */
  generation: WriteGeneration;
  close(): void;
}

/** Creates the parent folder of a `file:` database so a fresh checkout starts with no set-up. */
async function ensureParentDir(url: string) {
  if (!url.startsWith("file:") || url === "file::memory:") return;
  const path = url.slice("file:".length).split("?")[0]!;
  const slash = path.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
}

const BUSY_TIMEOUT_MS = 5000;
const WAL_AUTOCHECKPOINT_PAGES = 4000;

/**
 * Opens the database with the PRAGMAs every connection needs: WAL, foreign keys, a busy timeout.
 *
 * A local file gets two clients: a pool of connections for reads, and one connection that every
 * write goes through, in turn (decision 003). The single writer connection is where the per-connection
 * PRAGMAs that matter for writes are set (`synchronous`: the pool opens connections on demand, and
 * a PRAGMA run through it reaches only one of them), and it is where `PRAGMA data_version` is read:
 * it moves there only when another process commits (decision 005).
 */
export async function createDb(
  url: string,
  authToken?: string,
): Promise<Database> {
  await ensureParentDir(url);
  // `timeout` is SQLite's busy timeout, applied by the client to every connection of its pool.
  const open = (concurrency?: number) =>
    createClient({
      url,
      timeout: BUSY_TIMEOUT_MS,
      ...(authToken ? { authToken } : {}),
      ...(concurrency ? { concurrency } : {}),
    });
  const generation = new WriteGeneration();
  const isFile = url.startsWith("file:") && url !== "file::memory:";
  const raw = open();
  // An in-memory database exists on one connection only, and a remote server has no data_version.
  const { client, readOnWriter } = serializeWrites(
    raw,
    generation,
    isFile ? open(1) : raw,
  );
  // WAL is a property of the file, so setting it once is enough. libsql opens every pooled connection
  // with foreign keys on; the PRAGMA states it and the test suite checks it on a second connection.
  if (isFile) {
    await client.execute("PRAGMA journal_mode = WAL");
    // In WAL mode NORMAL stays consistent after a crash and skips a disk sync per commit; a power
    // loss can lose the last commits (decision 003). It is per connection: this one is the writer's.
    await client.execute("PRAGMA synchronous = NORMAL");
    // The commit that crosses this many WAL pages copies them into the database file and syncs it.
    // SQLite's 1,000 (4 MB) made every ~20th quiz submit pay for a checkpoint; at 4,000 pages (16 MB)
    // a page rewritten by many commits (an index leaf) is copied once per checkpoint rather than
    // four times. Per connection, so on the writer's.
    await client.execute(
      `PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`,
    );
  }
  await client.execute("PRAGMA foreign_keys = ON");
  // A remote libsql server has no data_version to watch; caches fall back on their TTL there.
  const stopWatching = isFile
    ? watchExternalWrites(
      async () => (await readOnWriter("PRAGMA data_version")).rows[0]?.[0],
      generation,
    )
    : () => {};
  return {
    db: drizzle(client, { schema }),
    generation,
    close: () => {
      stopWatching();
      client.close();
    },
  };
}

/** A transaction handle: services that take part in a caller's transaction accept either. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type DbOrTx = Db | Tx;
