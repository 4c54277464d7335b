import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const ROLES = ["student", "instructor", "admin"] as const;
export type Role = (typeof ROLES)[number];
export const USER_STATUSES = ["active", "banned", "deleted"] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export interface SocialLinks {
  website?: string;
  twitter?: string;
  linkedin?: string;
  github?: string;
  youtube?: string;
}
export interface Preferences {
  /** Off: no optional notification email at all (account and security mail still comes). */
  emailNotifications: boolean;
  theme: "light" | "dark" | "system";
  /** Per notification type; a type not listed follows `emailNotifications`. */
  emails?: Record<string, boolean>;
}
export const DEFAULT_PREFERENCES: Preferences = {
  emailNotifications: true,
  theme: "system",
};

const timestamp = (name: string) => integer(name, { mode: "timestamp_ms" });

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    /** Trimmed and lower-cased; a deleted account's address is replaced so it can register again. */
    email: text("email").notNull().unique(),
    name: text("name").notNull(),
    /** Null for accounts that only sign in through OAuth. */
    passwordHash: text("password_hash"),
    role: text("role", { enum: ROLES }).notNull().default("student"),
    /** What the person asked for at registration (e.g. instructor); never granted by itself. */
    requestedRole: text("requested_role", { enum: ROLES }),
    status: text("status", { enum: USER_STATUSES }).notNull().default("active"),
    banReason: text("ban_reason"),
    emailVerifiedAt: timestamp("email_verified_at"),
    avatarUrl: text("avatar_url"),
    bio: text("bio"),
    socialLinks: text("social_links", { mode: "json" }).$type<SocialLinks>()
      .notNull().default({}),
    preferences: text("preferences", { mode: "json" }).$type<Preferences>()
      .notNull().default(DEFAULT_PREFERENCES),
    /** A copy of the tier the subscriptions table gives now, for listings; access reads subscriptions. */
    subscriptionTier: text("subscription_tier").notNull().default("free"),
    stripeCustomerId: text("stripe_customer_id").unique(),
    failedLoginCount: integer("failed_login_count").notNull().default(0),
    lockedUntil: timestamp("locked_until"),
    lastLoginAt: timestamp("last_login_at"),
    createdAt: timestamp("created_at").notNull(),
    updatedAt: timestamp("updated_at").notNull(),
    deletedAt: timestamp("deleted_at"),
  },
  (
    t,
  ) => [
    index("users_role_idx").on(t.role),
    index("users_created_at_idx").on(t.createdAt),
  ],
);

export type User = typeof users.$inferSelect;
