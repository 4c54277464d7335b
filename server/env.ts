import * as v from "valibot";
import { LOG_LEVELS, type LogLevel } from "./lib/logger.ts";

/** Every setting comes from an environment variable; this is the one list of them. */
const optionalText = v.optional(v.pipe(v.string(), v.trim(), v.minLength(1)));
const url = (name: string) =>
  v.pipe(
    v.string(),
    v.trim(),
    v.url(`${name} must be an absolute URL such as http://localhost:8000`),
  );
const positiveInt = (name: string) =>
  v.pipe(
    v.string(),
    v.trim(),
    v.regex(/^[1-9][0-9]*$/, `${name} must be a positive whole number`),
    v.transform(Number),
  );
const flag = v.pipe(
  v.picklist(["true", "false", "1", "0"]),
  v.transform((s) => s === "true" || s === "1"),
);

const EnvSchema = v.object({
  PORT: v.optional(
    v.pipe(
      positiveInt("PORT"),
      v.maxValue(65535, "PORT must be at most 65535"),
    ),
    "8000",
  ),
  APP_URL: v.optional(url("APP_URL")),
  DATA_DIR: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1)), "./data"),
  DATABASE_URL: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.regex(
        /^(file:|libsql:|https?:|wss?:)/,
        "DATABASE_URL must start with file:, libsql:, http(s): or ws(s):",
      ),
    ),
  ),
  DATABASE_AUTH_TOKEN: optionalText,
  /** The LiteFS mount (e.g. /litefs); set on a cluster so the app knows whether it is the primary. */
  LITEFS_DIR: optionalText,
  /** Where backups are written and listed; `DATA_DIR/backups` by default. */
  BACKUP_DIR: optionalText,
  /** How often the server backs itself up: off, hourly, daily (the default) or a number of hours (`6h`). */
  BACKUP_SCHEDULE: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.toLowerCase(),
      v.regex(
        /^(off|hourly|daily|[1-9][0-9]{0,2}h)$/,
        "BACKUP_SCHEDULE must be off, hourly, daily or a number of hours like 6h",
      ),
      // Timers cannot wait longer than 2^31 ms (about 596 hours).
      v.check(
        (value) => !value.endsWith("h") || Number(value.slice(0, -1)) <= 596,
        "BACKUP_SCHEDULE can be at most 596h",
      ),
    ),
    "daily",
  ),
  BACKUP_KEEP: v.optional(positiveInt("BACKUP_KEEP"), "30"),
  BACKUP_S3_BUCKET: optionalText,
  BACKUP_S3_PREFIX: v.optional(v.pipe(v.string(), v.trim()), "lectern"),
  BACKUP_S3_REGION: optionalText,
  BACKUP_S3_ENDPOINT: v.optional(url("BACKUP_S3_ENDPOINT")),
  BACKUP_S3_ACCESS_KEY_ID: optionalText,
  BACKUP_S3_SECRET_ACCESS_KEY: optionalText,
  /** Path-style addressing (MinIO and most self-hosted S3); virtual-hosted for AWS and Tigris. */
  BACKUP_S3_FORCE_PATH_STYLE: v.optional(flag, "false"),
  LECTERN_ENV: v.optional(
    v.picklist(
      ["development", "production", "test"],
      "LECTERN_ENV must be development, production or test",
    ),
    "development",
  ),
  JWT_SECRET: v.optional(
    v.pipe(
      v.string(),
      v.minLength(32, "JWT_SECRET must be at least 32 characters"),
    ),
  ),
  SMTP_URL: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.regex(/^smtps?:\/\//, "SMTP_URL must start with smtp:// or smtps://"),
    ),
  ),
  MAIL_FROM: v.optional(
    v.pipe(v.string(), v.trim(), v.minLength(3)),
    "Lectern <no-reply@localhost>",
  ),
  CORS_ORIGINS: v.optional(v.string(), ""),
  LOG_LEVEL: v.optional(
    v.picklist(LOG_LEVELS, `LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`),
    "info",
  ),
  AUTH_RATE_LIMIT: v.optional(positiveInt("AUTH_RATE_LIMIT"), "60"),
  /** Certificate verification lookups per IP a minute. */
  VERIFY_RATE_LIMIT: v.optional(positiveInt("VERIFY_RATE_LIMIT"), "120"),
  /** Unknown codes per IP in 15 minutes before verification answers 429. */
  VERIFY_MISS_LIMIT: v.optional(positiveInt("VERIFY_MISS_LIMIT"), "30"),
  /** The first delay added to a miss once an IP has missed 5 times; it doubles with each miss. */
  VERIFY_MISS_DELAY_MS: v.optional(
    positiveInt("VERIFY_MISS_DELAY_MS"),
    "250",
  ),
  TRUST_PROXY: v.optional(flag, "false"),
  BODY_LIMIT_BYTES: v.optional(positiveInt("BODY_LIMIT_BYTES"), "1048576"),
  UPLOAD_LIMIT_BYTES: v.optional(
    positiveInt("UPLOAD_LIMIT_BYTES"),
    "104857600",
  ),
  /** Messages and recording comments per person a minute. */
  MESSAGE_RATE_LIMIT: v.optional(positiveInt("MESSAGE_RATE_LIMIT"), "30"),
  /** The programs that read practice recordings; a name on PATH or a full path. */
  FFMPEG_PATH: v.optional(v.string(), "ffmpeg"),
  FFPROBE_PATH: v.optional(v.string(), "ffprobe"),
  GOOGLE_CLIENT_ID: optionalText,
  GOOGLE_CLIENT_SECRET: optionalText,
  GITHUB_CLIENT_ID: optionalText,
  GITHUB_CLIENT_SECRET: optionalText,
  STRIPE_SECRET_KEY: optionalText,
  STRIPE_WEBHOOK_SECRET: optionalText,
  STRIPE_PRICE_BASIC: optionalText,
  STRIPE_PRICE_PREMIUM: optionalText,
  STRIPE_API_BASE: v.optional(url("STRIPE_API_BASE")),
  SCHOOL_NAME: v.optional(
    v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(200)),
    "Lectern School",
  ),
  /** A path to a PNG or JPEG logo for certificates. */
  SCHOOL_LOGO: optionalText,
  /** The currency dashboards and reports total in; other currencies are listed beside it. */
  SCHOOL_CURRENCY: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.toLowerCase(),
      v.regex(/^[a-z]{3}$/, "SCHOOL_CURRENCY must be a three-letter code"),
    ),
    "usd",
  ),
  /** A private Ed25519 JWK shared by every machine; otherwise one kept in DATA_DIR. */
  CREDENTIAL_SIGNING_KEY: v.optional(
    v.pipe(
      v.string(),
      v.check(
        (text) => {
          try {
            const jwk = JSON.parse(text);
            return jwk.kty === "OKP" && jwk.crv === "Ed25519" && !!jwk.d;
          } catch {
            return false;
          }
        },
        "CREDENTIAL_SIGNING_KEY must be a private Ed25519 JWK (kty OKP, crv Ed25519, d)",
      ),
    ),
  ),
  OPENAI_API_KEY: optionalText,
  OPENAI_BASE_URL: v.optional(url("OPENAI_BASE_URL")),
  OPENAI_MODEL: v.optional(
    v.pipe(v.string(), v.trim(), v.minLength(1)),
    "gpt-4o-mini",
  ),
  OPENAI_TIMEOUT_MS: v.optional(positiveInt("OPENAI_TIMEOUT_MS"), "60000"),
  /** `on`: tutor questions go through the provider's moderation endpoint first. */
  AI_MODERATION: v.optional(
    v.picklist(["on", "off"], "AI_MODERATION must be on or off"),
    "off",
  ),
});

