import { createClient } from "@libsql/client";

/**
 * A number that moves whenever the database may have changed: after every write this process
 * commits, and (for a local file) when `PRAGMA data_version` shows another process committed (the
 * CLI, a restore, LiteFS applying the primary's changes on a replica). In-process caches tag what
 * they load with the generation they saw and drop it once the generation moves.
 * See docs/decisions/005-auth-state-cache.md.
 */
export class WriteGeneration {
  #value = 0;
  get value(): number {
    return this.#value;
  }
  bump(): void {
    this.#value++;
  }
}

/** How often another process's commits are looked for: the longest a cached entry outlives them. */
export const EXTERNAL_WRITE_POLL_MS = 250;

/**
 * Polls `PRAGMA data_version` on a connection of its own. SQLite changes that value on a connection
 * when any other connection commits, so this connection must never write. Returns a stop function.
 */
export function watchExternalWrites(
  url: string,
  generation: WriteGeneration,
  intervalMs = EXTERNAL_WRITE_POLL_MS,
): () => void {
  const watcher = createClient({ url, concurrency: 1 });
  let last: unknown;
  let polling = false;
  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      const result = await watcher.execute("PRAGMA data_version");
      const version = result.rows[0]?.[0];
      if (last !== undefined && version !== last) generation.bump();
      last = version;
    } catch {
      // A failed poll cannot prove nothing changed.
      generation.bump();
    } finally {
      polling = false;
    }
  };
  void poll();
  const timer = setInterval(poll, intervalMs);
  Deno.unrefTimer(timer);
  return () => {
    clearInterval(timer);
    watcher.close();
  };
}
