import { and, asc, count, desc, eq, or, type SQL, sql } from "drizzle-orm";
import {
  instructorApplications,
  notifications,
  type Preferences,
  type Role,
  type SocialLinks,
  type User,
  users,
} from "../../../db/schema/mod.ts";
import type { DbOrTx } from "../../../db/client.ts";
import type { Deps } from "../../deps.ts";
import {
  AppError,
  conflict,
  forbidden,
  notFound,
  validationFailed,
} from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { likeContains } from "../../lib/like.ts";
import { asSentence } from "../../lib/plain_text.ts";
import {
  hashPassword,
  passwordProblem,
  verifyPassword,
} from "../../lib/passwords.ts";
import { expireOneTimeTokens } from "../auth/one_time_tokens.ts";
import { revokeAllSessions } from "../auth/sessions.ts";
import { audit, type AuditedActor, changedFields } from "../audit/service.ts";
import { ensureInstructorProfile } from "../instructors/service.ts";
import { deliver, storeNotification } from "../notifications/service.ts";

type DbDeps = Pick<Deps, "db">;
type AccountDeps = Pick<
  Deps,
  "db" | "mail" | "logger" | "background" | "config"
>;

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

/** The account as the API shows it to its owner (and to admins). */
export function toUserResponse(user: User) {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    role: user.role,
    avatar: user.avatarUrl,
    bio: user.bio,
    socialLinks: user.socialLinks,
    subscriptionTier: user.subscriptionTier,
    emailVerified: user.emailVerifiedAt !== null,
    preferences: user.preferences,
    status: user.status,
    createdAt: user.createdAt.toISOString(),
    lastLoginAt: user.lastLoginAt?.toISOString() ?? null,
  };
}
export type UserResponse = ReturnType<typeof toUserResponse>;

/** The short form 002 returns with tokens at login. */
export const toSessionUser = (user: User) => ({
  id: user.id,
  name: user.name,
  email: user.email,
  role: user.role,
  avatar: user.avatarUrl,
  subscriptionTier: user.subscriptionTier,
});

export async function findUserByEmail(
  deps: { db: DbOrTx },
  email: string,
): Promise<User | undefined> {
  const [user] = await deps.db.select().from(users).where(
    eq(users.email, normalizeEmail(email)),
  );
  return user;
}

export async function getUser(deps: DbDeps, id: string): Promise<User> {
  const [user] = await deps.db.select().from(users).where(eq(users.id, id));
  if (!user || user.status === "deleted") throw notFound("User");
  return user;
}

/** Looks a user up by id or email: what the CLI accepts wherever it names a user. */
export async function resolveUser(
  deps: DbDeps,
  idOrEmail: string,
): Promise<User> {
  if (idOrEmail.includes("@")) {
    const user = await findUserByEmail(deps, idOrEmail);
    if (!user) throw notFound("User");
    return user;
  }
  return await getUser(deps, idOrEmail);
}

export interface NewUser {
  email: string;
  name: string;
  password: string | null;
  role?: Role;
  requestedRole?: Role | null;
  emailVerified?: boolean;
  avatarUrl?: string | null;
}

/**
 * Checks and prepares a new account (password rules, free address, argon2 hash) without writing,
 * so callers can insert it inside their own transaction without hashing while holding the lock.
 */
export async function prepareUser(
  db: DbOrTx,
  input: NewUser,
): Promise<typeof users.$inferInsert> {
  const email = normalizeEmail(input.email);
  if (input.password !== null) {
    const problem = passwordProblem(input.password, {
      email,
      name: input.name,
    });
    if (problem) throw validationFailed({ password: problem });
  }
  if (await findUserByEmail({ db }, email)) throw emailTaken();
  const now = new Date();
  return {
    id: newId(),
    email,
    name: input.name.trim(),
    passwordHash: input.password === null
      ? null
      : await hashPassword(input.password),
    role: input.role ?? "student",
    requestedRole: input.requestedRole ?? null,
    emailVerifiedAt: input.emailVerified ? now : null,
    avatarUrl: input.avatarUrl ?? null,
    createdAt: now,
    updatedAt: now,
  };
}

