import { and, desc, eq } from "drizzle-orm";
import {
  type AccessType,
  outboxMessages,
  type Role,
  type User,
} from "../../db/schema/mod.ts";
import type { CreateProgramInput } from "../../server/features/programs/schemas.ts";
import { endGrants } from "../../server/features/enrollments/service.ts";
import { grantFor, newProgram, newUser } from "../../server/seed/factories.ts";
import { api, type TestContext } from "./context.ts";

export const PASSWORD = "correct horse battery staple";
let counter = 0;

/** A unique address per call, so tests in one file never collide. */
export const uniqueEmail = (label = "user") =>
  `${label}-${Date.now().toString(36)}-${++counter}@school.test`;

/** The same service the CLI and registration use; the seed script will share it too. */
export async function makeUser(
  ctx: TestContext,
  fields: {
    email?: string;
    name?: string;
    role?: Role;
    password?: string;
    verified?: boolean;
  } = {},
): Promise<User> {
  return await newUser(ctx.deps, {
    email: fields.email ?? uniqueEmail(),
    name: fields.name ?? "Test Learner",
    password: fields.password ?? PASSWORD,
    ...(fields.role ? { role: fields.role } : {}),
    ...(fields.verified !== undefined ? { verified: fields.verified } : {}),
  });
}

export async function login(
  ctx: TestContext,
  email: string,
  password = PASSWORD,
) {
  const response = await api(ctx, "POST", "/api/auth/login", {
    body: { email, password },
  });
  if (response.status !== 200) {
    throw new Error(`login failed: ${JSON.stringify(response.body)}`);
  }
  return response.body as {
    token: string;
    refreshToken: string;
    user: { id: string };
  };
}

export async function makeUserAndLogin(
  ctx: TestContext,
  fields: Parameters<typeof makeUser>[1] = {},
) {
  const user = await makeUser(ctx, fields);
  const tokens = await login(ctx, user.email, fields.password ?? PASSWORD);
  return { user, token: tokens.token, refreshToken: tokens.refreshToken };
}

/** The newest email stored for an address (of one template, when named). */
export async function latestEmail(
  ctx: TestContext,
  to: string,
  template?: string,
) {
  const [message] = await ctx.deps.db.select().from(outboxMessages).where(
    and(
      eq(outboxMessages.to, to),
      template ? eq(outboxMessages.template, template) : undefined,
    ),
  )
    .orderBy(desc(outboxMessages.createdAt), desc(outboxMessages.id)).limit(1);
  if (!message) throw new Error(`no email to ${to}`);
  return message;
}

/** The token at the end of a `/verify-email/…` or `/reset-password/…` link in an email's text. */
export function tokenFromLink(
  text: string,
  page: "verify-email" | "reset-password",
): string {
  const match = text.match(new RegExp(`/${page}/([a-z2-7]+)`));
  if (!match) throw new Error(`no ${page} link in: ${text}`);
  return match[1]!;
}

/** A program through the real service; published unless told otherwise. */
export async function makeProgram(
  ctx: TestContext,
  owner: Pick<User, "id" | "role">,
  fields: Partial<CreateProgramInput> = {},
) {
  return await newProgram(ctx.deps, owner, {
    title: `Program ${++counter}`,
    ...fields,
  });
}

/** Access for good, through the same service the CLI's `enrollments grant` uses. */
export async function enroll(
  ctx: TestContext,
  userId: string,
  programId: string,
  accessType: AccessType = "bundle",
) {
  return await grantFor(ctx.deps, userId, programId, accessType);
}

/** Ends a learner's grants in a program (as a refund or an administrator would). */
export async function endAccess(
  ctx: TestContext,
  userId: string,
  programId: string,
  status: "refunded" | "revoked" = "revoked",
) {
  return await ctx.deps.db.transaction((tx) =>
    endGrants(tx, { userId, programId }, status, "ended by a test")
  );
}

/** Acts as the CLI does (an administrator that is no account) when a test calls a service directly. */
export const ADMIN_ACTOR = { id: "cli", role: "admin" } as const;
