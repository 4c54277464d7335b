import Database from "libsql";
import {
  type Client,
  type InArgs,
  type InStatement,
  LibsqlError,
  type ResultSet,
  type Row,
  type Transaction,
  type TransactionMode,
} from "@libsql/client";

/**
 * A `Client` (the interface drizzle's libsql driver talks to) for a local SQLite file, on the same
 * native libsql engine as `@libsql/client`, but keeping each connection's prepared statements.
 *
 * `@libsql/client` prepares every statement again on every call, asks twice for its columns, learns
 * whether it returns rows by letting the driver throw, and builds each row value by value with
 * `Object.defineProperty`: about 45 µs per statement before SQLite does any work, four times what a
 * one-row write costs. A quiz submit runs a dozen statements. See docs/decisions/016-local-client-and-group-commit.md.
 *
 * One connection per client; db/client.ts opens one for reads and one for writes (decision 003).
 */

type Native = InstanceType<typeof Database>;
type NativeStatement = ReturnType<Native["prepare"]>;

/** Statements worth keeping: the same text comes back (DML and transaction control, not DDL). */
const CACHEABLE =
  /^\s*(?:select|insert|update|delete|replace|with|begin|commit|rollback|savepoint|release)\b/i;
const SCHEMA_CHANGE = /^\s*(?:create|alter|drop)\b/i;
/** The most statements kept per connection; past it the oldest is dropped. */
const CACHE_LIMIT = 500;

/**
 * A row as drizzle reads it, like `@libsql/client`'s: by index (`row[0]`, `row.length`, not
 * enumerable) and by column name (own enumerable properties; the first column of a name wins, and
 * a name that is an index or `length` keeps its index meaning, as there). Each statement gets a
 * subclass whose prototype has its index getters, so a row costs one object and one assignment per
 * column.
 */
class ResultRow {
  readonly #values: unknown[];
  constructor(values: unknown[]) {
    this.#values = values;
  }
  static valuesOf(row: ResultRow): unknown[] {
    return row.#values;
  }
}

/** What a statement's rows are made from: its column names (they change with `select *`). */
interface RowShape {
  columns: string[];
  columnTypes: string[];
  makeRow: (values: unknown[]) => Row;
}

function rowShape(
  described: { name: string; type: string | null }[],
): RowShape {
  const columns = described.map((column) => column.name);
  class StatementRow extends ResultRow {}
  Object.defineProperty(StatementRow.prototype, "length", {
    value: columns.length,
  });
  columns.forEach((_, index) =>
    Object.defineProperty(StatementRow.prototype, index, {
      get(this: ResultRow) {
        return ResultRow.valuesOf(this)[index];
      },
    })
  );
  const named: [string, number][] = [];
  const taken = new Set<string>(["length", ...columns.map((_, i) => `${i}`)]);
  columns.forEach((name, index) => {
    if (!taken.has(name)) named.push([name, index]);
    taken.add(name);
  });
  return {
    columns,
    columnTypes: described.map((column) => column.type ?? ""),
    makeRow: (values) => {
      const row = new StatementRow(values) as unknown as Record<
        string,
        unknown
      >;
      for (const [name, index] of named) row[name] = values[index];
      return row as unknown as Row;
    },
  };
}

/** A prepared statement with what every run of it needs, worked out once. */
interface Prepared {
  statement: NativeStatement;
  /** Whether it returns rows (a SELECT, or a write with RETURNING). */
  reader: boolean;
  shape: RowShape;
}

const NO_ROWS: RowShape = {
  columns: [],
  columnTypes: [],
  makeRow: () => {
    throw new Error("a statement that returns no rows");
  },
};

const describe = (statement: NativeStatement) =>
  statement.columns() as { name: string; type: string | null }[];

function prepare(db: Native, sql: string): Prepared {
  const statement = db.prepare(sql);
  const reader = statement.reader as boolean;
  if (!reader) return { statement, reader, shape: NO_ROWS };
  statement.raw(true);
  return { statement, reader, shape: rowShape(describe(statement)) };
}

/** Arguments as `@libsql/client` binds them: booleans as 0/1, dates as milliseconds, no undefined. */
function toSql(value: unknown): unknown {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new RangeError(
        "Only finite numbers (not Infinity or NaN) can be passed as arguments",
      );
    }
    return value;
  }
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof Date) return value.valueOf();
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (value === undefined) {
    throw new TypeError(
      "undefined cannot be passed as argument to the database",
    );
  }
  return value;
}

function bindable(
  args: InArgs | undefined,
): unknown[] | Record<string, unknown> {
  if (args === undefined) return [];
  if (Array.isArray(args)) return args.map(toSql);
  const named: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(args)) {
    const bare = "@$:".includes(name[0]!) ? name.slice(1) : name;
    named[bare] = toSql(value);
  }
  return named;
}