const emailTaken = () =>
  conflict("EMAIL_TAKEN", "An account with this email already exists");

export async function insertUser(
  db: DbOrTx,
  row: typeof users.$inferInsert,
): Promise<User> {
  try {
    const [user] = await db.insert(users).values(row).returning();
    if (user!.role === "instructor") {
      await ensureInstructorProfile(db, user!.id);
    }
    return user!;
  } catch (error) {
    // Two registrations racing for one address: the unique index decides.
    if (
      String((error as { cause?: unknown }).cause ?? error).includes("UNIQUE")
    ) throw emailTaken();
    throw error;
  }
}

/** The one way an account comes to exist: registration, the CLI and OAuth all end here. */
export async function createUser(db: DbOrTx, input: NewUser): Promise<User> {
  return await insertUser(db, await prepareUser(db, input));
}

/** `users create` (CLI): an administrator makes an account (e.g. the first admin), audited. */
export async function createAccount(
  deps: DbDeps,
  actor: AuditedActor,
  input: NewUser,
): Promise<User> {
  const row = await prepareUser(deps.db, input);
  return await deps.db.transaction(async (tx) => {
    const user = await insertUser(tx, row);
    await audit(tx, actor, {
      action: "user.create",
      targetType: "user",
      targetId: user.id,
      after: { email: user.email, role: user.role },
    });
    return user;
  });
}

export interface ProfileChanges {
  name?: string | undefined;
  bio?: string | null | undefined;
  avatar?: string | null | undefined;
  socialLinks?: SocialLinks | undefined;
  preferences?: Partial<Preferences> | undefined;
}

export async function updateProfile(
  deps: DbDeps,
  userId: string,
  changes: ProfileChanges,
): Promise<User> {
  const user = await getUser(deps, userId);
  const [updated] = await deps.db.update(users).set({
    ...(changes.name !== undefined ? { name: changes.name.trim() } : {}),
    ...(changes.bio !== undefined ? { bio: changes.bio } : {}),
    ...(changes.avatar !== undefined ? { avatarUrl: changes.avatar } : {}),
    ...(changes.socialLinks !== undefined
      ? { socialLinks: changes.socialLinks }
      : {}),
    ...(changes.preferences !== undefined
      ? { preferences: { ...user.preferences, ...changes.preferences } }
      : {}),
    updatedAt: new Date(),
  }).where(eq(users.id, userId)).returning();
  return updated!;
}

async function requirePassword(user: User, password: string, field: string) {
  if (
    !user.passwordHash || !(await verifyPassword(user.passwordHash, password))
  ) {
    throw new AppError(403, "INCORRECT_PASSWORD", "The password is incorrect", {
      fields: { [field]: "Is incorrect" },
    });
  }
}

export function assertAcceptablePassword(
  user: User,
  password: string,
  field: string,
): void {
  const problem = passwordProblem(password, {
    email: user.email,
    name: user.name,
  });
  if (problem) throw validationFailed({ [field]: problem });
}

/** Sets a new password and ends every session except `keepSessionId` (the caller's own, if any). */
export async function setPassword(
  deps: DbDeps,
  user: User,
  newPassword: string,
  keepSessionId?: string,
): Promise<void> {
  assertAcceptablePassword(user, newPassword, "newPassword");
  const passwordHash = await hashPassword(newPassword);
  await deps.db.transaction(async (tx) => {
    await tx.update(users).set({
      passwordHash,
      failedLoginCount: 0,
      lockedUntil: null,
      updatedAt: new Date(),
    })
      .where(eq(users.id, user.id));
    await revokeAllSessions(tx, user.id, "password_changed", keepSessionId);
    // Reset links sent before the change must not undo it.
    await expireOneTimeTokens(tx, user.id, "reset_password");
  });
}

export async function changePassword(
  deps: DbDeps,
  userId: string,
  input: { currentPassword: string; newPassword: string },
  currentSessionId: string,
): Promise<void> {
  const user = await getUser(deps, userId);
  await requirePassword(user, input.currentPassword, "currentPassword");
  await setPassword(deps, user, input.newPassword, currentSessionId);
}

