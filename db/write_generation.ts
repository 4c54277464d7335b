/** Something that moves whenever the data it stands for may have changed. */
export interface Generation {
  readonly value: number;
}

/** Statements a writer ran, or `undefined` when they are unknown (another process, a restore). */
export type Written = readonly string[] | undefined;

/** Writes whose effect cannot be read from their text: DDL, PRAGMA, VACUUM, ATTACH... */
const DML = /^\s*(?:insert|replace|update|delete|with)\b/i;

/**
 * A generation that moves only with writes that may touch some tables: a DML statement that names
 * one of them (anywhere in its text: quoted, bare, in a subquery), every other kind of write
 * statement, and every write whose statements are unknown (another process). A table's rows also
 * change through foreign-key cascades and triggers; whoever asks for a scope must list every table
 * whose writes can reach it that way (auth: `users` cascades into `sessions`, nothing else writes
 * them; tests/features/auth/auth_state_cache_test.ts checks that against the live schema).
 */
class TableScope implements Generation {
  value = 0;
  readonly #names: RegExp;

  constructor(tables: readonly string[]) {
    this.#names = new RegExp(`\\b(?:${tables.join("|")})\\b`, "i");
  }

  touchedBy(written: Written): boolean {
    return written === undefined ||
      written.some((sql) => !DML.test(sql) || this.#names.test(sql));
  }
}

/**
 * A number that moves whenever the database may have changed: after every write this process
 * commits, and (for a local file) when `PRAGMA data_version` shows another process committed (the
 * CLI, a restore, LiteFS applying the primary's changes on a replica). In-process caches tag what
 * they load with the generation they saw and drop it once the generation moves.
 *
 * `scope(tables)` gives a narrower generation for caches that only depend on a few tables (the auth
 * state): it moves with this process's writes that may touch those tables and with every write of
 * another process, so a busy write path elsewhere does not empty it.
 * See docs/decisions/005-auth-state-cache.md.
 */
export class WriteGeneration implements Generation {
  #value = 0;
  readonly #scopes = new Map<string, TableScope>();

  get value(): number {
    return this.#value;
  }

  /** Something was written: `written` lists the statements, or is omitted when unknown. */
  bump(written?: Written): void {
    this.#value++;
    for (const scope of this.#scopes.values()) {
      if (scope.touchedBy(written)) scope.value++;
    }
  }

  /** The generation of a few tables (lower-case SQL names), see TableScope. */
  scope(tables: readonly string[]): Generation {
    if (tables.some((name) => !/^\w+$/.test(name))) {
      throw new Error(`not table names: ${tables.join(", ")}`);
    }
    const key = [...tables].sort().join(",");
    let scope = this.#scopes.get(key);
    if (!scope) this.#scopes.set(key, scope = new TableScope(tables));
    return scope;
  }
}

/** How often another process's commits are looked for: the longest a cached entry outlives them. */
export const EXTERNAL_WRITE_POLL_MS = 250;

/**
 * Polls `PRAGMA data_version` through `readVersion`. SQLite changes that value on a connection when
 * any *other* connection commits, so it must be read on the connection this process writes through
 * (db/client.ts): then it moves only for other processes' commits, never for ours, and the scoped
 * generations are not emptied by our own writes. Returns a stop function.
 */
export function watchExternalWrites(
  readVersion: () => Promise<unknown>,
  generation: WriteGeneration,
  intervalMs = EXTERNAL_WRITE_POLL_MS,
): () => void {
  let last: unknown;
  let polling = false;
  let stopped = false;
  const poll = async () => {
    if (polling || stopped) return;
    polling = true;
    try {
      const version = await readVersion();
      if (last !== undefined && version !== last) generation.bump();
      last = version;
    } catch {
      // A failed poll cannot prove nothing changed.
      if (!stopped) generation.bump();
    } finally {
      polling = false;
    }
  };
  void poll();
  const timer = setInterval(poll, intervalMs);
  Deno.unrefTimer(timer);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
