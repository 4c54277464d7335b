import type { Generation } from "../../db/write_generation.ts";

interface Entry<V> {
  value: V;
  generation: number;
  expiresAt: number;
}

/**
 * A bounded map whose entries are valid only while nothing has been written since they were loaded
 * (`writes`: the database's WriteGeneration, or a scope of it for a cache that depends on a few
 * tables only), and for at most `ttlMs` (the bound where no write generation can be watched, e.g. a
 * remote libsql server). Load with `generationBefore = cache.generation` read *before* the query, so a write
 * that commits while the query runs invalidates what it returned.
 */
export class GenerationCache<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #writes: Generation;
  readonly #ttlMs: number;
  readonly #maxEntries: number;

  constructor(
    writes: Generation,
    options: { ttlMs: number; maxEntries: number },
  ) {
    this.#writes = writes;
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries;
  }

  get generation(): number {
    return this.#writes.value;
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (
      entry.generation !== this.#writes.value || entry.expiresAt <= Date.now()
    ) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, generationBefore: number): void {
    if (generationBefore !== this.#writes.value) return;
    if (this.#entries.size >= this.#maxEntries) {
      // Maps iterate in insertion order: drop the oldest.
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(key, {
      value,
      generation: generationBefore,
      expiresAt: Date.now() + this.#ttlMs,
    });
  }
}