/**
 * Soft delete: the row stays for what refers to it, but everything personal is wiped, the address is
 * freed for a new registration, and every session ends.
 */
/** What else holds a deleted person's words: their notifications and applications to teach. */
async function forgetPersonalRecords(tx: DbOrTx, userId: string) {
  await tx.delete(notifications).where(eq(notifications.userId, userId));
  await tx.update(instructorApplications).set({
    // A pending one leaves the queue: nobody can be approved any more.
    status: sql`CASE WHEN status = 'pending' THEN 'rejected' ELSE status END`,
    rejectionReason:
      sql`CASE WHEN status = 'pending' THEN 'Account deleted' ELSE rejection_reason END`,
    bio: "",
    expertise: [],
    experience: null,
    education: null,
    socialLinks: {},
    sampleWork: null,
  }).where(eq(instructorApplications.userId, userId));
}

export async function deleteAccount(
  deps: DbDeps,
  userId: string,
  password: string,
): Promise<void> {
  const user = await getUser(deps, userId);
  await requirePassword(user, password, "password");
  const now = new Date();
  await deps.db.transaction(async (tx) => {
    await assertAnotherAdmin(tx, user);
    await tx.update(users).set({
      status: "deleted",
      email: `deleted-${user.id.toLowerCase()}@deleted.invalid`,
      name: "Deleted user",
      passwordHash: null,
      avatarUrl: null,
      bio: null,
      socialLinks: {},
      banReason: null,
      deletedAt: now,
      updatedAt: now,
    }).where(eq(users.id, user.id));
    await revokeAllSessions(tx, user.id, "account_deleted");
    await expireOneTimeTokens(tx, user.id);
    await forgetPersonalRecords(tx, user.id);
  });
}

// ---- administration (CLI now, admin API later) ----

export interface UserListFilter {
  role?: Role | undefined;
  status?: User["status"] | undefined;
  /** Part of the name or email address. */
  search?: string | undefined;
  /** The admin list shows the newest accounts first; the CLI, the oldest. */
  newestFirst?: boolean;
  limit: number;
  offset: number;
}

export async function listUsers(
  deps: DbDeps,
  filter: UserListFilter,
): Promise<{ users: User[]; total: number }> {
  const where: (SQL | undefined)[] = [
    filter.role ? eq(users.role, filter.role) : undefined,
    filter.status ? eq(users.status, filter.status) : undefined,
    filter.search
      ? or(
        likeContains(users.name, filter.search),
        likeContains(users.email, filter.search),
      )
      : undefined,
  ];
  const [rows, [totalRow]] = await Promise.all([
    deps.db.select().from(users).where(and(...where)).orderBy(
      ...(filter.newestFirst
        ? [desc(users.createdAt), desc(users.id)]
        : [asc(users.createdAt), asc(users.id)]),
    )
      .limit(filter.limit).offset(filter.offset),
    deps.db.select({ n: count() }).from(users).where(and(...where)),
  ]);
  return { users: rows, total: totalRow?.n ?? 0 };
}

const AUDITED_USER_FIELDS = [
  "role",
  "status",
  "banReason",
  "emailVerifiedAt",
] as const;

/** Refuses a change that would leave the school without an active administrator. */
async function assertAnotherAdmin(tx: DbOrTx, user: User) {
  if (user.role !== "admin" || user.status !== "active") return;
  const others = await tx.$count(
    users,
    and(eq(users.role, "admin"), eq(users.status, "active")),
  );
  if (others <= 1) {
    throw conflict(
      "LAST_ADMIN",
      "This is the only active administrator: make someone else an admin first",
    );
  }
}

/**
 * An administrator's change to an account, audited, in one transaction. `decide` sees the account
 * as it is inside that transaction (so two racing changes cannot both pass a check) and returns
 * the fields to change, or null when there is nothing to do.
 */
