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

/** Opens the database with the PRAGMAs every connection needs: WAL, foreign keys, a busy timeout. */
export async function createDb(
  url: string,
  authToken?: string,
): Promise<Database> {
  await ensureParentDir(url);
  // `timeout` is SQLite's busy timeout, applied by the client to every connection of its pool.
  const raw = createClient({
    url,
    timeout: BUSY_TIMEOUT_MS,
    ...(authToken ? { authToken } : {}),
  });
  const generation = new WriteGeneration();
  const isFile = url.startsWith("file:");
  const client = serializeWrites(raw, generation);
  // A remote libsql server has no data_version to watch; caches fall back on their TTL there.
  const stopWatching = isFile && url !== "file::memory:"
    ? watchExternalWrites(url, generation)
    : () => {};
  // WAL is a property of the file, so setting it once is enough. libsql opens every pooled connection
  // with foreign keys on; the PRAGMA states it and the test suite checks it on a second connection.
  if (isFile && url !== "file::memory:") {
    await client.execute("PRAGMA journal_mode = WAL");
    // In WAL mode NORMAL stays consistent after a crash and skips a disk sync per commit; a power
    // loss can lose the last commits (decision 003).
    await client.execute("PRAGMA synchronous = NORMAL");
  }
  await client.execute("PRAGMA foreign_keys = ON");
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
