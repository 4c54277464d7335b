import {
  type Client,
  type InArgs,
  type InStatement,
  LibsqlError,
  type ResultSet,
  type Transaction,
  type TransactionMode,
} from "@libsql/client";
import { clearImmediate, setImmediate } from "node:timers";
import type { WriteGeneration, Written } from "./write_generation.ts";

/**
 * One writer at a time, in this process, and many writers per commit. SQLite allows one writer
 * anyway, but libsql's local driver waits for a busy database synchronously: a second writer would
 * block the event loop while the first transaction needs it to finish, and both would stall until
 * SQLITE_BUSY. Queuing writers here (reads stay concurrent under WAL) removes that. See
 * docs/decisions/003-serialized-writes.md.
 *
 * Group commit (decision 016): the writes queued one after another share one SQLite transaction.
 * Each runs inside a savepoint of it, so its own rollback undoes only its work; its commit releases
 * the savepoint and settles when the shared transaction commits: when no other writer is waiting,
 * a moment later (so that those about to arrive can join), or once the group is full. A commit
 * costs about as much for ten writers as for one (SQLite writes each changed page once per commit).
 */

/** A lock whose `release` hands it straight to the next waiter, and which knows how many wait. */
class WriteQueue {
  #held = false;
  readonly #waiting: (() => void)[] = [];

  get waiting(): number {
    return this.#waiting.length;
  }

  acquire(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#held = false;
  }
}

const READ_ONLY = /^\s*(select|explain)\b/i;
/** A read: SELECT, EXPLAIN, or a WITH query that writes nothing. */
const isRead = (sql: string) =>
  READ_ONLY.test(sql) ||
  (/^\s*with\b/i.test(sql) &&
    !/\b(?:insert|update|delete|replace)\b/i.test(sql));
/** Writes that can share a transaction (schema changes, PRAGMA and VACUUM run on their own). */
const DML = /^\s*(?:insert|update|delete|replace|with)\b/i;
const sqlOf = (stmt: InStatement) => typeof stmt === "string" ? stmt : stmt.sql;
/** The savepoint each writer of a group runs in (drizzle's nested transactions use `sp0`, `sp1`...). */
const UNIT = "lectern_unit";

const now = performance.now.bind(performance);

export interface GroupCommit {
  /** The most writers per commit; 1 commits each on its own. */
  maxWriters: number;
  /** The longest a group stays open once a writer has finished in it. */
  maxWaitMs: number;
}

/** Each writer commits on its own: for a remote database, where a commit is a round trip anyway. */
export const NO_GROUPING: GroupCommit = { maxWriters: 1, maxWaitMs: 0 };

export interface SerializedClient {
  /** The client to use: reads on `reader`, everything else on `writer`, one at a time. */
  client: Client;
  /**
   * Runs a read-only statement on the writer's connection without waiting for the writers: inside
   * the open transaction if there is one, else between writes. Nothing is bumped.
   */
  readOnWriter(sql: string): Promise<ResultSet>;
}

/** The shared transaction and the writers that finished in it, waiting for its commit. */
interface Group {
  outer: Transaction;
  openedAt: number;
  finished: ((error?: unknown) => void)[];
  /** What they wrote, for the scoped generations; undefined once it cannot be known. */
  written: string[] | undefined;
}

const groupLost = (cause?: unknown) =>
  new LibsqlError(
    "The transaction was rolled back by the database with the writes it shared a commit with",
    "TRANSACTION_CLOSED",
    undefined,
    undefined,
    cause instanceof Error ? cause : undefined,
  );

/**
 * Wraps `reader` so every write, batch, migration and transaction takes the queue and runs on
 * `writer` (for a local file, a connection of its own: db/client.ts), and moves `generation` once
 * what they wrote is committed, with the statements they ran. Reads run on `reader`, which may be
 * the same client.
 */
