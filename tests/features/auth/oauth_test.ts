import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { oauthAccounts, users } from "../../../db/schema/mod.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import {
  type FakeProfile,
  startFakeOAuthProvider,
} from "../../helpers/fake_oauth.ts";
import { makeUser, uniqueEmail } from "../../helpers/factories.ts";

Deno.test("OAuth sign-in is 503 naming the variables when a provider is not configured", async () => {
  const ctx = await createTestContext();
  try {
    for (
      const [provider, variable] of [["google", "GOOGLE_CLIENT_ID"], [
        "github",
        "GITHUB_CLIENT_ID",
      ]] as const
    ) {
      const res = await api(ctx, "GET", `/api/auth/oauth/${provider}`);
      assert.equal(res.status, 503);
      assert.equal(res.body.error.code, "SERVICE_NOT_CONFIGURED");
      assert.match(res.body.error.message, new RegExp(variable));
      assert.ok(res.body.error.details.env.includes(variable));
    }
    assert.equal(
      (await api(ctx, "GET", "/api/auth/oauth/myspace")).status,
      422,
    );
  } finally {
    await ctx.close();
  }
});

Deno.test("OAuth sign-in with GitHub and Google against a local provider", async (t) => {
  const provider = startFakeOAuthProvider();
  const ctx = await createTestContext({
    GITHUB_CLIENT_ID: "gh-id",
    GITHUB_CLIENT_SECRET: "gh-secret",
    GOOGLE_CLIENT_ID: "g-id",
    GOOGLE_CLIENT_SECRET: "g-secret",
  }, { oauthEndpoints: provider.endpoints });

  /** Follows the flow as a browser would: start, let the provider grant a code, come back with the cookie. */
  async function signIn(
    name: "github" | "google",
    profile: FakeProfile,
    tamper: { state?: string; noCookie?: boolean } = {},
  ) {
    const start = await ctx.app.request(`/api/auth/oauth/${name}`);
    assert.equal(start.status, 302);
    const location = new URL(start.headers.get("location")!);
    assert.equal(location.searchParams.get("code_challenge_method"), "S256");
    assert.equal(
      location.searchParams.get("redirect_uri"),
      `http://lectern.test/api/auth/oauth/${name}/callback`,
    );
    const cookie = start.headers.get("set-cookie")!;
    assert.match(cookie, /HttpOnly/i);
    const code = crypto.randomUUID();
    provider.grant(code, location.searchParams.get("code_challenge")!, profile);
    const state = tamper.state ?? location.searchParams.get("state")!;
    return await api(
      ctx,
      "GET",
      `/api/auth/oauth/${name}/callback?code=${code}&state=${
        encodeURIComponent(state)
      }`,
      {
        headers: tamper.noCookie ? {} : { Cookie: cookie.split(";")[0]! },
      },
    );
  }

  try {
    await t.step(
      "a new GitHub user gets a verified account, a link, and tokens",
      async () => {
        const email = uniqueEmail("gh");
        const res = await signIn("github", {
          id: "101",
          email,
          verified: true,
          name: "Octo Cat",
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.user.email, email);
        assert.equal(res.body.user.name, "Octo Cat");
        assert.equal(
          (await api(ctx, "GET", "/api/auth/me", { token: res.body.token }))
            .body.user.emailVerified,
          true,
        );
        const [link] = await ctx.deps.db.select().from(oauthAccounts).where(
          eq(oauthAccounts.providerUserId, "101"),
        );
        assert.equal(link?.userId, res.body.user.id);
        const again = await signIn("github", {
          id: "101",
          email,
          verified: true,
          name: "Octo Cat",
        });
        assert.equal(
          again.body.user.id,
          res.body.user.id,
          "the same provider account signs into the same user",
        );
      },
    );

    await t.step(
      "a Google account with the verified email of an existing user is linked to it",
      async () => {
        const existing = await makeUser(ctx);
        const res = await signIn("google", {
          id: "g-55",
          email: existing.email,
          verified: true,
          name: "Other Name",
        });
        assert.equal(res.status, 200);
        assert.equal(res.body.user.id, existing.id);
        const rows = await ctx.deps.db.select().from(users).where(
          eq(users.email, existing.email),
        );
        assert.equal(rows.length, 1);
      },
    );

    await t.step(
      "an unverified provider email is refused rather than linked",
      async () => {
        const existing = await makeUser(ctx);
        const res = await signIn("google", {
          id: "g-66",
          email: existing.email,
          verified: false,
          name: "Mallory",
        });
        assert.equal(res.status, 400);
        assert.equal(res.body.error.code, "OAUTH_EMAIL_UNVERIFIED");
      },
    );

    await t.step(
      "a wrong state or a missing cookie is 400 OAUTH_STATE_MISMATCH",
      async () => {
        const profile = {
          id: "102",
          email: uniqueEmail("gh"),
          verified: true,
          name: "X",
        };
        const wrong = await signIn("github", profile, {
          state: "forged-state",
        });
        assert.equal(wrong.status, 400);
        assert.equal(wrong.body.error.code, "OAUTH_STATE_MISMATCH");
        const noCookie = await signIn("github", profile, { noCookie: true });
        assert.equal(noCookie.body.error.code, "OAUTH_STATE_MISMATCH");
      },
    );

    await t.step(
      "a code the provider rejects is 400 OAUTH_FAILED",
      async () => {
        const start = await ctx.app.request("/api/auth/oauth/github");
        const state = new URL(start.headers.get("location")!).searchParams.get(
          "state",
        )!;
        const res = await api(
          ctx,
          "GET",
          `/api/auth/oauth/github/callback?code=never-granted&state=${state}`,
          {
            headers: {
              Cookie: start.headers.get("set-cookie")!.split(";")[0]!,
            },
          },
        );
        assert.equal(res.status, 400);
        assert.equal(res.body.error.code, "OAUTH_FAILED");
      },
    );
  } finally {
    await ctx.close();
    await provider.close();
  }
});
