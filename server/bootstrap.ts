import { createDb } from "../db/client.ts";
import { clusterRole } from "./lib/cluster.ts";
import { runMigrations } from "../db/migrate.ts";
import type { Deps } from "./deps.ts";
import { type Config, ConfigError } from "./env.ts";
import { BackgroundTasks } from "./lib/background.ts";
import { JwtSigner } from "./lib/jwt.ts";
import { createLogger, type Logger } from "./lib/logger.ts";
import { createSmtpTransport } from "./lib/mailer.ts";
import { RateLimiter } from "./lib/rate_limiter.ts";
import { randomSecret } from "./lib/ids.ts";
import { LocalMediaStorage } from "./lib/storage.ts";
import { createStripeClient } from "./lib/stripe.ts";
import { createAiProvider } from "./lib/ai.ts";
import { loadCredentialSigner } from "./lib/signing_key.ts";

/**
 * In development a missing JWT_SECRET is generated once and kept in DATA_DIR, so tokens survive a
 * restart. Production refuses to start without one.
 */
export async function resolveJwtSecret(
  config: Config,
  logger: Logger,
): Promise<string> {
  if (config.jwtSecret) return config.jwtSecret;
  if (config.env === "production") {
    throw new ConfigError(
      "Invalid configuration: JWT_SECRET is required when LECTERN_ENV=production",
    );
  }
  const path = `${config.dataDir}/jwt_secret`;
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const secret = randomSecret(48);
  await Deno.mkdir(config.dataDir, { recursive: true });
  await Deno.writeTextFile(path, secret + "\n", { mode: 0o600 });
  logger.warn(
    `JWT_SECRET is not set: generated one and saved it in ${path}. Set JWT_SECRET in production.`,
  );
  return secret;
}

export interface Services {
  deps: Deps;
  appliedMigrations: string[];
  close(): Promise<void>;
}

/** Opens the database, applies migrations and builds every dependency: for the server and the CLI. */
export async function openServices(
  config: Config,
  options: { logger?: Logger; migrate?: boolean } = {},
): Promise<Services> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const jwtSecret = await resolveJwtSecret(config, logger);
  const database = await createDb(config.databaseUrl, config.databaseAuthToken);
  // A LiteFS replica cannot write: the primary migrates (litefs.yml runs it on the candidate first).
  const appliedMigrations =
    options.migrate === false || !clusterRole(config.litefsDir).primary
      ? []
      : await runMigrations(database.db);
  const mail = config.smtpUrl
    ? createSmtpTransport(config.smtpUrl, config.mailFrom)
    : undefined;
  const background = new BackgroundTasks(logger);
  const deps: Deps = {
    config: { ...config, jwtSecret },
    db: database.db,
    writes: database.generation,
    logger,
    jwt: new JwtSigner(jwtSecret),
    mail,
    background,
    rateLimiter: new RateLimiter(),
    storage: new LocalMediaStorage(`${config.dataDir}/media`),
    stripe: createStripeClient(config.stripe),
    ai: createAiProvider(config.ai),
    signer: await loadCredentialSigner(
      config.dataDir,
      config.credentialSigningKey,
      logger,
    ),
  };
  return {
    deps,
    appliedMigrations,
    async close() {
      await background.idle();
      mail?.close();
      database.close();
    },
  };
}
