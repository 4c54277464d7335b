import * as v from "valibot";
import { Name, Password } from "../auth/schemas.ts";

export const HttpUrl = v.pipe(
  v.string(),
  v.trim(),
  v.maxLength(500),
  v.url("Must be a URL"),
  v.regex(/^https?:\/\//i, "Must be an http(s) URL"),
);

/** Links a profile or an application may show; http(s) only. */
export const SocialLinksBody = v.strictObject({
  website: v.optional(HttpUrl),
  twitter: v.optional(HttpUrl),
  linkedin: v.optional(HttpUrl),
  github: v.optional(HttpUrl),
  youtube: v.optional(HttpUrl),
});

export const UpdateProfileBody = v.strictObject({
  name: v.optional(Name),
  bio: v.optional(
    v.nullable(
      v.pipe(
        v.string(),
        v.trim(),
        v.maxLength(2000, "Must be at most 2000 characters"),
      ),
    ),
  ),
  avatar: v.optional(v.nullable(HttpUrl)),
  socialLinks: v.optional(SocialLinksBody),
  preferences: v.optional(v.strictObject({
    emailNotifications: v.optional(v.boolean("Must be true or false")),
    theme: v.optional(
      v.picklist(["light", "dark", "system"], "Must be light, dark or system"),
    ),
  })),
}, "Unknown field");

export const ChangePasswordBody = v.object({
  currentPassword: Password,
  newPassword: Password,
});
export const DeleteAccountBody = v.object({ password: Password });

export const UserSchema = v.object({
  id: v.string(),
  name: v.string(),
  email: v.string(),
  role: v.string(),
  avatar: v.nullable(v.string()),
  bio: v.nullable(v.string()),
  socialLinks: v.record(v.string(), v.string()),
  subscriptionTier: v.string(),
  emailVerified: v.boolean(),
  preferences: v.object({ emailNotifications: v.boolean(), theme: v.string() }),
  status: v.string(),
  createdAt: v.string(),
  lastLoginAt: v.nullable(v.string()),
});
export const UserResponse = v.object({
  success: v.literal(true),
  user: UserSchema,
});

export const ProfileResponse = v.object({
  success: v.literal(true),
  user: v.object({
    ...UserSchema.entries,
    subscriptionExpiry: v.nullable(v.string()),
    stats: v.object({
      programsEnrolled: v.number(),
      quizzesTaken: v.number(),
      certificatesEarned: v.number(),
      totalPoints: v.number(),
      streak: v.number(),
    }),
  }),
});