async function changeAccount(
  deps: DbDeps,
  actor: AuditedActor,
  idOrEmail: string,
  action: string,
  decide: (tx: DbOrTx, user: User) => Promise<Partial<User> | null>,
  also?: (tx: DbOrTx, updated: User) => Promise<unknown>,
): Promise<User> {
  const { id } = await resolveUser(deps, idOrEmail);
  return await deps.db.transaction(async (tx) => {
    const [user] = await tx.select().from(users).where(eq(users.id, id));
    const fields = await decide(tx, user!);
    if (!fields) return user!;
    const [updated] = await tx.update(users).set({
      ...fields,
      updatedAt: new Date(),
    }).where(eq(users.id, id)).returning();
    await also?.(tx, updated!);
    await audit(tx, actor, {
      action,
      targetType: "user",
      targetId: id,
      ...changedFields(user!, updated!, AUDITED_USER_FIELDS),
    });
    return updated!;
  });
}

const deletedAccount = () =>
  conflict("ACCOUNT_DELETED", "This account has been deleted");

export async function setRole(
  deps: DbDeps,
  actor: AuditedActor,
  idOrEmail: string,
  role: Role,
): Promise<User> {
  return await changeAccount(
    deps,
    actor,
    idOrEmail,
    "user.role",
    async (tx, user) => {
      if (user.status === "deleted") throw deletedAccount();
      if (user.role === role) return null;
      if (role !== "admin") await assertAnotherAdmin(tx, user);
      return { role };
    },
    (tx, updated) =>
      role === "instructor"
        ? ensureInstructorProfile(tx, updated.id)
        : Promise.resolve(),
  );
}

/**
 * Bans take effect at once: sessions end in the same transaction, and every request re-reads the
 * status anyway. The person is told by email whatever their preferences say.
 */
export async function banUser(
  deps: AccountDeps,
  actor: AuditedActor,
  idOrEmail: string,
  reason: string,
): Promise<User> {
  let stored: Awaited<ReturnType<typeof storeNotification>> = {};
  const updated = await changeAccount(
    deps,
    actor,
    idOrEmail,
    "user.ban",
    async (tx, user) => {
      if (user.status === "deleted") throw deletedAccount();
      if (user.id === actor.id) {
        throw forbidden("CANNOT_BAN_SELF", "You cannot ban your own account");
      }
      if (user.status === "banned") {
        throw conflict("ALREADY_BANNED", "This account is already banned");
      }
      await assertAnotherAdmin(tx, user);
      return { status: "banned", banReason: reason };
    },
    async (tx, user) => {
      await revokeAllSessions(tx, user.id, "banned");
      stored = await storeNotification(tx, deps, {
        userId: user.id,
        type: "account_banned",
        title: "Your account has been banned",
        message: `Your Lectern account has been banned: ${
          asSentence(reason)
        } Reply to this email if you think this is a mistake.`,
      });
    },
  );
  deliver(deps, stored);
  return updated;
}

export async function unbanUser(
  deps: AccountDeps,
  actor: AuditedActor,
  idOrEmail: string,
): Promise<User> {
  let stored: Awaited<ReturnType<typeof storeNotification>> = {};
  const updated = await changeAccount(
    deps,
    actor,
    idOrEmail,
    "user.unban",
    (_tx, user) => {
      if (user.status !== "banned") {
        throw conflict("NOT_BANNED", "This account is not banned");
      }
      return Promise.resolve({ status: "active" as const, banReason: null });
    },
    async (tx, user) => {
      stored = await storeNotification(tx, deps, {
        userId: user.id,
        type: "account_unbanned",
        title: "Your account has been restored",
        message: "Your Lectern account is active again; you can sign in.",
      });
    },
  );
  deliver(deps, stored);
  return updated;
}

/** `users verify` (CLI): audited like every administrative change to an account. */
export async function markEmailVerified(
  deps: DbDeps,
  actor: AuditedActor,
  idOrEmail: string,
): Promise<User> {
  return await changeAccount(
    deps,
    actor,
    idOrEmail,
    "user.verify_email",
    (_tx, user) =>
      Promise.resolve(
        user.emailVerifiedAt ? null : { emailVerifiedAt: new Date() },
      ),
  );
}
