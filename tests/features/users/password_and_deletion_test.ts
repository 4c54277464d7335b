import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { sessions, users } from "../../../db/schema/mod.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import {
  login,
  makeUser,
  makeUserAndLogin,
  PASSWORD,
  uniqueEmail,
} from "../../helpers/factories.ts";

const NEW_PASSWORD = "purple monkey dishwasher 42";

Deno.test("changing the password and deleting the account", async (t) => {
  const ctx = await createTestContext();
  try {
    await t.step(
      "POST /api/users/change-password needs a signed-in user (401)",
      async () => {
        const res = await api(ctx, "POST", "/api/users/change-password", {
          body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
        });
        assert.equal(res.status, 401);
        assert.equal(res.body.error.code, "UNAUTHENTICATED");
      },
    );

    await t.step(
      "POST /api/users/change-password with a wrong current password is 403 INCORRECT_PASSWORD",
      async () => {
        const { user, token } = await makeUserAndLogin(ctx);
        const res = await api(ctx, "POST", "/api/users/change-password", {
          token,
          body: {
            currentPassword: "not my password at all",
            newPassword: NEW_PASSWORD,
          },
        });
        assert.equal(res.status, 403);
        assert.equal(res.body.success, false);
        assert.equal(res.body.error.code, "INCORRECT_PASSWORD");
        assert.ok(res.body.error.details.fields.currentPassword);
        await login(ctx, user.email, PASSWORD); // the old password still works
        const rejected = await api(ctx, "POST", "/api/auth/login", {
          body: { email: user.email, password: NEW_PASSWORD },
        });
        assert.equal(rejected.status, 401);
        assert.equal(
          (await api(ctx, "GET", "/api/auth/me", { token })).status,
          200,
          "the session is intact",
        );
      },
    );

    await t.step(
      "POST /api/users/change-password with a weak new password is 422 on newPassword",
      async () => {
        const { user, token } = await makeUserAndLogin(ctx);
        const cases: [string, RegExp][] = [
          ["short", /at least 10/],
          ["password123", /too common/],
          ["abababababab", /predictable/],
          [`${user.email.split("@")[0]}-and-more`, /email/],
        ];
        for (const [newPassword, message] of cases) {
          const res = await api(ctx, "POST", "/api/users/change-password", {
            token,
            body: { currentPassword: PASSWORD, newPassword },
          });
          assert.equal(res.status, 422, newPassword);
          assert.equal(res.body.error.code, "VALIDATION_FAILED");
          assert.match(res.body.error.details.fields.newPassword, message);
        }
        await login(ctx, user.email, PASSWORD);
      },
    );

    await t.step(
      "POST /api/users/change-password with missing fields, form data or bad JSON is 422/415/400",
      async () => {
        const { token } = await makeUserAndLogin(ctx);
        const missing = await api(ctx, "POST", "/api/users/change-password", {
          token,
          body: { newPassword: NEW_PASSWORD },
        });
        assert.equal(missing.status, 422);
        assert.ok(missing.body.error.details.fields.currentPassword);
        const form = await api(ctx, "POST", "/api/users/change-password", {
          token,
          body: "currentPassword=x&newPassword=y",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
        });
        assert.equal(form.status, 415);
        const broken = await api(ctx, "POST", "/api/users/change-password", {
          token,
          body: "{",
        });
        assert.equal(broken.status, 400);
        assert.equal(broken.body.error.code, "INVALID_JSON");
      },
    );

    await t.step(
      "a successful password change keeps the calling session and revokes every other one",
      async () => {
        const { user, token, refreshToken } = await makeUserAndLogin(ctx);
        const other = await login(ctx, user.email);
        const res = await api(ctx, "POST", "/api/users/change-password", {
          token,
          body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
        });
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, {
          success: true,
          message: "Password changed. Other sessions have been signed out.",
        });

        const mine = await api(ctx, "GET", "/api/users/profile", { token });
        assert.equal(mine.status, 200, "the caller stays signed in");
        const refreshed = await api(ctx, "POST", "/api/auth/refresh-token", {
          body: { refreshToken },
        });
        assert.equal(refreshed.status, 200, "and can still refresh");

        const theirs = await api(ctx, "GET", "/api/users/profile", {
          token: other.token,
        });
        assert.equal(theirs.status, 401);
        assert.equal(theirs.body.error.code, "SESSION_REVOKED");
        const theirRefresh = await api(ctx, "POST", "/api/auth/refresh-token", {
          body: { refreshToken: other.refreshToken },
        });
        assert.equal(theirRefresh.status, 401);
        assert.equal(theirRefresh.body.error.code, "INVALID_REFRESH_TOKEN");

        const rows = await ctx.deps.db.select().from(sessions).where(
          eq(sessions.userId, user.id),
        );
        assert.equal(
          rows.filter((s) => s.revokedAt === null).length,
          1,
          "one live session: the caller's",
        );
      },
    );

    await t.step(
      "after a password change the new password signs in and the old one is 401 INVALID_CREDENTIALS",
      async () => {
        const { user, token } = await makeUserAndLogin(ctx);
        const res = await api(ctx, "POST", "/api/users/change-password", {
          token,
          body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
        });
        assert.equal(res.status, 200);
        const old = await api(ctx, "POST", "/api/auth/login", {
          body: { email: user.email, password: PASSWORD },
        });
        assert.equal(old.status, 401);
        assert.equal(old.body.error.code, "INVALID_CREDENTIALS");
        const fresh = await login(ctx, user.email, NEW_PASSWORD);
        assert.equal(fresh.user.id, user.id);
        const [row] = await ctx.deps.db.select().from(users).where(
          eq(users.id, user.id),
        );
        assert.match(row!.passwordHash!, /^\$argon2id\$/);
      },
    );

    await t.step(
      "DELETE /api/users/delete-account with a wrong password is 403 INCORRECT_PASSWORD and deletes nothing",
      async () => {
        const { user, token } = await makeUserAndLogin(ctx, {
          name: "Keep Me",
        });
        const res = await api(ctx, "DELETE", "/api/users/delete-account", {
          token,
          body: { password: "definitely not it" },
        });
        assert.equal(res.status, 403);
        assert.equal(res.body.error.code, "INCORRECT_PASSWORD");
        assert.ok(res.body.error.details.fields.password);
        const [row] = await ctx.deps.db.select().from(users).where(
          eq(users.id, user.id),
        );
        assert.equal(row?.status, "active");
        assert.equal(row?.name, "Keep Me");
        assert.equal(row?.email, user.email);
        assert.equal(
          (await api(ctx, "GET", "/api/auth/me", { token })).status,
          200,
        );
      },
    );

    await t.step(
      "DELETE /api/users/delete-account without a password is 422 and without a token is 401",
      async () => {
        const { token } = await makeUserAndLogin(ctx);
        const missing = await api(ctx, "DELETE", "/api/users/delete-account", {
          token,
          body: {},
        });
        assert.equal(missing.status, 422);
        assert.ok(missing.body.error.details.fields.password);
        const anonymous = await api(
          ctx,
          "DELETE",
          "/api/users/delete-account",
          { body: { password: PASSWORD } },
        );
        assert.equal(anonymous.status, 401);
      },
    );

    await t.step(
      "DELETE /api/users/delete-account anonymizes the account and ends every session",
      async () => {
        const email = uniqueEmail("gone");
        const { user, token, refreshToken } = await makeUserAndLogin(ctx, {
          email,
          name: "Private Person",
        });
        const second = await login(ctx, email);
        await api(ctx, "PUT", "/api/users/profile", {
          token,
          body: {
            bio: "My secrets",
            avatar: "https://img.test/me.png",
            socialLinks: { github: "https://gh.test/me" },
          },
        });

        const res = await api(ctx, "DELETE", "/api/users/delete-account", {
          token,
          body: { password: PASSWORD },
        });
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, {
          success: true,
          message: "Your account has been deleted.",
        });

        const [row] = await ctx.deps.db.select().from(users).where(
          eq(users.id, user.id),
        );
        assert.ok(row, "the row stays for what refers to it");
        assert.equal(row.name, "Deleted user");
        assert.notEqual(row.email, email);
        assert.ok(
          !row.email.includes(email.split("@")[0]!),
          "no trace of the old address",
        );
        assert.equal(row.status, "deleted");
        assert.equal(row.passwordHash, null);
        assert.equal(row.bio, null);
        assert.equal(row.avatarUrl, null);
        assert.deepEqual(row.socialLinks, {});
        assert.ok(row.deletedAt instanceof Date);

        for (const accessToken of [token, second.token]) {
          const me = await api(ctx, "GET", "/api/auth/me", {
            token: accessToken,
          });
          assert.equal(me.status, 401);
        }
        const refreshed = await api(ctx, "POST", "/api/auth/refresh-token", {
          body: { refreshToken },
        });
        assert.equal(refreshed.status, 401);
        const live = await ctx.deps.db.select().from(sessions).where(
          eq(sessions.userId, user.id),
        );
        assert.ok(
          live.every((s) => s.revokedAt !== null),
          "every session is revoked",
        );
      },
    );

    await t.step(
      "a deleted account cannot sign in, and its email can register again",
      async () => {
        const email = uniqueEmail("again");
        const { user, token } = await makeUserAndLogin(ctx, { email });
        const deleted = await api(ctx, "DELETE", "/api/users/delete-account", {
          token,
          body: { password: PASSWORD },
        });
        assert.equal(deleted.status, 200);

        const old = await api(ctx, "POST", "/api/auth/login", {
          body: { email, password: PASSWORD },
        });
        assert.equal(old.status, 401);
        assert.equal(old.body.error.code, "INVALID_CREDENTIALS");

        const again = await api(ctx, "POST", "/api/auth/register", {
          body: { name: "New Me", email, password: PASSWORD },
        });
        assert.equal(again.status, 201);
        assert.notEqual(
          again.body.userId,
          user.id,
          "a new account, not the old one revived",
        );
        const [fresh] = await ctx.deps.db.select().from(users).where(
          eq(users.email, email),
        );
        assert.equal(fresh?.id, again.body.userId);
        assert.equal(fresh?.status, "active");
      },
    );

    await t.step(
      "a deleted account cannot be deleted twice or change its password with its old token",
      async () => {
        const { token } = await makeUserAndLogin(ctx);
        await api(ctx, "DELETE", "/api/users/delete-account", {
          token,
          body: { password: PASSWORD },
        });
        const twice = await api(ctx, "DELETE", "/api/users/delete-account", {
          token,
          body: { password: PASSWORD },
        });
        assert.equal(twice.status, 401);
        const change = await api(ctx, "POST", "/api/users/change-password", {
          token,
          body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
        });
        assert.equal(change.status, 401);
      },
    );

    await t.step(
      "deleting one account leaves other accounts alone",
      async () => {
        const bystander = await makeUserAndLogin(ctx);
        const { token } = await makeUserAndLogin(ctx);
        await api(ctx, "DELETE", "/api/users/delete-account", {
          token,
          body: { password: PASSWORD },
        });
        assert.equal(
          (await api(ctx, "GET", "/api/auth/me", { token: bystander.token }))
            .status,
          200,
        );
        const other = await makeUser(ctx);
        await login(ctx, other.email);
      },
    );
  } finally {
    await ctx.close();
  }
});
