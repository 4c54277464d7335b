import { eq } from "drizzle-orm";
import { recordEvent } from "../events/record.ts";
import { type Role, type User, users } from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import {
  AppError,
  badRequest,
  forbidden,
  unauthorized,
} from "../../lib/errors.ts";
import { burnPasswordCheck, verifyPassword } from "../../lib/passwords.ts";
import { queueEmail } from "../email/service.ts";
import {
  assertAcceptablePassword,
  findUserByEmail,
  getUser,
  insertUser,
  prepareUser,
  setPassword,
} from "../users/service.ts";
import {
  consumeOneTimeToken,
  findOneTimeToken,
  issuedRecently,
  issueOneTimeToken,
} from "./one_time_tokens.ts";
import {
  type ClientInfo,
  createSession,
  revokeAllSessions,
  revokeSession,
  rotateRefreshToken,
} from "./sessions.ts";

export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_MS = 15 * 60_000;
/** A second verification or reset email within this window is silently skipped. */
const RESEND_INTERVAL_MS = 60_000;

export async function register(
  deps: Deps,
  input: {
    name: string;
    email: string;
    password: string;
    role?: Role | undefined;
  },
): Promise<User> {
  // Asking for a role never grants it: an instructor starts as a student with a request on file.
  const requestedRole = input.role && input.role !== "student"
    ? input.role
    : null;
  const row = await prepareUser(deps.db, {
    ...input,
    role: "student",
    requestedRole,
  });
  const { user, token } = await deps.db.transaction(async (tx) => {
    const user = await insertUser(tx, row);
    return {
      user,
      token: await issueOneTimeToken(tx, user.id, "verify_email"),
    };
  });
  await sendVerificationEmail(deps, user, token);
  return user;
}

async function sendVerificationEmail(deps: Deps, user: User, token: string) {
  await queueEmail(deps, user.email, "verify_email", {
    name: user.name,
    link: `${deps.config.appUrl}/verify-email/${token}`,
  });
}

export async function verifyEmail(deps: Deps, token: string): Promise<User> {
  const userId = await consumeOneTimeToken(deps.db, token, "verify_email");
  if (!userId) {
    throw badRequest(
      "INVALID_VERIFICATION_TOKEN",
      "This verification link is invalid, used or expired",
    );
  }
  const user = await getUser(deps, userId);
  if (user.emailVerifiedAt) return user;
  const [updated] = await deps.db.update(users).set({
    emailVerifiedAt: new Date(),
    updatedAt: new Date(),
  })
    .where(eq(users.id, userId)).returning();
  return updated!;
}

/** Sends a fresh link when the account exists and is unverified; says nothing either way. */
export async function resendVerification(
  deps: Deps,
  email: string,
): Promise<void> {
  const user = await findUserByEmail(deps, email);
  if (!user || user.status !== "active" || user.emailVerifiedAt) return;
  if (
    await issuedRecently(deps.db, user.id, "verify_email", RESEND_INTERVAL_MS)
  ) return;
  await sendVerificationEmail(
    deps,
    user,
    await issueOneTimeToken(deps.db, user.id, "verify_email"),
  );
}

export interface IssuedTokens {
  token: string;
  refreshToken: string;
  user: User;
}

function accessTokenFor(deps: Deps, user: User, sessionId: string): string {
  return deps.jwt.sign({
    userId: user.id,
    role: user.role,
    subscriptionTier: user.subscriptionTier,
    sid: sessionId,
  });
}

/** Starts a session for a user who has proven who they are (password or OAuth). */
export async function startSession(
  deps: Deps,
  user: User,
  client: ClientInfo,
): Promise<IssuedTokens> {
  const now = new Date();
  const { sessionId, refreshToken } = await deps.db.transaction(async (tx) => {
    await tx.update(users).set({
      lastLoginAt: now,
      failedLoginCount: 0,
      lockedUntil: null,
    }).where(eq(users.id, user.id));
    const session = await createSession(tx, user.id, client);
    await recordEvent(tx, "user.signed_in", {
      userId: user.id,
      subjectId: session.sessionId,
    });
    return session;
  });
  const fresh = {
    ...user,
    lastLoginAt: now,
    failedLoginCount: 0,
    lockedUntil: null,
  };
  return {
    token: accessTokenFor(deps, fresh, sessionId),
    refreshToken,
    user: fresh,
  };
}

const lockedError = (until: Date) => {
  const seconds = Math.max(1, Math.ceil((until.getTime() - Date.now()) / 1000));
  return new AppError(
    423,
    "ACCOUNT_LOCKED",
    "Too many failed sign-in attempts; the account is locked for a while",
    { retryAfter: seconds, resetAt: until.toISOString() },
    { "Retry-After": String(seconds) },
  );
};

