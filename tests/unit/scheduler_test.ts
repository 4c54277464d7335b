import assert from "node:assert/strict";
import { scheduledBackup } from "../../server/features/backup/run.ts";
import FakeTimers from "@sinonjs/fake-timers";
import { buildScheduler } from "../../server/jobs.ts";
import { createMemoryLogger } from "../../server/lib/logger.ts";
import { Scheduler } from "../../server/lib/scheduler.ts";
import { createTestContext } from "../helpers/context.ts";

/** A job whose run waits until the test lets it finish. */
function gatedJob(name: string, everyMs = 60_000) {
  let calls = 0;
  let gate = Promise.withResolvers<void>();
  return {
    job: {
      name,
      everyMs,
      run: async () => {
        calls++;
        await gate.promise;
      },
    },
    get calls() {
      return calls;
    },
    release() {
      gate.resolve();
      gate = Promise.withResolvers<void>();
    },
  };
}

/** Lets every pending promise callback (and one macrotask) run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

const entries = (
  logger: ReturnType<typeof createMemoryLogger>,
  msg: string,
) => logger.lines.filter((line) => line.msg === msg);

Deno.test("Scheduler.runNow: never twice at once", async () => {
  const logger = createMemoryLogger();
  const gated = gatedJob("slow");
  const scheduler = new Scheduler(logger, () => true).add(gated.job);

  const first = scheduler.runNow("slow");
  assert.equal(scheduler.status()[0]!.running, true);
  assert.equal(await scheduler.runNow("slow"), null, "skipped: still running");
  assert.equal(await scheduler.runNow("slow"), null);
  assert.equal(gated.calls, 1, "the job function ran once");
  assert.equal(
    entries(logger, "job still running; this run is skipped").length,
    2,
  );
  assert.equal(entries(logger, "job ran").length, 0);

  gated.release();
  assert.equal(await first, "ok");
  const [status] = scheduler.status();
  assert.equal(status!.running, false);
  assert.equal(status!.runs, 1, "skipped calls are not runs");

  const second = scheduler.runNow("slow");
  gated.release();
  assert.equal(await second, "ok", "once finished, it runs again");
  assert.equal(gated.calls, 2);
});

Deno.test("Scheduler.runNow: only on the primary, asked before every run", async () => {
  const logger = createMemoryLogger();
  let primary = false;
  let calls = 0;
  const scheduler = new Scheduler(logger, () => primary).add({
    name: "sweep",
    everyMs: 1000,
    run: () => {
      calls++;
      return Promise.resolve();
    },
  });

  assert.equal(await scheduler.runNow("sweep"), "skipped (replica)");
  assert.equal(calls, 0, "the function is not called on a replica");
  let [status] = scheduler.status();
  assert.equal(status!.lastOutcome, "skipped (replica)");
  assert.equal(status!.runs, 0);
  assert.equal(status!.lastStartedAt, null);
  assert.equal(entries(logger, "job ran").length, 0);

  primary = true;
  assert.equal(await scheduler.runNow("sweep"), "ok");
  assert.equal(calls, 1);

  primary = false;
  assert.equal(await scheduler.runNow("sweep"), "skipped (replica)");
  assert.equal(calls, 1);
  [status] = scheduler.status();
  assert.equal(status!.lastOutcome, "skipped (replica)");
  assert.equal(status!.runs, 1);
});

Deno.test("Scheduler: outcomes, errors and logs", async () => {
  const logger = createMemoryLogger();
  let fail = true;
  const scheduler = new Scheduler(logger, () => true)
    .add({
      name: "flaky",
      everyMs: 1000,
      run: () =>
        fail
          ? Promise.reject(new Error("the mail server is down"))
          : Promise.resolve(),
    })
    .add({
      name: "counted",
      everyMs: 2000,
      run: () => Promise.resolve("3 rows"),
    });

  assert.equal(await scheduler.runNow("flaky"), "failed");
  let flaky = scheduler.status().find((s) => s.name === "flaky")!;
  assert.equal(flaky.lastOutcome, "failed");
  assert.equal(flaky.lastError, "the mail server is down");
  assert.equal(flaky.running, false);
  assert.equal(flaky.runs, 1, "a failed run counts");
  const failed = entries(logger, "job failed");
  assert.equal(failed.length, 1);
  assert.equal(failed[0]!.level, "error");
  assert.equal(failed[0]!.job, "flaky");
  assert.equal(failed[0]!.error, "the mail server is down");
  assert.equal(typeof failed[0]!.ms, "number");
  assert.ok((failed[0]!.ms as number) >= 0);

  fail = false;
  assert.equal(await scheduler.runNow("flaky"), "ok");
  flaky = scheduler.status().find((s) => s.name === "flaky")!;
  assert.equal(flaky.lastError, null, "a good run clears the error");
  assert.equal(flaky.runs, 2);

  assert.equal(await scheduler.runNow("counted"), "ok");
  const ran = entries(logger, "job ran");
  assert.deepEqual(ran.map((line) => line.job), ["flaky", "counted"]);
  for (const line of ran) {
    assert.equal(line.level, "info");
    assert.equal(typeof line.ms, "number");
  }
  assert.equal(ran[1]!.result, "3 rows", "what the job returned is logged");
  assert.equal("result" in ran[0]!, false);

  await assert.rejects(() => scheduler.runNow("nope"), /no job named nope/);
});

Deno.test("Scheduler.status: one entry per job, counting runs, as copies", async () => {
  const scheduler = new Scheduler(createMemoryLogger(), () => true)
    .add({ name: "a", everyMs: 1000, run: () => Promise.resolve() })
    .add({ name: "b", everyMs: 5000, run: () => Promise.resolve() });
  const before = scheduler.status();
  assert.deepEqual(before, [
    {
      name: "a",
      everyMs: 1000,
      running: false,
      lastStartedAt: null,
      lastFinishedAt: null,
      lastOutcome: null,
      lastError: null,
      runs: 0,
    },
    {
      name: "b",
      everyMs: 5000,
      running: false,
      lastStartedAt: null,
      lastFinishedAt: null,
      lastOutcome: null,
      lastError: null,
      runs: 0,
    },
  ]);
  for (let i = 0; i < 3; i++) await scheduler.runNow("a");
  await scheduler.runNow("b");
  const after = scheduler.status();
  assert.deepEqual(after.map((s) => [s.name, s.runs]), [["a", 3], ["b", 1]]);
  const a = after[0]!;
  assert.ok(!Number.isNaN(Date.parse(a.lastStartedAt!)));
  assert.ok(Date.parse(a.lastFinishedAt!) >= Date.parse(a.lastStartedAt!));
  a.runs = 99;
  assert.equal(scheduler.status()[0]!.runs, 3, "status() returns copies");
  assert.equal(before[0]!.runs, 0);
});

Deno.test("Scheduler.stop waits for a job in progress", async () => {
  const gated = gatedJob("backup");
  const scheduler = new Scheduler(createMemoryLogger(), () => true).add(
    gated.job,
  );
  const run = scheduler.runNow("backup");
  let stopped = false;
  const stopping = scheduler.stop().then(() => {
    stopped = true;
  });
  await settle();
  assert.equal(stopped, false, "still waiting for the job");
  gated.release();
  await stopping;
  assert.equal(stopped, true);
  assert.equal(scheduler.status()[0]!.running, false);
  assert.equal(scheduler.status()[0]!.lastOutcome, "ok");
  assert.equal(await run, "ok");
  await scheduler.stop(); // nothing running: returns at once
});

Deno.test("Scheduler.start: each job on its own timer, a run still going when the next is due is skipped, stop clears the timers", async () => {
  const clock = FakeTimers.install({
    toFake: ["setInterval", "clearInterval", "setTimeout", "clearTimeout"],
  });
  try {
    const logger = createMemoryLogger();
    const slow = gatedJob("slow", 1000);
    let fastCalls = 0;
    const scheduler = new Scheduler(logger, () => true)
      .add(slow.job)
      .add({
        name: "fast",
        everyMs: 300,
        run: () => {
          fastCalls++;
          return Promise.resolve();
        },
      });
    scheduler.start();
    await clock.tickAsync(999);
    assert.equal(slow.calls, 0);
    assert.equal(fastCalls, 3);
    await clock.tickAsync(1);
    assert.equal(slow.calls, 1);
    await clock.tickAsync(2000);
    assert.equal(slow.calls, 1, "due twice while running: skipped");
    assert.equal(
      entries(logger, "job still running; this run is skipped").length,
      2,
    );
    slow.release();
    await clock.tickAsync(1000);
    assert.equal(slow.calls, 2);
    slow.release();
    await clock.tickAsync(0);
    assert.equal(fastCalls, 13);

    await scheduler.stop();
    await clock.tickAsync(10_000);
    assert.equal(slow.calls, 2, "no run after stop()");
    assert.equal(fastCalls, 13);
    assert.deepEqual(
      scheduler.status().map((s) => [s.name, s.runs]),
      [["slow", 2], ["fast", 13]],
    );
  } finally {
    clock.uninstall();
  }
});

Deno.test({
  name:
    "Scheduler.start: a role that cannot be read (.primary unreadable) skips the run instead of an unhandled rejection",
  fn: async () => {
    const realSetTimeout = globalThis.setTimeout;
    const unhandled: unknown[] = [];
    const onUnhandled = (event: PromiseRejectionEvent) => {
      event.preventDefault();
      unhandled.push(event.reason);
    };
    globalThis.addEventListener("unhandledrejection", onUnhandled);
    const clock = FakeTimers.install({
      toFake: ["setInterval", "clearInterval"],
    });
    let calls = 0;
    try {
      const scheduler = new Scheduler(createMemoryLogger(), () => {
        throw new Deno.errors.NotConnected(
          "Transport endpoint is not connected: readfile '/litefs/.primary'",
        );
      }).add({
        name: "outbox",
        everyMs: 1000,
        run: () => {
          calls++;
          return Promise.resolve();
        },
      });
      scheduler.start();
      await clock.tickAsync(3000);
      await new Promise((resolve) => realSetTimeout(resolve, 0));
      await scheduler.stop();
      assert.deepEqual(unhandled, [], "no unhandled rejection from a timer");
      assert.equal(calls, 0, "not run without knowing it is the primary");
      await scheduler.runNow("outbox"); // resolves, whatever it reports
    } finally {
      clock.uninstall();
      globalThis.removeEventListener("unhandledrejection", onUnhandled);
    }
  },
});

const JOBS = [
  "outbox",
  "subscription tiers",
  "expired quiz attempts",
  "certificate PDFs",
  "practice recordings",
  "tutoring sessions",
  "AI answer cache",
];
const ARCHIVE = /^lectern-\d{8}T\d{6}(\d{3})?Z-[0-9a-z]{6}\.tar\.gz$/;

async function archivesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (ARCHIVE.test(entry.name)) names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names;
}

Deno.test("buildScheduler: the server's jobs; the backup job writes an archive in BACKUP_DIR", async () => {
  const backupDir = await Deno.makeTempDir({ prefix: "lectern-backups-" });
  const ctx = await createTestContext({ BACKUP_DIR: backupDir });
  try {
    const scheduler = buildScheduler(ctx.deps);
    const status = scheduler.status();
    assert.deepEqual(status.map((s) => s.name), [...JOBS, "backup"]);
    // Checked every 15 minutes; a backup is made when the newest is a day old (daily by default).
    assert.equal(
      status.find((s) => s.name === "backup")!.everyMs,
      15 * 60_000,
    );
    assert.equal(ctx.deps.config.backup.everyMs, 24 * 3_600_000);
    assert.ok(status.every((s) => s.everyMs > 0 && s.runs === 0));

    for (const name of JOBS) {
      assert.equal(await scheduler.runNow(name), "ok", name);
    }

    assert.deepEqual(await archivesIn(backupDir), []);
    assert.equal(await scheduler.runNow("backup"), "ok");
    const archives = await archivesIn(backupDir);
    assert.equal(archives.length, 1, "one archive in BACKUP_DIR");
    assert.ok((await Deno.stat(`${backupDir}/${archives[0]}`)).size > 0);
    const logged = ctx.logger.lines.find((line) =>
      line.msg === "job ran" && line.job === "backup"
    );
    assert.ok(logged, "the backup run is logged");
    assert.equal(typeof logged.ms, "number");
    assert.match(String(logged.result), new RegExp(archives[0]!));

    // The next check finds a backup younger than a day: none is due, nothing is written.
    assert.equal(await scheduler.runNow("backup"), "ok");
    assert.deepEqual(await archivesIn(backupDir), archives);
    const second = ctx.logger.lines.filter((line) =>
      line.msg === "job ran" && line.job === "backup"
    ).at(-1);
    assert.match(String(second?.result), /^not due/);
    // A day later it is due again.
    assert.match(
      await scheduledBackup(ctx.deps, Date.now() + 24 * 3_600_000 + 1),
      /^\S+lectern-\S+\.tar\.gz/,
    );
    assert.equal((await archivesIn(backupDir)).length, 2);
    await scheduler.stop();
  } finally {
    await ctx.close();
    await Deno.remove(backupDir, { recursive: true });
  }
});

Deno.test("buildScheduler: no backup job with BACKUP_SCHEDULE=off; a schedule in hours", async () => {
  const off = await createTestContext({ BACKUP_SCHEDULE: "off" });
  try {
    const scheduler = buildScheduler(off.deps);
    assert.deepEqual(scheduler.status().map((s) => s.name), JOBS);
    await assert.rejects(
      () => scheduler.runNow("backup"),
      /no job named backup/,
    );
  } finally {
    await off.close();
  }
  const sixHours = await createTestContext({ BACKUP_SCHEDULE: "6h" });
  try {
    const backup = buildScheduler(sixHours.deps).status().find((s) =>
      s.name === "backup"
    );
    assert.equal(backup?.everyMs, 15 * 60_000);
    assert.equal(sixHours.deps.config.backup.everyMs, 6 * 3_600_000);
  } finally {
    await sixHours.close();
  }
});

Deno.test("buildScheduler: on a LiteFS replica every job is skipped, back to running once promoted", async () => {
  const litefsDir = await Deno.makeTempDir({ prefix: "lectern-litefs-" });
  const backupDir = await Deno.makeTempDir({ prefix: "lectern-backups-" });
  // Migrated as the primary, then a replica.
  const ctx = await createTestContext({
    LITEFS_DIR: litefsDir,
    BACKUP_DIR: backupDir,
  });
  try {
    await Deno.writeTextFile(
      `${litefsDir}/.primary`,
      "e2865641c40e86.vm.lectern-school.internal",
    );
    const scheduler = buildScheduler(ctx.deps);
    for (const name of [...JOBS, "backup"]) {
      assert.equal(await scheduler.runNow(name), "skipped (replica)", name);
    }
    assert.deepEqual(await archivesIn(backupDir), []);
    assert.ok(scheduler.status().every((s) => s.runs === 0));

    await Deno.remove(`${litefsDir}/.primary`);
    assert.equal(await scheduler.runNow("backup"), "ok");
    assert.equal((await archivesIn(backupDir)).length, 1);
  } finally {
    await ctx.close();
    await Deno.remove(litefsDir, { recursive: true });
    await Deno.remove(backupDir, { recursive: true });
  }
});