export interface OAuthCredentials {
  clientId: string;
  clientSecret: string;
}

export interface Config {
  port: number;
  appUrl: string;
  dataDir: string;
  databaseUrl: string;
  databaseAuthToken: string | undefined;
  env: "development" | "production" | "test";
  jwtSecret: string | undefined;
  smtpUrl: string | undefined;
  mailFrom: string;
  corsOrigins: string[];
  logLevel: LogLevel;
  authRateLimit: number;
  verify: { rateLimit: number; missLimit: number; missDelayMs: number };
  trustProxy: boolean;
  bodyLimitBytes: number;
  /** Multipart uploads (media); each kind has its own lower limit too. */
  uploadLimitBytes: number;
  messageRateLimit: number;
  media: { ffmpegPath: string; ffprobePath: string };
  oauth: {
    google: OAuthCredentials | undefined;
    github: OAuthCredentials | undefined;
  };
  stripe: StripeConfig;
  ai: AiConfig;
  school: { name: string; logoPath: string | undefined; currency: string };
  credentialSigningKey: string | undefined;
  litefsDir: string | undefined;
  backup: BackupConfig;
}

export interface BackupConfig {
  dir: string;
  /** Milliseconds between scheduled backups; 0 is off. */
  everyMs: number;
  keep: number;
  s3: S3Config | undefined;
}

export interface S3Config {
  bucket: string;
  prefix: string;
  region: string;
  endpoint: string | undefined;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  forcePathStyle: boolean;
}

const HOUR_MS = 3_600_000;
function scheduleMs(schedule: string): number {
  if (schedule === "off") return 0;
  if (schedule === "hourly") return HOUR_MS;
  if (schedule === "daily") return 24 * HOUR_MS;
  return Number(schedule.slice(0, -1)) * HOUR_MS;
}

