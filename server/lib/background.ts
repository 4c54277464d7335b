import type { Logger } from "./logger.ts";

/** Work started after a response (email delivery); awaited on shutdown and by tests. */
export class BackgroundTasks {
  readonly #running = new Set<Promise<unknown>>();
  constructor(private readonly logger: Logger) {}

  run(name: string, work: () => Promise<unknown>): void {
    const task = work().catch((error) =>
      this.logger.error("background task failed", {
        task: name,
        error: String(error),
      })
    ).finally(() => this.#running.delete(task));
    this.#running.add(task);
  }

  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }
}