/** Counts a failed password; the fifth in a row locks the account. Returns the lock end, if locked. */
async function recordFailedLogin(deps: Deps, user: User): Promise<Date | null> {
  const lockExpired = user.lockedUntil !== null &&
    user.lockedUntil.getTime() <= Date.now();
  const failures = (lockExpired ? 0 : user.failedLoginCount) + 1;
  const lockedUntil = failures >= MAX_FAILED_LOGINS
    ? new Date(Date.now() + LOCKOUT_MS)
    : null;
  await deps.db.update(users).set({
    failedLoginCount: lockedUntil ? 0 : failures,
    lockedUntil,
  })
    .where(eq(users.id, user.id));
  deps.logger.warn("failed sign-in", {
    userId: user.id,
    failures,
    locked: lockedUntil !== null,
  });
  return lockedUntil;
}

export const banned = () =>
  forbidden("ACCOUNT_BANNED", "This account has been banned");

export async function login(
  deps: Deps,
  input: { email: string; password: string },
  client: ClientInfo,
): Promise<IssuedTokens> {
  const invalid = unauthorized(
    "INVALID_CREDENTIALS",
    "The email or password is incorrect",
  );
  const user = await findUserByEmail(deps, input.email);
  if (!user || user.status === "deleted") {
    await burnPasswordCheck(input.password);
    throw invalid;
  }
  if (user.lockedUntil && user.lockedUntil.getTime() > Date.now()) {
    throw lockedError(user.lockedUntil);
  }
  if (
    !user.passwordHash ||
    !(await verifyPassword(user.passwordHash, input.password))
  ) {
    const lockedUntil = await recordFailedLogin(deps, user);
    throw lockedUntil ? lockedError(lockedUntil) : invalid;
  }
  // Only someone who knows the password learns that the account is banned or unverified.
  if (user.status === "banned") throw banned();
  if (!user.emailVerifiedAt) {
    throw forbidden(
      "EMAIL_NOT_VERIFIED",
      "Verify your email address before logging in",
    );
  }
  return await startSession(deps, user, client);
}

export async function refresh(
  deps: Deps,
  refreshToken: string,
): Promise<{ token: string; refreshToken: string }> {
  const rotated = await deps.db.transaction((tx) =>
    rotateRefreshToken(tx, refreshToken)
  );
  if (rotated.kind === "reused") {
    throw new AppError(
      401,
      "REFRESH_TOKEN_REUSED",
      "This refresh token was already used; every session it belongs to has been signed out",
    );
  }
  if (rotated.kind === "invalid") {
    throw unauthorized(
      "INVALID_REFRESH_TOKEN",
      "The refresh token is invalid or has expired",
    );
  }
  const user = await getUser(deps, rotated.userId).catch(() => undefined);
  if (!user || user.status !== "active") {
    await revokeSession(deps.db, rotated.sessionId, "account_unavailable");
    throw user?.status === "banned"
      ? banned()
      : unauthorized("INVALID_REFRESH_TOKEN", "The account is unavailable");
  }
  return {
    token: accessTokenFor(deps, user, rotated.sessionId),
    refreshToken: rotated.refreshToken,
  };
}

export const logout = (deps: Deps, sessionId: string) =>
  revokeSession(deps.db, sessionId, "logout");
export const logoutAll = (deps: Deps, userId: string) =>
  revokeAllSessions(deps.db, userId, "logout_all");

/** Same outcome whether or not the address has an account. */
export async function forgotPassword(deps: Deps, email: string): Promise<void> {
  const user = await findUserByEmail(deps, email);
  if (!user || user.status !== "active") return;
  if (
    await issuedRecently(deps.db, user.id, "reset_password", RESEND_INTERVAL_MS)
  ) return;
  const token = await issueOneTimeToken(deps.db, user.id, "reset_password");
  await queueEmail(deps, user.email, "reset_password", {
    name: user.name,
    link: `${deps.config.appUrl}/reset-password/${token}`,
  });
}

export async function resetPassword(
  deps: Deps,
  token: string,
  password: string,
): Promise<void> {
  const invalid = () =>
    badRequest(
      "INVALID_RESET_TOKEN",
      "This password reset link is invalid, used or expired",
    );
  const pendingFor = await findOneTimeToken(deps.db, token, "reset_password");
  if (!pendingFor) throw invalid();
  const user = await getUser(deps, pendingFor).catch(() => {
    throw invalid(); // the account was deleted after the link was sent
  });
  // A rejected password must leave the link usable, so the rules are checked before it is spent.
  assertAcceptablePassword(user, password, "password");
  if (!(await consumeOneTimeToken(deps.db, token, "reset_password"))) {
    throw invalid();
  }
  await setPassword(deps, user, password);
  // Following the emailed link proves the address too.
  if (!user.emailVerifiedAt) {
    await deps.db.update(users).set({ emailVerifiedAt: new Date() }).where(
      eq(users.id, user.id),
    );
  }
  await queueEmail(deps, user.email, "password_changed", {
    name: user.name,
    supportUrl: `${deps.config.appUrl}/api/auth/forgot-password`,
  });
}
