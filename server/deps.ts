import type Stripe from "stripe";
import type { Db } from "../db/client.ts";
import type { WriteGeneration } from "../db/write_generation.ts";
import type { OAuthProviderName } from "../db/schema/mod.ts";
import type { Config } from "./env.ts";
import type { BackgroundTasks } from "./lib/background.ts";
import type { JwtSigner } from "./lib/jwt.ts";
import type { AiProvider } from "./lib/ai.ts";
import type { CredentialSigner } from "./lib/signing_key.ts";
import type { Logger } from "./lib/logger.ts";
import type { MailTransport } from "./lib/mailer.ts";
import type { RateLimiter } from "./lib/rate_limiter.ts";
import type { MediaStorage } from "./lib/storage.ts";

export interface OAuthEndpoints {
  authorization: string;
  token: string;
  /** The profile endpoint; for GitHub the address list lives at `${userInfo}/emails`. */
  userInfo: string;
}

/** What every service needs, built once in main.ts (or per test) and passed down explicitly. */
export interface Deps {
  config: Config & { jwtSecret: string };
  db: Db;
  /** Moves on every committed write, ours or another process's: in-process caches key on it. */
  writes: WriteGeneration;
  logger: Logger;
  jwt: JwtSigner;
  mail: MailTransport | undefined;
  background: BackgroundTasks;
  rateLimiter: RateLimiter;
  /** Where uploaded files live: DATA_DIR/media, behind an interface an S3 store can implement. */
  storage: MediaStorage;
  /** The Stripe SDK when STRIPE_SECRET_KEY is set; paid routes answer 503 without it. */
  stripe: Stripe | undefined;
  /** An OpenAI-compatible provider when OPENAI_API_KEY is set; AI features degrade or answer 503 without it. */
  ai: AiProvider | undefined;
  /** The school's Ed25519 key for signed credentials. */
  signer: CredentialSigner;
  /** Overrides for the providers' endpoints; tests point these at a local fake. */
  oauthEndpoints?: Partial<Record<OAuthProviderName, OAuthEndpoints>>;
}
