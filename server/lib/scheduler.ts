import type { Logger } from "./logger.ts";

export interface Job {
  name: string;
  everyMs: number;
  run: () => Promise<unknown>;
}

export interface JobStatus {
  name: string;
  everyMs: number;
  running: boolean;
  lastStartedAt: string | null;
  lastFinishedAt: string | null;
  lastOutcome: "ok" | "failed" | "skipped (replica)" | null;
  lastError: string | null;
  runs: number;
}

/**
 * The server's periodic work in one place. Each job runs on its own timer, never twice at once (a
 * run that is still going when the next is due is skipped), only on the primary (asked before
 * every run, since the primary can move), and every run is logged with its duration and outcome.
 */
export class Scheduler {
  readonly #jobs = new Map<string, Job>();
  readonly #status = new Map<string, JobStatus>();
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  readonly #running = new Set<Promise<void>>();

  constructor(
    private readonly logger: Logger,
    private readonly isPrimary: () => boolean,
  ) {}

  add(job: Job): this {
    if (!(job.everyMs > 0 && job.everyMs <= 2 ** 31 - 1)) {
      throw new Error(
        `job ${job.name}: every ${job.everyMs} ms is not a timer`,
      );
    }
    this.#jobs.set(job.name, job);
    this.#status.set(job.name, {
      name: job.name,
      everyMs: job.everyMs,
      running: false,
      lastStartedAt: null,
      lastFinishedAt: null,
      lastOutcome: null,
      lastError: null,
      runs: 0,
    });
    return this;
  }

  start(): void {
    for (const job of this.#jobs.values()) {
      this.#timers.push(
        setInterval(
          () =>
            void this.runNow(job.name).catch((error) =>
              this.logger.error("job failed", {
                job: job.name,
                error: String(error),
              })
            ),
          job.everyMs,
        ),
      );
    }
  }

  /** Runs one job at once (tests, the CLI); resolves when it has finished or was skipped. */
  async runNow(name: string): Promise<JobStatus["lastOutcome"]> {
    const job = this.#jobs.get(name);
    const status = this.#status.get(name);
    if (!job || !status) throw new Error(`no job named ${name}`);
    if (status.running) {
      this.logger.debug("job still running; this run is skipped", {
        job: name,
      });
      return null;
    }
    let primary: boolean;
    try {
      primary = this.isPrimary();
    } catch (error) {
      // Not knowing is not being the primary: skip, say why, and ask again next time.
      status.lastOutcome = "failed";
      status.lastError = `cannot tell whether this is the primary: ${
        error instanceof Error ? error.message : String(error)
      }`;
      this.logger.error("job failed", { job: name, error: status.lastError });
      return status.lastOutcome;
    }
    if (!primary) {
      status.lastOutcome = "skipped (replica)";
      return status.lastOutcome;
    }
    status.running = true;
    status.lastStartedAt = new Date().toISOString();
    const started = performance.now();
    const run = (async () => {
      try {
        const result = await job.run();
        status.lastOutcome = "ok";
        status.lastError = null;
        this.logger.info("job ran", {
          job: name,
          ms: Math.round(performance.now() - started),
          ...(result !== undefined ? { result: String(result) } : {}),
        });
      } catch (error) {
        status.lastOutcome = "failed";
        status.lastError = error instanceof Error
          ? error.message.slice(0, 500)
          : String(error);
        this.logger.error("job failed", {
          job: name,
          ms: Math.round(performance.now() - started),
          error: status.lastError,
        });
      } finally {
        status.running = false;
        status.runs++;
        status.lastFinishedAt = new Date().toISOString();
      }
    })();
    this.#running.add(run);
    await run;
    this.#running.delete(run);
    return status.lastOutcome;
  }

  status(): JobStatus[] {
    return [...this.#status.values()].map((status) => ({ ...status }));
  }

  /** Stops the timers and waits for runs in progress. */
  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.length = 0;
    await Promise.all([...this.#running]);
  }
}
