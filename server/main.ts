import { createApp } from "./app.ts";
import { openServices } from "./bootstrap.ts";
import { ConfigError, loadConfig } from "./env.ts";
import { heartbeat, serverPidFile } from "./features/backup/service.ts";
import { buildScheduler } from "./jobs.ts";
import { clusterRole } from "./lib/cluster.ts";
import { isEmpty, seedDemo } from "./seed/demo.ts";

const SHUTDOWN_GRACE_MS = 10_000;

async function main() {
  const config = loadConfig(Deno.env.toObject());
  if (config.litefsDir && (!config.jwtSecret || !config.credentialSigningKey)) {
    // Each machine would otherwise make its own: tokens and credentials from one would fail on another.
    throw new ConfigError(
      "Invalid configuration: on a LiteFS cluster (LITEFS_DIR) set JWT_SECRET and CREDENTIAL_SIGNING_KEY as secrets, shared by every machine",
    );
  }
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

  // `deno task start --demo` (or DEMO_SEED=true): a newcomer sees a living school at once.
  const demo = Deno.args.includes("--demo") ||
    (Deno.env.get("DEMO_SEED") === "true" && config.env !== "production");
  if (demo && clusterRole(config.litefsDir).primary && await isEmpty(deps)) {
    const report = await seedDemo(deps);
    log.info("seeded the demo school", {
      accounts: report.accounts.map((a) =>
        `${a.role} ${a.email} ${a.password}`
      ),
    });
  }

  const app = createApp(deps);
  const jobs = buildScheduler(deps);
  jobs.start();
  // `backup restore` refuses while this process is alive.
  const pidFile = serverPidFile(config);
  await Deno.mkdir(config.dataDir, { recursive: true });
  await Deno.writeTextFile(pidFile, String(Deno.pid));
  const stopPidHeartbeat = heartbeat(pidFile);

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
    // A job still running (a backup) gets the same grace as requests, then is left behind.
    await Promise.race([
      jobs.stop(),
      new Promise((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS)),
    ]);
    // Stop accepting, let in-flight requests finish, but never wait forever.
    const timeout = new Promise((resolve) =>
      setTimeout(resolve, SHUTDOWN_GRACE_MS)
    );
    await Promise.race([server.shutdown(), timeout]);
    await services.close();
    stopPidHeartbeat();
    await Deno.remove(pidFile).catch(() => {});
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
