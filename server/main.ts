import { createApp } from "./app.ts";
import { openServices } from "./bootstrap.ts";
import { ConfigError, loadConfig } from "./env.ts";
import { deliverDue } from "./features/email/service.ts";
import { syncAllTiers } from "./features/subscriptions/current.ts";
import { finalizeExpiredAttempts } from "./features/quizzes/attempts.ts";
import { renderMissingPdfs } from "./features/certificates/service.ts";
import { pruneAnswerCache } from "./features/tutor/chat.ts";

const SHUTDOWN_GRACE_MS = 10_000;
const OUTBOX_SWEEP_MS = 30_000;
const TIER_SWEEP_MS = 5 * 60_000;
const ATTEMPT_SWEEP_MS = 60_000;

async function main() {
  const config = loadConfig(Deno.env.toObject());
  const services = await openServices(config);
  const { deps } = services;
  const log = deps.logger;
  if (services.appliedMigrations.length > 0) {
    log.info("applied migrations", { migrations: services.appliedMigrations });
  }
  if (!deps.mail) {
    log.warn(
      "SMTP_URL is not set: emails are kept in the outbox and written to this log",
    );
  }

  const app = createApp(deps);
  const sweep = setInterval(
    () => deps.background.run("outbox sweep", () => deliverDue(deps)),
    OUTBOX_SWEEP_MS,
  );
  // Access reads subscriptions directly; this keeps the stored tier shown in listings honest.
  const tierSweep = setInterval(
    () => deps.background.run("tier sweep", () => syncAllTiers(deps.db)),
    TIER_SWEEP_MS,
  );
  // Reads finalize an expired attempt lazily; this closes the ones nobody comes back to.
  const attemptSweep = setInterval(
    () =>
      deps.background.run(
        "quiz attempt sweep",
        async () => {
          await finalizeExpiredAttempts(deps);
          // A certificate issued just before a crash has no PDF yet.
          await renderMissingPdfs(deps);
          await pruneAnswerCache(deps);
        },
      ),
    ATTEMPT_SWEEP_MS,
  );

  const server = Deno.serve({
    port: config.port,
    hostname: "0.0.0.0",
    onListen: ({ port }) => {
      log.info(
        `Lectern listening on http://localhost:${port} (public URL ${config.appUrl})`,
      );
      log.info(
        'API reference at /docs; create the first admin with: deno task cli users create --role admin --email you@school.example --name "Your Name"',
      );
    },
  }, app.fetch);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    clearInterval(sweep);
    clearInterval(tierSweep);
    clearInterval(attemptSweep);
    // Stop accepting, let in-flight requests finish, but never wait forever.
    const timeout = new Promise((resolve) =>
      setTimeout(resolve, SHUTDOWN_GRACE_MS)
    );
    await Promise.race([server.shutdown(), timeout]);
    await services.close();
    log.info("stopped");
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", () => void shutdown("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => void shutdown("SIGTERM"));
}

try {
  await main();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    Deno.exit(1);
  }
  throw error;
}