/** SQLite's primary result codes (an extended code's low byte), named as @libsql/client names them. */
const SQLITE_CODES: Record<number, string> = {
  1: "SQLITE_ERROR",
  2: "SQLITE_INTERNAL",
  3: "SQLITE_PERM",
  4: "SQLITE_ABORT",
  5: "SQLITE_BUSY",
  6: "SQLITE_LOCKED",
  7: "SQLITE_NOMEM",
  8: "SQLITE_READONLY",
  9: "SQLITE_INTERRUPT",
  10: "SQLITE_IOERR",
  11: "SQLITE_CORRUPT",
  12: "SQLITE_NOTFOUND",
  13: "SQLITE_FULL",
  14: "SQLITE_CANTOPEN",
  15: "SQLITE_PROTOCOL",
  16: "SQLITE_EMPTY",
  17: "SQLITE_SCHEMA",
  18: "SQLITE_TOOBIG",
  19: "SQLITE_CONSTRAINT",
  20: "SQLITE_MISMATCH",
  21: "SQLITE_MISUSE",
  22: "SQLITE_NOLFS",
  23: "SQLITE_AUTH",
  24: "SQLITE_FORMAT",
  25: "SQLITE_RANGE",
  26: "SQLITE_NOTADB",
  27: "SQLITE_NOTICE",
  28: "SQLITE_WARNING",
  100: "SQLITE_ROW",
  101: "SQLITE_DONE",
};

/** The driver's error as `@libsql/client` reports it (base code, extended code, the cause). */
function asLibsqlError(error: unknown): unknown {
  const e = error as { code?: unknown; rawCode?: unknown; message?: string };
  if (!(error instanceof Error) || typeof e.code !== "string") return error;
  const raw = typeof e.rawCode === "number" ? e.rawCode : undefined;
  const base = raw === undefined
    ? "SQLITE_UNKNOWN"
    : SQLITE_CODES[raw & 0xff] ?? `SQLITE_UNKNOWN_${raw & 0xff}`;
  return new LibsqlError(error.message, base, e.code, raw, error);
}

const BEGIN: Record<TransactionMode, string> = {
  write: "BEGIN IMMEDIATE",
  read: "BEGIN TRANSACTION READONLY",
  deferred: "BEGIN DEFERRED",
};

class Connection {
  readonly db: Native;
  readonly #statements = new Map<string, Prepared>();

  constructor(path: string, timeoutMs: number) {
    this.db = new Database(path, { timeout: timeoutMs });
  }

  get open(): boolean {
    return this.db.open as boolean;
  }

  /** Whether a transaction is open (reading this on a closed database would abort the process). */
  get inTransaction(): boolean {
    return this.open && (this.db.inTransaction as boolean);
  }

  #prepared(sql: string): Prepared {
    let prepared = this.#statements.get(sql);
    if (prepared) return prepared;
    prepared = prepare(this.db, sql);
    if (CACHEABLE.test(sql)) {
      if (this.#statements.size >= CACHE_LIMIT) {
        this.#statements.delete(this.#statements.keys().next().value!);
      }
      this.#statements.set(sql, prepared);
    }
    return prepared;
  }

  execute(stmt: InStatement | string, args?: InArgs): ResultSet {
    const sql = typeof stmt === "string" ? stmt : stmt.sql;
    const values = bindable(typeof stmt === "string" ? args : stmt.args);
    if (!this.open) {
      throw new LibsqlError("The client is closed", "CLIENT_CLOSED");
    }
    try {
      const prepared = this.#prepared(sql);
      if (prepared.reader) {
        const raw = prepared.statement.all(values) as unknown[][];
        // SQLite prepares a statement again when the schema changed (here or in another process);
        // a `select *` may then return other columns than the ones described when it was cached.
        if (
          raw.length > 0 && raw[0]!.length !== prepared.shape.columns.length
        ) {
          prepared.shape = rowShape(describe(prepared.statement));
        }
        const { columns, columnTypes, makeRow } = prepared.shape;
        return resultSet(columns, columnTypes, raw.map(makeRow), 0, undefined);
      }
      const info = prepared.statement.run(values) as {
        changes: number;
        lastInsertRowid: number | bigint;
      };
      if (SCHEMA_CHANGE.test(sql)) this.#statements.clear();
      return resultSet([], [], [], info.changes, BigInt(info.lastInsertRowid));
    } catch (error) {
      throw asLibsqlError(error);
    }
  }

  executeMultiple(sql: string): void {
    try {
      this.db.exec(sql);
    } catch (error) {
      throw asLibsqlError(error);
    } finally {
      // It may have changed the schema; statements are prepared again on their next use.
      this.#statements.clear();
    }
  }

  close(): void {
    this.#statements.clear();
    if (this.open) this.db.close();
  }
}

