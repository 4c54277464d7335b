import type { Client, InStatement, Transaction } from "@libsql/client";
import type { WriteGeneration } from "./write_generation.ts";

/**
 * One writer at a time, in this process. SQLite allows one writer anyway, but libsql's local driver
 * waits for a busy database synchronously: a second writer would block the event loop while the
 * first transaction needs it to finish, and both would stall until SQLITE_BUSY. Queuing writers here
 * (reads stay concurrent under WAL) removes that. See docs/decisions/003-serialized-writes.md.
 */
class AsyncLock {
  #tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const ready = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => held);
    return ready;
  }
}

const READ_ONLY = /^\s*(select|explain)\b/i;
const sqlOf = (stmt: InStatement) => typeof stmt === "string" ? stmt : stmt.sql;

/**
 * Wraps a client so every write, batch, migration and transaction takes the lock, and moves
 * `generation` once each one has finished (committed or not).
 */
export function serializeWrites(
  client: Client,
  generation: WriteGeneration,
): Client {
  const lock = new AsyncLock();
  const acquire = async () => {
    const release = await lock.acquire();
    return () => {
      generation.bump();
      release();
    };
  };
  const locked = async <T>(work: () => Promise<T>): Promise<T> => {
    const release = await acquire();
    try {
      return await work();
    } finally {
      release();
    }
  };
  const execute = client.execute.bind(client);
  const batch = client.batch.bind(client);
  const migrate = client.migrate.bind(client);
  const transaction = client.transaction.bind(client);

  client.execute =
    ((stmt: InStatement, args?: unknown) =>
      READ_ONLY.test(sqlOf(stmt))
        ? execute(stmt as never, args as never)
        : locked(() => execute(stmt as never, args as never))) as Client[
        "execute"
      ];
  client.batch =
    ((stmts: never, mode?: never) =>
      locked(() => batch(stmts, mode))) as Client["batch"];
  client.migrate =
    ((stmts: never) => locked(() => migrate(stmts))) as Client["migrate"];
  client.transaction = (async (mode?: never) => {
    const release = await acquire();
    let tx: Transaction;
    try {
      tx = await transaction(mode);
    } catch (error) {
      release();
      throw error;
    }
    let released = false;
    const releaseOnce = () => {
      if (!released) (released = true, release());
    };
    const commit = tx.commit.bind(tx);
    const rollback = tx.rollback.bind(tx);
    const close = tx.close.bind(tx);
    tx.commit = () => commit().finally(releaseOnce);
    tx.rollback = () => rollback().finally(releaseOnce);
    tx.close = () => {
      close();
      releaseOnce();
    };
    return tx;
  }) as Client["transaction"];
  return client;
}
