/**
 * Fixed-window counters in memory, per process. Enough for one machine; with several LiteFS
 * replicas each machine counts for itself (see docs/decisions/004-rate-limits-in-memory.md).
 */
export class RateLimiter {
  readonly #windows = new Map<string, { count: number; resetAt: number }>();

  /** Counts a hit; returns the seconds to wait when `limit` is exceeded, or 0 when allowed. */
  hit(key: string, limit: number, windowMs: number): number {
    const now = Date.now();
    let window = this.#windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { count: 0, resetAt: now + windowMs };
      this.#windows.set(key, window);
      if (this.#windows.size > 50_000) this.#sweep(now);
    }
    window.count++;
    return window.count > limit
      ? Math.max(1, Math.ceil((window.resetAt - now) / 1000))
      : 0;
  }

  /** Takes back one counted hit (e.g. an attempt that turned out not to be a miss). */
  release(key: string): void {
    const window = this.#windows.get(key);
    if (window && window.count > 0) window.count--;
  }

  /** The current window's count for a key, without counting a hit. */
  peek(key: string): { count: number; retryAfter: number } {
    const now = Date.now();
    const window = this.#windows.get(key);
    if (!window || window.resetAt <= now) return { count: 0, retryAfter: 0 };
    return {
      count: window.count,
      retryAfter: Math.max(1, Math.ceil((window.resetAt - now) / 1000)),
    };
  }

  #sweep(now: number) {
    for (const [key, window] of this.#windows) {
      if (window.resetAt <= now) this.#windows.delete(key);
    }
  }
}
