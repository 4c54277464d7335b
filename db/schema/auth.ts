import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
} from "drizzle-orm/sqlite-core";
import { users } from "./users.ts";

const timestamp = (name: string) => integer(name, { mode: "timestamp_ms" });

/** One sign-in on one device: the family that every rotated refresh token of it belongs to. */
export const sessions = sqliteTable("sessions", {
  id: text("id").primaryKey(),
  userId: text("user_id").notNull().references(() => users.id, {
    onDelete: "cascade",
  }),
  createdAt: timestamp("created_at").notNull(),
  lastUsedAt: timestamp("last_used_at").notNull(),
  revokedAt: timestamp("revoked_at"),
  revokeReason: text("revoke_reason"),
  userAgent: text("user_agent"),
  ip: text("ip"),
}, (t) => [index("sessions_user_idx").on(t.userId)]);

/** Refresh tokens are stored as SHA-256 hashes; `usedAt` marks one already rotated. */
export const refreshTokens = sqliteTable("refresh_tokens", {
  id: text("id").primaryKey(),
  sessionId: text("session_id").notNull().references(() => sessions.id, {
    onDelete: "cascade",
  }),
  tokenHash: text("token_hash").notNull().unique(),
  createdAt: timestamp("created_at").notNull(),
  expiresAt: timestamp("expires_at").notNull(),
  usedAt: timestamp("used_at"),
}, (t) => [index("refresh_tokens_session_idx").on(t.sessionId)]);

export const ONE_TIME_TOKEN_PURPOSES = [
  "verify_email",
  "reset_password",
] as const;
export type OneTimeTokenPurpose = (typeof ONE_TIME_TOKEN_PURPOSES)[number];

/** Single-use tokens sent by email, stored hashed. */
export const oneTimeTokens = sqliteTable("one_time_tokens", {
  id: text("id").primaryKey(),
  userId: text("user_id").notNull().references(() => users.id, {
    onDelete: "cascade",
  }),
  purpose: text("purpose", { enum: ONE_TIME_TOKEN_PURPOSES }).notNull(),
  tokenHash: text("token_hash").notNull().unique(),
  createdAt: timestamp("created_at").notNull(),
  expiresAt: timestamp("expires_at").notNull(),
  usedAt: timestamp("used_at"),
}, (t) => [index("one_time_tokens_user_purpose_idx").on(t.userId, t.purpose)]);

export const OAUTH_PROVIDERS = ["google", "github"] as const;
export type OAuthProviderName = (typeof OAUTH_PROVIDERS)[number];

export const oauthAccounts = sqliteTable(
  "oauth_accounts",
  {
    provider: text("provider", { enum: OAUTH_PROVIDERS }).notNull(),
    providerUserId: text("provider_user_id").notNull(),
    userId: text("user_id").notNull().references(() => users.id, {
      onDelete: "cascade",
    }),
    createdAt: timestamp("created_at").notNull(),
  },
  (
    t,
  ) => [
    primaryKey({ columns: [t.provider, t.providerUserId] }),
    index("oauth_accounts_user_idx").on(t.userId),
  ],
);
