import { createClient } from "@libsql/client";
import { createLocalClient } from "./local_client.ts";
import { drizzle } from "drizzle-orm/libsql";
import {
  type GroupCommit,
  NO_GROUPING,
  serializeWrites,
} from "./write_lock.ts";
import { watchExternalWrites, WriteGeneration } from "./write_generation.ts";

/**
 * The query builder without drizzle's relational API (`db.query.*`, unused here): with a schema,
 * drizzle builds a query object per table for every transaction, 2% of a quiz submit.
 */
export type Db = ReturnType<typeof drizzle>;
export interface Database {
  db: Db;
  /** Moves whenever the data may have changed; see write_generation.ts. */
  generation: WriteGeneration;
  close(): void;
}

/** Creates the parent folder of a database file so a fresh checkout starts with no set-up. */
async function ensureParentDir(path: string | null) {
  const slash = path?.lastIndexOf("/") ?? -1;
  if (slash > 0) await Deno.mkdir(path!.slice(0, slash), { recursive: true });
}

const BUSY_TIMEOUT_MS = 5000;
/** Writers per commit on a local file (decision 016): at most 50, held at most 10 ms. */
const LOCAL_GROUP_COMMIT: GroupCommit = { maxWriters: 50, maxWaitMs: 10 };

/** The file a `file:` URL names (`file:data/x.db`, `file:/abs/x.db`, `file:///abs/x.db`), else null. */
export function filePath(url: string): string | null {
  if (!url.startsWith("file:") || url === "file::memory:") return null;
  let path = url.slice("file:".length).split("?")[0]!;
  if (path.startsWith("//")) {
    const slash = path.indexOf("/", 2);
    const host = path.slice(2, slash === -1 ? undefined : slash);
    if (host !== "" && host !== "localhost") {
      throw new Error(
        `DATABASE_URL names a host (${host}); a file: URL takes a path`,
      );
    }
    path = slash === -1 ? "" : path.slice(slash);
  }
  if (path === "" || path.startsWith(":memory:")) return null;
  return decodeURIComponent(path);
}
const WAL_AUTOCHECKPOINT_PAGES = 4000;

/**
 * Opens the database with the PRAGMAs every connection needs: WAL, foreign keys, a busy timeout.
 *
 * A local file gets two connections of our own client (decision 016): one for reads, and one that
 * every write goes through, in turn and in groups that share a commit (decisions 003, 016). The
 * writer is where the per-connection PRAGMAs that matter for writes are set (`synchronous`), and
 * where `PRAGMA data_version` is read: it moves there only when another process commits (decision
 * 005).
 */
export async function createDb(
  url: string,
  authToken?: string,
): Promise<Database> {
  // `timeout` is SQLite's busy timeout, applied by the client to every connection of its pool.
  const open = () =>
    createClient({
      url,
      timeout: BUSY_TIMEOUT_MS,
      ...(authToken ? { authToken } : {}),
    });
  const generation = new WriteGeneration();
  const path = filePath(url);
  const isFile = path !== null;
  await ensureParentDir(path);
  // A file gets our own client (decision 016), one connection for reads and one for writes. An
  // in-memory database exists on one connection only, and a remote server has no data_version.
  const reader = isFile ? createLocalClient(path, BUSY_TIMEOUT_MS) : open();
  const writer = isFile ? createLocalClient(path, BUSY_TIMEOUT_MS) : reader;
  const { client, readOnWriter } = serializeWrites(
    reader,
    generation,
    writer,
    isFile ? LOCAL_GROUP_COMMIT : NO_GROUPING,
  );
  // WAL is a property of the file, so setting it once is enough. libsql opens every connection
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
    db: drizzle(client),
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