function resultSet(
  columns: string[],
  columnTypes: string[],
  rows: Row[],
  rowsAffected: number,
  lastInsertRowid: bigint | undefined,
): ResultSet {
  return {
    columns,
    columnTypes,
    rows,
    rowsAffected,
    lastInsertRowid,
    toJSON() {
      return {
        columns,
        columnTypes,
        rows: rows.map((row) => Array.prototype.slice.call(row)),
        rowsAffected,
        lastInsertRowid: lastInsertRowid?.toString() ?? null,
      };
    },
  };
}

type Stmt = InStatement | [string, InArgs?];
const normalized = (stmt: Stmt): InStatement =>
  Array.isArray(stmt) ? { sql: stmt[0], args: stmt[1] ?? [] } : stmt;

/** Runs `stmts` in one transaction on `connection`, rolled back if any fails. */
function inTransaction(
  connection: Connection,
  begin: string,
  stmts: Stmt[],
): ResultSet[] {
  connection.execute(begin);
  try {
    const results = stmts.map((stmt) => connection.execute(normalized(stmt)));
    connection.execute("COMMIT");
    return results;
  } finally {
    if (connection.inTransaction) connection.execute("ROLLBACK");
  }
}

class LocalTransaction implements Transaction {
  #connection: Connection | null;

  constructor(connection: Connection) {
    this.#connection = connection;
  }

  get closed(): boolean {
    return !this.#connection?.inTransaction;
  }

  #open(): Connection {
    const connection = this.#connection;
    if (!connection || !connection.inTransaction) {
      this.#connection = null;
      throw new LibsqlError("The transaction is closed", "TRANSACTION_CLOSED");
    }
    return connection;
  }

  execute(stmt: InStatement): Promise<ResultSet> {
    try {
      return Promise.resolve(this.#open().execute(stmt));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  batch(stmts: InStatement[]): Promise<ResultSet[]> {
    try {
      const connection = this.#open();
      return Promise.resolve(stmts.map((stmt) => connection.execute(stmt)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  executeMultiple(sql: string): Promise<void> {
    try {
      this.#open().executeMultiple(sql);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  commit(): Promise<void> {
    let connection: Connection | undefined;
    try {
      connection = this.#open();
      this.#connection = null;
      connection.execute("COMMIT");
      return Promise.resolve();
    } catch (error) {
      // A COMMIT that failed leaves the transaction open: end it, or the connection stays in it.
      if (connection?.inTransaction) {
        try {
          connection.execute("ROLLBACK");
        } catch { /* the connection reports the first error */ }
      }
      return Promise.reject(error);
    }
  }

  rollback(): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  close(): void {
    const connection = this.#connection;
    this.#connection = null;
    if (connection?.inTransaction) connection.execute("ROLLBACK");
  }
}

/**
 * A client on one connection to the SQLite file at `path`. Calls are synchronous underneath (as in
 * `@libsql/client`'s local driver); a transaction holds the connection until it settles, so the
 * caller keeps other work off it meanwhile (db/write_lock.ts does, for the writer).
 */
export function createLocalClient(path: string, timeoutMs: number): Client {
  const connection = new Connection(path, timeoutMs);
  const settle = <T>(work: () => T): Promise<T> => {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error);
    }
  };
  const client: Client = {
    protocol: "file",
    get closed() {
      return !connection.open;
    },
    execute:
      ((stmt: InStatement | string, args?: InArgs) =>
        settle(() => connection.execute(stmt, args))) as Client["execute"],
    batch: (stmts, mode = "deferred") =>
      settle(() => inTransaction(connection, BEGIN[mode], stmts)),
    migrate: (stmts) =>
      settle(() => {
        // As @libsql/client does: a migration may rebuild tables that others reference.
        connection.execute("PRAGMA foreign_keys = OFF");
        try {
          return inTransaction(connection, BEGIN.deferred, stmts);
        } finally {
          connection.execute("PRAGMA foreign_keys = ON");
        }
      }),
    transaction: (mode: TransactionMode = "write") =>
      settle(() => {
        connection.execute(BEGIN[mode]);
        return new LocalTransaction(connection);
      }),
    executeMultiple: (sql) =>
      settle(() => {
        try {
          connection.executeMultiple(sql);
        } finally {
          if (connection.inTransaction) connection.execute("ROLLBACK");
        }
      }),
    sync: () =>
      Promise.reject(
        new LibsqlError(
          "A local file has nothing to sync",
          "SYNC_NOT_SUPPORTED",
        ),
      ),
    reconnect: () => {
      throw new LibsqlError("A local client cannot reconnect", "CLIENT_CLOSED");
    },
    close: () => connection.close(),
  };
  return client;
}
