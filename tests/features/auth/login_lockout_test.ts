import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { eq } from "drizzle-orm";
import { users } from "../../../db/schema/mod.ts";
import { banUser } from "../../../server/features/users/service.ts";
import {
  LOCKOUT_MS,
  MAX_FAILED_LOGINS,
} from "../../../server/features/auth/service.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import {
  ADMIN_ACTOR,
  makeUser,
  makeUserAndLogin,
  PASSWORD,
  uniqueEmail,
} from "../../helpers/factories.ts";

Deno.test("login, lockout and bans", async (t) => {
  const ctx = await createTestContext();
  try {
    await t.step(
      "POST /api/auth/login returns tokens and the user as 002 shows, and records lastLoginAt",
      async () => {
        const user = await makeUser(ctx, { name: "Lena" });
        const res = await api(ctx, "POST", "/api/auth/login", {
          body: { email: user.email.toUpperCase(), password: PASSWORD },
        });
        assert.equal(res.status, 200);
        assert.equal(res.body.success, true);
        assert.match(res.body.token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
        assert.match(res.body.refreshToken, /^[a-z2-7]{52}$/);
        assert.deepEqual(res.body.user, {
          id: user.id,
          name: "Lena",
          email: user.email,
          role: "student",
          avatar: null,
          subscriptionTier: "free",
        });
        const claims = JSON.parse(
          atob(
            res.body.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"),
          ),
        );
        assert.equal(claims.userId, user.id);
        assert.equal(claims.role, "student");
        assert.equal(claims.subscriptionTier, "free");
        assert.equal(
          claims.exp - claims.iat,
          15 * 60,
          "access tokens live 15 minutes",
        );
        const [row] = await ctx.deps.db.select().from(users).where(
          eq(users.id, user.id),
        );
        assert.ok(row?.lastLoginAt);
      },
    );

    await t.step(
      "a wrong password and an unknown email get the same 401 INVALID_CREDENTIALS",
      async () => {
        const user = await makeUser(ctx);
        const wrong = await api(ctx, "POST", "/api/auth/login", {
          body: { email: user.email, password: "not the password" },
        });
        const unknown = await api(ctx, "POST", "/api/auth/login", {
          body: { email: uniqueEmail("nobody"), password: PASSWORD },
        });
        assert.equal(wrong.status, 401);
        assert.equal(unknown.status, 401);
        assert.equal(wrong.body.error.code, "INVALID_CREDENTIALS");
        assert.deepEqual(wrong.body.error, unknown.body.error);
      },
    );

    await t.step(
      "five failures in a row lock the account for 15 minutes (423 with Retry-After), then it unlocks",
      async () => {
        const clock = FakeTimers.install({ toFake: ["Date"], now: Date.now() });
        try {
          const user = await makeUser(ctx);
          const attempt = (password: string) =>
            api(ctx, "POST", "/api/auth/login", {
              body: { email: user.email, password },
            });
          for (let i = 1; i < MAX_FAILED_LOGINS; i++) {
            assert.equal((await attempt("wrong password!")).status, 401);
          }
          const fifth = await attempt("wrong password!");
          assert.equal(fifth.status, 423);
          assert.equal(fifth.body.error.code, "ACCOUNT_LOCKED");
          assert.equal(
            fifth.headers.get("retry-after"),
            String(LOCKOUT_MS / 1000),
          );
          const correctWhileLocked = await attempt(PASSWORD);
          assert.equal(
            correctWhileLocked.status,
            423,
            "even the right password waits",
          );
          clock.tick(LOCKOUT_MS - 60_000);
          const later = await attempt(PASSWORD);
          assert.equal(later.status, 423);
          assert.equal(later.headers.get("retry-after"), "60");
          clock.tick(60_000);
          assert.equal(
            (await attempt(PASSWORD)).status,
            200,
            "unlocked after the window",
          );
        } finally {
          clock.uninstall();
        }
      },
    );

    await t.step("a success resets the failure count", async () => {
      const user = await makeUser(ctx);
      const attempt = (password: string) =>
        api(ctx, "POST", "/api/auth/login", {
          body: { email: user.email, password },
        });
      for (let i = 1; i < MAX_FAILED_LOGINS; i++) {
        await attempt("wrong password!");
      }
      assert.equal((await attempt(PASSWORD)).status, 200);
      for (let i = 1; i < MAX_FAILED_LOGINS; i++) {
        assert.equal((await attempt("wrong password!")).status, 401);
      }
    });

    await t.step(
      "a banned account gets 403 ACCOUNT_BANNED at login, and an unverified one EMAIL_NOT_VERIFIED",
      async () => {
        const banned = await makeUser(ctx);
        await banUser(ctx.deps, ADMIN_ACTOR, banned.email, "spam");
        const res = await api(ctx, "POST", "/api/auth/login", {
          body: { email: banned.email, password: PASSWORD },
        });
        assert.equal(res.status, 403);
        assert.equal(res.body.error.code, "ACCOUNT_BANNED");
        const unverified = await makeUser(ctx, { verified: false });
        const res2 = await api(ctx, "POST", "/api/auth/login", {
          body: { email: unverified.email, password: PASSWORD },
        });
        assert.equal(res2.status, 403);
        assert.equal(res2.body.error.code, "EMAIL_NOT_VERIFIED");
        assert.equal(
          res2.body.error.message,
          "Verify your email address before logging in",
        );
      },
    );

    await t.step(
      "a ban takes effect at once, even for an unexpired access token",
      async () => {
        const { user, token, refreshToken } = await makeUserAndLogin(ctx);
        assert.equal(
          (await api(ctx, "GET", "/api/auth/me", { token })).status,
          200,
        );
        await banUser(ctx.deps, ADMIN_ACTOR, user.id, "abuse");
        const me = await api(ctx, "GET", "/api/auth/me", { token });
        assert.equal(me.status, 403);
        assert.equal(me.body.error.code, "ACCOUNT_BANNED");
        const refreshed = await api(ctx, "POST", "/api/auth/refresh-token", {
          body: { refreshToken },
        });
        assert.equal(refreshed.status, 401);
      },
    );

    await t.step("passwords and tokens never reach the log", () => {
      const log = JSON.stringify(ctx.logger.lines);
      assert.ok(!log.includes(PASSWORD));
      assert.ok(!log.includes("wrong password!"));
      assert.ok(!/eyJ[\w-]+\.[\w-]+\.[\w-]+/.test(log), "no JWT in the log");
    });
  } finally {
    await ctx.close();
  }
});

Deno.test("the per-IP rate limit on auth routes answers 429 with Retry-After", async () => {
  const ctx = await createTestContext({
    AUTH_RATE_LIMIT: "3",
    TRUST_PROXY: "true",
  });
  try {
    const from = (ip: string) => ({
      body: { email: "x@school.test", password: "whatever-pass" },
      headers: { "X-Forwarded-For": ip },
    });
    for (let i = 0; i < 3; i++) {
      assert.equal(
        (await api(ctx, "POST", "/api/auth/login", from("10.0.0.1"))).status,
        401,
      );
    }
    const limited = await api(ctx, "POST", "/api/auth/login", from("10.0.0.1"));
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error.code, "RATE_LIMITED");
    assert.ok(Number(limited.headers.get("retry-after")) > 0);
    assert.ok(limited.body.error.details.retryAfter > 0);
    assert.ok(limited.body.error.details.resetAt);
    assert.equal(
      (await api(ctx, "POST", "/api/auth/login", from("10.0.0.2"))).status,
      401,
      "another address has its own budget",
    );
  } finally {
    await ctx.close();
  }
});