/** Any OpenAI-compatible provider (OpenAI, Mistral, Ollama, vLLM, llama.cpp); off without a key. */
export interface AiConfig {
  apiKey: string | undefined;
  baseUrl: string | undefined;
  model: string;
  timeoutMs: number;
  moderation: boolean;
}

export interface StripeConfig {
  secretKey: string | undefined;
  webhookSecret: string | undefined;
  /** Stripe price ids of the paid plans. */
  prices: { basic: string | undefined; premium: string | undefined };
  /** Another Stripe-compatible API (stripe-mock, a test fake); Stripe itself when unset. */
  apiBase: string | undefined;
}

export class ConfigError extends Error {}

const pair = (id: string | undefined, secret: string | undefined) =>
  id && secret ? { clientId: id, clientSecret: secret } : undefined;

/** Parses the environment; a bad value throws one line naming the variable and what is wrong. */
export function loadConfig(source: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(
    Object.entries(source).filter(([, value]) =>
      value !== undefined && value !== ""
    ),
  );
  const result = v.safeParse(EnvSchema, present);
  if (!result.success) {
    const issue = result.issues[0];
    const name = issue.path?.[0]?.key ?? "environment";
    const message = issue.message.startsWith(String(name))
      ? issue.message
      : `${String(name)}: ${issue.message}`;
    throw new ConfigError(`Invalid configuration: ${message}`);
  }
  const e = result.output;
  const dataDir = e.DATA_DIR.replace(/\/+$/, "");
  return {
    port: e.PORT,
    appUrl: (e.APP_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ""),
    dataDir,
    databaseUrl: e.DATABASE_URL ?? `file:${dataDir}/lectern.db`,
    databaseAuthToken: e.DATABASE_AUTH_TOKEN,
    env: e.LECTERN_ENV,
    jwtSecret: e.JWT_SECRET,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    corsOrigins: e.CORS_ORIGINS.split(",").map((s) => s.trim()).filter(Boolean),
    logLevel: e.LOG_LEVEL,
    authRateLimit: e.AUTH_RATE_LIMIT,
    verify: {
      rateLimit: e.VERIFY_RATE_LIMIT,
      missLimit: e.VERIFY_MISS_LIMIT,
      missDelayMs: e.VERIFY_MISS_DELAY_MS,
    },
    trustProxy: e.TRUST_PROXY,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    uploadLimitBytes: e.UPLOAD_LIMIT_BYTES,
    messageRateLimit: e.MESSAGE_RATE_LIMIT,
    media: { ffmpegPath: e.FFMPEG_PATH, ffprobePath: e.FFPROBE_PATH },
    oauth: {
      google: pair(e.GOOGLE_CLIENT_ID, e.GOOGLE_CLIENT_SECRET),
      github: pair(e.GITHUB_CLIENT_ID, e.GITHUB_CLIENT_SECRET),
    },
    stripe: {
      secretKey: e.STRIPE_SECRET_KEY,
      webhookSecret: e.STRIPE_WEBHOOK_SECRET,
      prices: { basic: e.STRIPE_PRICE_BASIC, premium: e.STRIPE_PRICE_PREMIUM },
      apiBase: e.STRIPE_API_BASE,
    },
    school: {
      name: e.SCHOOL_NAME,
      logoPath: e.SCHOOL_LOGO,
      currency: e.SCHOOL_CURRENCY,
    },
    credentialSigningKey: e.CREDENTIAL_SIGNING_KEY,
    litefsDir: e.LITEFS_DIR?.replace(/\/+$/, ""),
    backup: {
      dir: (e.BACKUP_DIR ?? `${dataDir}/backups`).replace(/\/+$/, ""),
      everyMs: scheduleMs(e.BACKUP_SCHEDULE),
      keep: e.BACKUP_KEEP,
      s3: e.BACKUP_S3_BUCKET
        ? {
          bucket: e.BACKUP_S3_BUCKET,
          prefix: e.BACKUP_S3_PREFIX.replace(/^\/+|\/+$/g, ""),
          // Tigris and R2 take "auto"; AWS itself (no endpoint) needs a real region.
          region: e.BACKUP_S3_REGION ??
            (e.BACKUP_S3_ENDPOINT ? "auto" : "us-east-1"),
          endpoint: e.BACKUP_S3_ENDPOINT,
          accessKeyId: e.BACKUP_S3_ACCESS_KEY_ID,
          secretAccessKey: e.BACKUP_S3_SECRET_ACCESS_KEY,
          forcePathStyle: e.BACKUP_S3_FORCE_PATH_STYLE,
        }
        : undefined,
    },
    ai: {
      apiKey: e.OPENAI_API_KEY,
      baseUrl: e.OPENAI_BASE_URL,
      model: e.OPENAI_MODEL,
      timeoutMs: e.OPENAI_TIMEOUT_MS,
      moderation: e.AI_MODERATION === "on",
    },
  };
}
