import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { users } from "../../../db/schema/mod.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { makeUserAndLogin } from "../../helpers/factories.ts";

const USER_KEYS = [
  "avatar",
  "bio",
  "createdAt",
  "email",
  "emailVerified",
  "id",
  "lastLoginAt",
  "name",
  "preferences",
  "role",
  "socialLinks",
  "status",
  "subscriptionTier",
];

Deno.test("reading and updating the signed-in user's profile", async (t) => {
  const ctx = await createTestContext();
  try {
    await t.step(
      "GET /api/auth/me and GET /api/users/profile are 401 UNAUTHENTICATED without a header",
      async () => {
        for (const path of ["/api/auth/me", "/api/users/profile"]) {
          const res = await api(ctx, "GET", path);
          assert.equal(res.status, 401, path);
          assert.equal(res.body.success, false);
          assert.equal(res.body.error.code, "UNAUTHENTICATED");
          assert.match(res.body.requestId, /^[0-9A-Z]{26}$/);
        }
      },
    );

    await t.step(
      "a garbage or non-Bearer Authorization header is 401 (INVALID_TOKEN or UNAUTHENTICATED)",
      async () => {
        for (const path of ["/api/auth/me", "/api/users/profile"]) {
          const garbage = await api(ctx, "GET", path, { token: "not.a.jwt" });
          assert.equal(garbage.status, 401, path);
          assert.equal(garbage.body.error.code, "INVALID_TOKEN");
          const basic = await api(ctx, "GET", path, {
            headers: { Authorization: "Basic dXNlcjpwYXNz" },
          });
          assert.equal(basic.status, 401, path);
          assert.equal(basic.body.error.code, "UNAUTHENTICATED");
        }
      },
    );

    await t.step(
      "a token signed with another secret is 401 INVALID_TOKEN",
      async () => {
        const { token } = await makeUserAndLogin(ctx);
        const [header, payload] = token.split(".");
        const forged = `${header}.${payload}.${"A".repeat(43)}`;
        const res = await api(ctx, "GET", "/api/users/profile", {
          token: forged,
        });
        assert.equal(res.status, 401);
        assert.equal(res.body.error.code, "INVALID_TOKEN");
      },
    );

    await t.step(
      "GET /api/auth/me and GET /api/users/profile return the same full user",
      async () => {
        const { user, token } = await makeUserAndLogin(ctx, {
          name: "Grace Hopper",
          role: "instructor",
        });
        const me = await api(ctx, "GET", "/api/auth/me", { token });
        const profile = await api(ctx, "GET", "/api/users/profile", { token });
        assert.equal(me.status, 200);
        assert.equal(profile.status, 200);
        assert.equal(me.body.success, true);
        // The profile is /me plus 002's stats and the subscription's expiry.
        const { stats, subscriptionExpiry, ...sameAsMe } = profile.body.user;
        assert.deepEqual(me.body.user, sameAsMe);
        assert.deepEqual(stats, {
          programsEnrolled: 0,
          quizzesTaken: 0,
          certificatesEarned: 0,
          totalPoints: 0,
          streak: 0,
        });
        assert.equal(subscriptionExpiry, null);
        const u = me.body.user;
        assert.deepEqual(
          Object.keys(u).sort(),
          USER_KEYS,
          "no password hash or internal fields leak",
        );
        assert.equal(u.id, user.id);
        assert.equal(u.email, user.email);
        assert.equal(u.name, "Grace Hopper");
        assert.equal(u.role, "instructor");
        assert.equal(u.avatar, null);
        assert.equal(u.bio, null);
        assert.deepEqual(u.socialLinks, {});
        assert.equal(u.subscriptionTier, "free");
        assert.equal(u.emailVerified, true);
        assert.deepEqual(u.preferences, {
          emailNotifications: true,
          theme: "system",
        });
        assert.equal(u.status, "active");
        assert.equal(new Date(u.createdAt).toISOString(), u.createdAt);
        assert.equal(typeof u.lastLoginAt, "string", "login sets lastLoginAt");
        assert.equal(new Date(u.lastLoginAt).toISOString(), u.lastLoginAt);
      },
    );

    await t.step(
      "PUT /api/users/profile updates name, bio, avatar and social links",
      async () => {
        const { user, token } = await makeUserAndLogin(ctx);
        const res = await api(ctx, "PUT", "/api/users/profile", {
          token,
          body: {
            name: "  Katherine Johnson  ",
            bio: "  Orbital mechanics  ",
            avatar: "https://cdn.example.test/k.png",
            socialLinks: {
              website: "https://kj.example.test",
              github: "http://github.com/kj",
            },
          },
        });
        assert.equal(res.status, 200);
        assert.equal(res.body.success, true);
        assert.equal(
          res.body.user.name,
          "Katherine Johnson",
          "name is trimmed",
        );
        assert.equal(res.body.user.bio, "Orbital mechanics", "bio is trimmed");
        assert.equal(res.body.user.avatar, "https://cdn.example.test/k.png");
        assert.deepEqual(res.body.user.socialLinks, {
          website: "https://kj.example.test",
          github: "http://github.com/kj",
        });
        assert.equal(res.body.user.email, user.email, "email is untouched");
        const again = await api(ctx, "GET", "/api/users/profile", { token });
        const { stats: _s, subscriptionExpiry: _e, ...stored } =
          again.body.user;
        assert.deepEqual(stored, res.body.user, "the change is stored");
      },
    );

    await t.step(
      "PUT /api/users/profile replaces socialLinks as a whole and clears bio and avatar with null",
      async () => {
        const { token } = await makeUserAndLogin(ctx);
        await api(ctx, "PUT", "/api/users/profile", {
          token,
          body: {
            bio: "Hello",
            avatar: "https://a.test/x.png",
            socialLinks: { twitter: "https://x.test/me" },
          },
        });
        const res = await api(ctx, "PUT", "/api/users/profile", {
          token,
          body: {
            bio: null,
            avatar: null,
            socialLinks: { youtube: "https://yt.test/c" },
          },
        });
        assert.equal(res.status, 200);
        assert.equal(res.body.user.bio, null);
        assert.equal(res.body.user.avatar, null);
        assert.deepEqual(res.body.user.socialLinks, {
          youtube: "https://yt.test/c",
        });
      },
    );

    await t.step(
      "PUT /api/users/profile merges preferences: fields not sent keep their value",
      async () => {
        const { user, token } = await makeUserAndLogin(ctx);
        const dark = await api(ctx, "PUT", "/api/users/profile", {
          token,
          body: { preferences: { theme: "dark" } },
        });
        assert.equal(dark.status, 200);
        assert.deepEqual(dark.body.user.preferences, {
          emailNotifications: true,
          theme: "dark",
        });
        const quiet = await api(ctx, "PUT", "/api/users/profile", {
          token,
          body: { preferences: { emailNotifications: false } },
        });
        assert.equal(quiet.status, 200);
        assert.deepEqual(quiet.body.user.preferences, {
          emailNotifications: false,
          theme: "dark",
        });
        const unrelated = await api(ctx, "PUT", "/api/users/profile", {
          token,
          body: { name: "Only the name" },
        });
        assert.deepEqual(unrelated.body.user.preferences, {
          emailNotifications: false,
          theme: "dark",
        });
        const [row] = await ctx.deps.db.select().from(users).where(
          eq(users.id, user.id),
        );
        assert.deepEqual(row?.preferences, {
          emailNotifications: false,
          theme: "dark",
        });
      },
    );

    await t.step(
      "PUT /api/users/profile rejects unknown fields with 422, at the top level and nested",
      async () => {
        const { token } = await makeUserAndLogin(ctx);
        const cases: [Record<string, unknown>, string][] = [
          [{ role: "admin" }, "role"],
          [{ email: "other@school.test" }, "email"],
          [
            { socialLinks: { myspace: "https://myspace.test/me" } },
            "socialLinks.myspace",
          ],
          [{ preferences: { fontSize: 12 } }, "preferences.fontSize"],
        ];
        for (const [body, field] of cases) {
          const res = await api(ctx, "PUT", "/api/users/profile", {
            token,
            body,
          });
          assert.equal(res.status, 422, JSON.stringify(body));
          assert.equal(res.body.success, false);
          assert.equal(res.body.error.code, "VALIDATION_FAILED");
          assert.ok(
            res.body.error.details.fields[field],
            `${field} in ${JSON.stringify(res.body.error.details)}`,
          );
        }
      },
    );

    await t.step(
      "PUT /api/users/profile rejects non-http(s) URLs with 422 per field",
      async () => {
        const { token } = await makeUserAndLogin(ctx);
        const cases: [Record<string, unknown>, string][] = [
          [{ avatar: "ftp://files.test/me.png" }, "avatar"],
          [{ avatar: "javascript:alert(1)" }, "avatar"],
          [{ avatar: "not a url" }, "avatar"],
          [
            { socialLinks: { website: "data:text/html,hi" } },
            "socialLinks.website",
          ],
        ];
        for (const [body, field] of cases) {
          const res = await api(ctx, "PUT", "/api/users/profile", {
            token,
            body,
          });
          assert.equal(res.status, 422, JSON.stringify(body));
          assert.equal(res.body.error.code, "VALIDATION_FAILED");
          assert.match(
            res.body.error.details.fields[field],
            /URL/,
            JSON.stringify(res.body.error.details),
          );
        }
      },
    );

    await t.step(
      "PUT /api/users/profile rejects a bad theme, a non-boolean flag and an empty name with 422",
      async () => {
        const { token } = await makeUserAndLogin(ctx);
        const theme = await api(ctx, "PUT", "/api/users/profile", {
          token,
          body: { preferences: { theme: "neon" } },
        });
        assert.equal(theme.status, 422);
        assert.equal(
          theme.body.error.details.fields["preferences.theme"],
          "Must be light, dark or system",
        );
        const flag = await api(ctx, "PUT", "/api/users/profile", {
          token,
          body: { preferences: { emailNotifications: "yes" } },
        });
        assert.equal(flag.status, 422);
        assert.equal(
          flag.body.error.details.fields["preferences.emailNotifications"],
          "Must be true or false",
        );
        const name = await api(ctx, "PUT", "/api/users/profile", {
          token,
          body: { name: "   " },
        });
        assert.equal(name.status, 422);
        assert.equal(name.body.error.details.fields.name, "Is required");
      },
    );

    await t.step(
      "PUT /api/users/profile with a non-JSON content type is 415",
      async () => {
        const { token } = await makeUserAndLogin(ctx);
        const form = await api(ctx, "PUT", "/api/users/profile", {
          token,
          body: "name=Mallory",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
        });
        assert.equal(form.status, 415);
        assert.equal(form.body.error.code, "UNSUPPORTED_MEDIA_TYPE");
        const text = await api(ctx, "PUT", "/api/users/profile", {
          token,
          body: JSON.stringify({ name: "Mallory" }),
          headers: { "Content-Type": "text/plain" },
        });
        assert.equal(text.status, 415);
        assert.equal(text.body.error.code, "UNSUPPORTED_MEDIA_TYPE");
      },
    );

    await t.step(
      "PUT /api/users/profile with malformed JSON is 400 INVALID_JSON",
      async () => {
        const { token } = await makeUserAndLogin(ctx);
        const res = await api(ctx, "PUT", "/api/users/profile", {
          token,
          body: '{"name": "Bob",',
        });
        assert.equal(res.status, 400);
        assert.equal(res.body.success, false);
        assert.equal(res.body.error.code, "INVALID_JSON");
      },
    );

    await t.step(
      "PUT /api/users/profile with a null, string or number JSON body is 422",
      async () => {
        const { token } = await makeUserAndLogin(ctx);
        for (const body of ["null", '"name"', "5"]) {
          const res = await api(ctx, "PUT", "/api/users/profile", {
            token,
            body,
          });
          assert.equal(res.status, 422, body);
          assert.equal(res.body.error.code, "VALIDATION_FAILED");
          assert.ok(
            res.body.error.details.fields.body,
            JSON.stringify(res.body.error.details),
          );
        }
      },
    );

    await t.step(
      "PUT /api/users/profile with a JSON array body is 422, not an empty update",
      async () => {
        const { user, token } = await makeUserAndLogin(ctx);
        const [before] = await ctx.deps.db.select().from(users).where(
          eq(users.id, user.id),
        );
        const res = await api(ctx, "PUT", "/api/users/profile", {
          token,
          body: "[]",
        });
        const [after] = await ctx.deps.db.select().from(users).where(
          eq(users.id, user.id),
        );
        assert.equal(res.status, 422, JSON.stringify(res.body));
        assert.equal(res.body.error.code, "VALIDATION_FAILED");
        assert.deepEqual(after, before);
      },
    );

    await t.step(
      "PUT /api/users/profile without a token is 401 and a failed update changes nothing",
      async () => {
        const { user, token } = await makeUserAndLogin(ctx, {
          name: "Unchanged Name",
        });
        await api(ctx, "PUT", "/api/users/profile", {
          token,
          body: { bio: "Original bio", preferences: { theme: "light" } },
        });
        const [before] = await ctx.deps.db.select().from(users).where(
          eq(users.id, user.id),
        );
        const anonymous = await api(ctx, "PUT", "/api/users/profile", {
          body: { name: "Hacker" },
        });
        assert.equal(anonymous.status, 401);
        const failures = [
          { name: "New Name", bio: "New bio", avatar: "ftp://bad.test/a.png" },
          { name: "New Name", preferences: { theme: "neon" } },
          { name: "New Name", role: "admin" },
        ];
        for (const body of failures) {
          const res = await api(ctx, "PUT", "/api/users/profile", {
            token,
            body,
          });
          assert.equal(res.status, 422, JSON.stringify(body));
        }
        const badJson = await api(ctx, "PUT", "/api/users/profile", {
          token,
          body: '{"name":"New Name"',
        });
        assert.equal(badJson.status, 400);
        const [after] = await ctx.deps.db.select().from(users).where(
          eq(users.id, user.id),
        );
        assert.deepEqual(
          after,
          before,
          "the row, updatedAt included, is untouched",
        );
        const profile = await api(ctx, "GET", "/api/users/profile", { token });
        assert.equal(profile.body.user.name, "Unchanged Name");
        assert.equal(profile.body.user.bio, "Original bio");
        assert.deepEqual(profile.body.user.preferences, {
          emailNotifications: true,
          theme: "light",
        });
      },
    );
  } finally {
    await ctx.close();
  }
});
