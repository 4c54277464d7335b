import type {
  Client,
  InStatement,
  ResultSet,
  Transaction,
} from "@libsql/client";
import type { WriteGeneration, Written } from "./write_generation.ts";

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

export interface SerializedClient {
  /** The client to use: reads on `reader`, everything else on `writer`, one at a time. */
  client: Client;
  /**
   * Runs a read-only statement on the writer's connection without waiting for the transaction that
   * may hold it: inside that transaction if one is open, else between writes. Nothing is bumped.
   */
  readOnWriter(sql: string): Promise<ResultSet>;
}

/**
 * Wraps `reader` so every write, batch, migration and transaction takes the lock and runs on
 * `writer` (for a local file, a client with a single connection of its own: db/client.ts), and moves
 * `generation` once each one has finished (committed or not), with the statements it ran. Reads run
 * on `reader`, which may be the same client.
 */
export function serializeWrites(
  reader: Client,
  generation: WriteGeneration,
  writer: Client = reader,
): SerializedClient {
  const lock = new AsyncLock();
  const acquire = async () => {
    const release = await lock.acquire();
    return (written: Written) => {
      generation.bump(written);
      release();
    };
  };
  const locked = async <T>(
    written: Written,
    work: () => Promise<T>,
  ): Promise<T> => {
    const release = await acquire();
    try {
      return await work();
    } finally {
      release(written);
    }
  };
  // The open transaction's own execute, while one holds the writer's connection (only transactions
  // hold the lock across other tasks; every other write is one synchronous call).
  let openTx: { execute: Transaction["execute"]; tx: Transaction } | undefined;
  const readOnWriter = async (sql: string): Promise<ResultSet> => {
    if (openTx && !openTx.tx.closed) return await openTx.execute(sql);
    const release = await lock.acquire();
    try {
      return await writeExecute(sql);
    } finally {
      release();
    }
  };
  const execute = reader.execute.bind(reader);
  const writeExecute = writer.execute.bind(writer);
  const batch = writer.batch.bind(writer);
  const migrate = writer.migrate.bind(writer);
  const transaction = writer.transaction.bind(writer);
  const executeMultiple = writer.executeMultiple.bind(writer);
  const closeReader = reader.close.bind(reader);

  const client = reader;
  client.execute = ((stmt: InStatement, args?: unknown) => {
    const sql = sqlOf(stmt);
    return READ_ONLY.test(sql)
      ? execute(stmt as never, args as never)
      : locked([sql], () => writeExecute(stmt as never, args as never));
  }) as Client["execute"];
  client.batch = ((stmts: InStatement[], mode?: never) =>
    locked(
      stmts.map(sqlOf),
      () => batch(stmts as never, mode),
    )) as Client["batch"];
  // Migrations change the schema: everything may have changed.
  client.migrate =
    ((stmts: never) => locked(undefined, () => migrate(stmts))) as Client[
      "migrate"
    ];
  client.executeMultiple =
    ((sql: string) => locked(undefined, () => executeMultiple(sql))) as Client[
      "executeMultiple"
    ];
  client.transaction = (async (mode?: never) => {
    const release = await acquire();
    let tx: Transaction;
    try {
      tx = await transaction(mode);
    } catch (error) {
      release([]);
      throw error;
    }
    // What the transaction wrote, for the scoped generations; undefined once it cannot be known.
    let written: string[] | undefined = [];
    let released = false;
    const txExecute = tx.execute.bind(tx);
    const current = { execute: txExecute, tx };
    openTx = current;
    const releaseOnce = () => {
      if (released) return;
      released = true;
      if (openTx === current) openTx = undefined;
      release(written);
    };
    const txBatch = tx.batch.bind(tx);
    const txExecuteMultiple = tx.executeMultiple.bind(tx);
    const commit = tx.commit.bind(tx);
    const rollback = tx.rollback.bind(tx);
    const close = tx.close.bind(tx);
    tx.execute = ((stmt: InStatement) => {
      const sql = sqlOf(stmt);
      if (!READ_ONLY.test(sql)) written?.push(sql);
      return txExecute(stmt);
    }) as Transaction["execute"];
    tx.batch = ((stmts: InStatement[]) => {
      for (const stmt of stmts) written?.push(sqlOf(stmt));
      return txBatch(stmts);
    }) as Transaction["batch"];
    tx.executeMultiple = (sql: string) => {
      written = undefined;
      return txExecuteMultiple(sql);
    };
    tx.commit = () => commit().finally(releaseOnce);
    tx.rollback = () => rollback().finally(releaseOnce);
    tx.close = () => {
      close();
      releaseOnce();
    };
    return tx;
  }) as Client["transaction"];
  client.close = () => {
    closeReader();
    if (writer !== reader) writer.close();
  };
  return { client, readOnWriter };
}
