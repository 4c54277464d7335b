import type { Deps } from "./deps.ts";
import { scheduledBackup } from "./features/backup/run.ts";
import { renderMissingPdfs } from "./features/certificates/service.ts";
import { deliverDue } from "./features/email/service.ts";
import { finalizeExpiredAttempts } from "./features/quizzes/attempts.ts";
import { processStuckSubmissions } from "./features/practice/processing.ts";
import { runTutoringJobs } from "./features/tutoring/jobs.ts";
import { syncAllTiers } from "./features/subscriptions/current.ts";
import { pruneAnswerCache } from "./features/tutor/chat.ts";
import { clusterRole } from "./lib/cluster.ts";
import { Scheduler } from "./lib/scheduler.ts";

const MINUTE = 60_000;

/**
 * Every periodic job of the server. Each runs on the primary only, never twice at once, and is
 * logged (lib/scheduler.ts).
 */
export function buildScheduler(deps: Deps): Scheduler {
  const scheduler = new Scheduler(
    deps.logger,
    () => clusterRole(deps.config.litefsDir).primary,
  );
  scheduler
    // Emails whose first attempt failed, when their retry is due.
    .add({ name: "outbox", everyMs: MINUTE / 2, run: () => deliverDue(deps) })
    // Access reads subscriptions directly; this keeps the tier shown in listings honest, and ends
    // lapsed plans there.
    .add({
      name: "subscription tiers",
      everyMs: 5 * MINUTE,
      run: () => syncAllTiers(deps.db),
    })
    // Reads finalize an expired attempt lazily; this closes the ones nobody comes back to.
    .add({
      name: "expired quiz attempts",
      everyMs: MINUTE,
      run: () => finalizeExpiredAttempts(deps),
    })
    // A certificate issued just before a crash has no PDF yet.
    .add({
      name: "certificate PDFs",
      everyMs: MINUTE,
      run: () => renderMissingPdfs(deps),
    })
    // Uploads are processed as they arrive; this picks up any a restart interrupted.
    .add({
      name: "practice recordings",
      everyMs: MINUTE,
      run: () => processStuckSubmissions(deps),
    })
    .add({
      name: "tutoring sessions",
      everyMs: MINUTE,
      run: () => runTutoringJobs(deps),
    })
    .add({
      name: "AI answer cache",
      everyMs: 10 * MINUTE,
      run: () => pruneAnswerCache(deps),
    });
  const backupEvery = deps.config.backup.everyMs;
  const file = deps.config.databaseUrl;
  if (backupEvery > 0 && file.startsWith("file:") && file !== "file::memory:") {
    // Checked often; scheduledBackup itself decides whether one is due.
    scheduler.add({
      name: "backup",
      everyMs: Math.min(backupEvery, 15 * MINUTE),
      run: () => scheduledBackup(deps),
    });
  }
  return scheduler;
}