export function serializeWrites(
  reader: Client,
  generation: WriteGeneration,
  writer: Client = reader,
  grouping: GroupCommit = NO_GROUPING,
): SerializedClient {
  const queue = new WriteQueue();
  const grouped = grouping.maxWriters > 1;
  // Bound before `client` (which may be `writer` itself, for a remote database) is wrapped below.
  const execute = reader.execute.bind(reader);
  const writeExecute = writer.execute.bind(writer);
  const beginOuter = writer.transaction.bind(writer);
  const batch = writer.batch.bind(writer);
  const migrate = writer.migrate.bind(writer);
  const executeMultiple = writer.executeMultiple.bind(writer);
  const closeReader = reader.close.bind(reader);
  const closeWriter = writer.close.bind(writer);
  let group: Group | undefined;
  /** Whether a writer is part-way through its transaction (its savepoint is open). */
  let writerOpen = false;
  let flushTimer: ReturnType<typeof setImmediate> | undefined;

  const openGroup = async (mode: TransactionMode): Promise<Group> => {
    group ??= {
      outer: await beginOuter(grouped ? "write" : mode),
      openedAt: now(),
      finished: [],
      written: [],
    };
    return group;
  };

  /** Commits the open group (the caller holds the queue) and settles its writers. */
  const flush = async () => {
    const done = group;
    if (!done) return;
    group = undefined;
    let failure: unknown;
    try {
      await done.outer.commit();
    } catch (error) {
      failure = error;
    }
    try {
      if (failure !== undefined) done.outer.close();
    } finally {
      generation.bump(failure === undefined ? done.written : []);
      for (const settle of done.finished) settle(failure);
    }
  };

  /** Fails the writers of a group that cannot commit (the caller holds the queue or is closing). */
  const abandon = (lost: Group, error: unknown) => {
    if (group === lost) group = undefined;
    try {
      lost.outer.close();
    } finally {
      generation.bump(undefined);
      for (const settle of lost.finished) settle(error);
    }
  };

  const scheduleFlush = () => {
    if (flushTimer !== undefined) return;
    // After the event loop's next turn: requests that arrived meanwhile can join the group.
    flushTimer = setImmediate(async () => {
      flushTimer = undefined;
      await queue.acquire();
      try {
        await flush();
      } finally {
        queue.release();
      }
    });
  };

  /**
   * After a writer (holding the queue): commit now when the group is full, old or empty, else leave
   * it open for whoever waits and commit it after the event loop's next turn.
   */
  const endWriter = async () => {
    writerOpen = false;
    try {
      const current = group;
      if (current?.outer.closed) {
        // SQLite rolled the shared transaction back (an I/O error, a full disk): all of it is lost.
        abandon(current, groupLost());
      } else if (current) {
        const full = current.finished.length >= grouping.maxWriters ||
          now() - current.openedAt >= grouping.maxWaitMs;
        if (full || current.finished.length === 0) await flush();
        else scheduleFlush();
      }
    } finally {
      queue.release();
    }
  };

  /** A promise settled with the group's commit, for a writer that finished in it. */
  const joinCommit = (current: Group, written: Written): Promise<void> => {
    current.written = written && current.written
      ? [...current.written, ...written]
      : undefined;
    return new Promise((resolve, reject) =>
      current.finished.push((error) => error ? reject(error) : resolve())
    );
  };

  /** Runs `work` alone: after committing the group, outside any shared transaction. */
  const alone = async <T>(written: Written, work: () => Promise<T>) => {
    await queue.acquire();
    try {
      await flush();
      return await work();
    } finally {
      generation.bump(written);
      queue.release();
    }
  };

  /** One write statement, in the group: its result once the group has committed. */
  const joinedWrite = async (stmt: InStatement): Promise<ResultSet> => {
    await queue.acquire();
    let result: ResultSet;
    let committed: Promise<void>;
    try {
      const current = await openGroup("write");
      result = await current.outer.execute(stmt);
      committed = joinCommit(current, [sqlOf(stmt)]);
    } finally {
      await endWriter();
    }
    await committed;
    return result;
  };

  /** A transaction of one writer: a savepoint of the group's (the group itself without grouping). */
  const writerTransaction = (current: Group): Transaction => {
    let open = true;
    let written: string[] | undefined = [];
    const usable = () => {
      if (!open || current.outer.closed) {
        throw new LibsqlError(
          "The transaction is closed",
          "TRANSACTION_CLOSED",
        );
      }
    };
    /** Undoes this writer's work: back to its savepoint, or the whole transaction without grouping. */
    const undo = async () => {
      if (current.outer.closed) return;
      if (!grouped) {
        if (group === current) group = undefined;
        await current.outer.rollback();
        return;
      }
      await current.outer.execute(`ROLLBACK TO ${UNIT}`);
      await current.outer.execute(`RELEASE ${UNIT}`);
    };
    const rollback = async () => {
      if (!open) return;
      open = false;
      try {
        await undo();
      } finally {
        await endWriter();
      }
    };
    return {
      get closed() {
        return !open || current.outer.closed;
      },
      async execute(stmt: InStatement) {
        usable();
        const sql = sqlOf(stmt);
        if (!READ_ONLY.test(sql)) written?.push(sql);
        return await current.outer.execute(stmt);
      },
      async batch(stmts: InStatement[]) {
        usable();
        for (const stmt of stmts) written?.push(sqlOf(stmt));
        return await current.outer.batch(stmts);
      },
      async executeMultiple(sql: string) {
        usable();
        written = undefined;
        return await current.outer.executeMultiple(sql);
      },
      async commit() {
        if (open && current.outer.closed) {
          // SQLite ended the shared transaction under this writer: nothing of it is left.
          await rollback();
          throw groupLost();
        }
        usable();
        open = false;
        let committed: Promise<void>;
        try {
          if (grouped) await current.outer.execute(`RELEASE ${UNIT}`);
          committed = joinCommit(current, written);
        } catch (error) {
          // Told it failed, so none of it may be committed with the others.
          await undo().catch(() => {});
          await endWriter();
          throw error;
        }
        await endWriter();
        await committed;
      },
      rollback,
      close() {
        void rollback();
      },
    };
  };

  const readOnWriter = async (sql: string): Promise<ResultSet> => {
    if (group && !group.outer.closed) return await group.outer.execute(sql);
    await queue.acquire();
    try {
      return await writeExecute(sql);
    } finally {
      queue.release();
    }
  };

  const client = reader;
  client.execute = ((stmt: InStatement | string, args?: InArgs) => {
    const statement = typeof stmt === "string"
      ? { sql: stmt, args: args ?? [] }
      : stmt;
    if (isRead(statement.sql)) return execute(statement);
    if (grouped && DML.test(statement.sql)) return joinedWrite(statement);
    return alone([statement.sql], () => writeExecute(statement));
  }) as Client["execute"];
  client.batch =
    ((stmts: InStatement[], mode?: never) =>
      alone(stmts.map(sqlOf), () => batch(stmts as never, mode))) as Client[
        "batch"
      ];
  // Migrations change the schema: everything may have changed.
  client.migrate =
    ((stmts: never) => alone(undefined, () => migrate(stmts))) as Client[
      "migrate"
    ];
  client.executeMultiple =
    ((sql: string) => alone(undefined, () => executeMultiple(sql))) as Client[
      "executeMultiple"
    ];
  client.transaction = (async (mode: TransactionMode = "write") => {
    await queue.acquire();
    let current: Group;
    try {
      current = await openGroup(mode);
      if (grouped) await current.outer.execute(`SAVEPOINT ${UNIT}`);
      writerOpen = true;
    } catch (error) {
      await endWriter();
      throw error;
    }
    return writerTransaction(current);
  }) as Client["transaction"];
  client.close = () => {
    if (flushTimer !== undefined) clearImmediate(flushTimer);
    flushTimer = undefined;
    if (group && writerOpen) {
      // A writer is part-way through: nothing of the group may be committed half done.
      abandon(
        group,
        new LibsqlError(
          "The database was closed before the commit",
          "CLIENT_CLOSED",
        ),
      );
    } else {
      // A local commit runs synchronously, before the connection closes below.
      void flush();
    }
    closeReader();
    if (writer !== reader) closeWriter();
  };
  return { client, readOnWriter };
}
