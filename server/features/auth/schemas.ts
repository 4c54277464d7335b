import * as v from "valibot";
import { MAX_PASSWORD_LENGTH } from "../../lib/passwords.ts";

export const Email = v.pipe(
  v.string("Must be a string"),
  v.trim(),
  v.nonEmpty("Is required"),
  v.maxLength(254, "Must be at most 254 characters"),
  v.email("Must be a valid email"),
);
/** Length and strength rules live in lib/passwords.ts (shared with the CLI); here only the type. */
export const Password = v.pipe(
  v.string("Must be a string"),
  v.nonEmpty("Is required"),
  v.maxLength(
    MAX_PASSWORD_LENGTH,
    `Must be at most ${MAX_PASSWORD_LENGTH} characters`,
  ),
);
export const Name = v.pipe(
  v.string("Must be a string"),
  v.trim(),
  v.nonEmpty("Is required"),
  v.maxLength(100, "Must be at most 100 characters"),
);

export const RegisterBody = v.object({
  name: Name,
  email: Email,
  password: Password,
  role: v.optional(
    v.picklist(["student", "instructor"], "Must be student or instructor"),
  ),
});
export const LoginBody = v.object({ email: Email, password: Password });
export const EmailBody = v.object({ email: Email });
export const RefreshBody = v.object({
  refreshToken: v.pipe(v.string(), v.nonEmpty("Is required"), v.maxLength(200)),
});
export const ResetPasswordBody = v.object({ password: Password });
export const TokenParam = v.object({
  token: v.pipe(
    v.string(),
    v.regex(/^[a-z2-7]{1,128}$/, "Is not a valid token"),
  ),
});

export const SessionUser = v.object({
  id: v.string(),
  name: v.string(),
  email: v.string(),
  role: v.string(),
  avatar: v.nullable(v.string()),
  subscriptionTier: v.string(),
});
export const TokensResponse = v.object({
  success: v.literal(true),
  token: v.string(),
  refreshToken: v.string(),
  user: SessionUser,
});
export const RefreshResponse = v.object({
  success: v.literal(true),
  token: v.string(),
  refreshToken: v.string(),
});
export const RegisterResponse = v.object({
  success: v.literal(true),
  message: v.string(),
  userId: v.string(),
});
