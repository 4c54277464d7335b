import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { REFRESH_TOKEN_TTL_MS } from "../../../server/features/auth/sessions.ts";
import { ACCESS_TOKEN_TTL_SECONDS } from "../../../server/lib/jwt.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { login, makeUser, makeUserAndLogin } from "../../helpers/factories.ts";

Deno.test("refresh tokens, rotation and logout", async (t) => {
  const ctx = await createTestContext();
  try {
    await t.step(
      "POST /api/auth/refresh-token rotates: new tokens work, the old refresh token does not",
      async () => {
        const { refreshToken } = await makeUserAndLogin(ctx);
        const first = await api(ctx, "POST", "/api/auth/refresh-token", {
          body: { refreshToken },
        });
        assert.equal(first.status, 200);
        assert.equal(first.body.success, true);
        assert.notEqual(first.body.refreshToken, refreshToken);
        assert.equal(
          (await api(ctx, "GET", "/api/auth/me", { token: first.body.token }))
            .status,
          200,
        );
        const second = await api(ctx, "POST", "/api/auth/refresh-token", {
          body: { refreshToken: first.body.refreshToken },
        });
        assert.equal(second.status, 200);
      },
    );

    await t.step(
      "presenting an already-rotated token revokes the whole family (theft detection)",
      async () => {
        const { refreshToken: stolen } = await makeUserAndLogin(ctx);
        const owner = await api(ctx, "POST", "/api/auth/refresh-token", {
          body: { refreshToken: stolen },
        });
        assert.equal(owner.status, 200);
        const thief = await api(ctx, "POST", "/api/auth/refresh-token", {
          body: { refreshToken: stolen },
        });
        assert.equal(thief.status, 401);
        assert.equal(thief.body.error.code, "REFRESH_TOKEN_REUSED");
        const ownersNext = await api(ctx, "POST", "/api/auth/refresh-token", {
          body: { refreshToken: owner.body.refreshToken },
        });
        assert.equal(ownersNext.status, 401, "the family is revoked");
        const me = await api(ctx, "GET", "/api/auth/me", {
          token: owner.body.token,
        });
        assert.equal(me.status, 401);
        assert.equal(me.body.error.code, "SESSION_REVOKED");
      },
    );

    await t.step(
      "an unknown refresh token is 401 INVALID_REFRESH_TOKEN; a missing one 422",
      async () => {
        const res = await api(ctx, "POST", "/api/auth/refresh-token", {
          body: { refreshToken: "nope" },
        });
        assert.equal(res.status, 401);
        assert.equal(res.body.error.code, "INVALID_REFRESH_TOKEN");
        assert.equal(
          (await api(ctx, "POST", "/api/auth/refresh-token", { body: {} }))
            .status,
          422,
        );
      },
    );

    await t.step(
      "access tokens expire after 15 minutes and refresh tokens after 30 days",
      async () => {
        const clock = FakeTimers.install({ toFake: ["Date"], now: Date.now() });
        try {
          const { token, refreshToken } = await makeUserAndLogin(ctx);
          clock.tick(ACCESS_TOKEN_TTL_SECONDS * 1000 + 1000);
          const expired = await api(ctx, "GET", "/api/auth/me", { token });
          assert.equal(expired.status, 401);
          assert.equal(expired.body.error.code, "TOKEN_EXPIRED");
          clock.tick(REFRESH_TOKEN_TTL_MS);
          const stale = await api(ctx, "POST", "/api/auth/refresh-token", {
            body: { refreshToken },
          });
          assert.equal(stale.status, 401);
          assert.equal(stale.body.error.code, "INVALID_REFRESH_TOKEN");
        } finally {
          clock.uninstall();
        }
      },
    );

    await t.step(
      "a token signed with another secret or tampered with is 401 INVALID_TOKEN",
      async () => {
        const { token } = await makeUserAndLogin(ctx);
        const [h, p, s] = token.split(".");
        const tampered = `${h}.${p!.slice(0, -2)}AA.${s}`;
        for (const bad of [tampered, "abc.def.ghi", "garbage"]) {
          const res = await api(ctx, "GET", "/api/auth/me", { token: bad });
          assert.equal(res.status, 401);
          assert.equal(res.body.error.code, "INVALID_TOKEN");
        }
        const none = await api(ctx, "GET", "/api/auth/me");
        assert.equal(none.status, 401);
        assert.equal(none.body.error.code, "UNAUTHENTICATED");
      },
    );

    await t.step(
      "POST /api/auth/logout ends the current session only",
      async () => {
        const user = await makeUser(ctx);
        const phone = await login(ctx, user.email);
        const laptop = await login(ctx, user.email);
        const out = await api(ctx, "POST", "/api/auth/logout", {
          token: phone.token,
        });
        assert.equal(out.status, 200);
        assert.equal(
          (await api(ctx, "GET", "/api/auth/me", { token: phone.token }))
            .status,
          401,
        );
        assert.equal(
          (await api(ctx, "POST", "/api/auth/refresh-token", {
            body: { refreshToken: phone.refreshToken },
          })).status,
          401,
        );
        assert.equal(
          (await api(ctx, "GET", "/api/auth/me", { token: laptop.token }))
            .status,
          200,
        );
      },
    );

    await t.step(
      "POST /api/auth/logout-all ends every session of the user",
      async () => {
        const user = await makeUser(ctx);
        const a = await login(ctx, user.email);
        const b = await login(ctx, user.email);
        assert.equal(
          (await api(ctx, "POST", "/api/auth/logout-all", { token: a.token }))
            .status,
          200,
        );
        for (const session of [a, b]) {
          assert.equal(
            (await api(ctx, "GET", "/api/auth/me", { token: session.token }))
              .status,
            401,
          );
          assert.equal(
            (await api(ctx, "POST", "/api/auth/refresh-token", {
              body: { refreshToken: session.refreshToken },
            })).status,
            401,
          );
        }
        assert.equal(
          (await api(ctx, "POST", "/api/auth/logout")).status,
          401,
          "logout needs a token",
        );
      },
    );
  } finally {
    await ctx.close();
  }
});
