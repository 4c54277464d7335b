import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { type User, users } from "../../../db/schema/mod.ts";
import { banUser } from "../../../server/features/users/service.ts";
import { AppError } from "../../../server/lib/errors.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import {
  ADMIN_ACTOR,
  latestEmail,
  login,
  makeProgram,
  makeUser,
  makeUserAndLogin,
  PASSWORD,
} from "../../helpers/factories.ts";

/** The 002 admin user row, with what administrators need on top. */
const ADMIN_USER_KEYS = [
  "banReason",
  "createdAt",
  "email",
  "emailVerified",
  "id",
  "lastLogin",
  "name",
  "requestedRole",
  "role",
  "status",
  "subscriptionTier",
];

const PRICING = {
  chatbot: 9.99,
  documentation: 14.99,
  examSimulator: 19.99,
  bundle: 34.99,
};

/** Fixes an account's creation time, so "newest first" has one right answer. */
async function createdAt(ctx: TestContext, user: User, at: Date) {
  await ctx.deps.db.update(users).set({ createdAt: at }).where(
    eq(users.id, user.id),
  );
}

Deno.test("admin user management: list, ban, unban, roles, featuring", async (t) => {
  const ctx = await createTestContext();
  const list = (query: string, token: string) =>
    api(ctx, "GET", `/api/admin/users${query}`, { token });
  const ids = (body: { users: { id: string }[] }) =>
    body.users.map((u) => u.id);
  try {
    const admin = await makeUserAndLogin(ctx, {
      role: "admin",
      name: "Ada Admin",
    });
    const instructor = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Ivan Instructor",
    });
    const student = await makeUserAndLogin(ctx, {
      role: "student",
      name: "Stella Student",
    });

    // Accounts made for the list: created an hour apart, a day ago, in this order.
    const base = Date.now() - 86_400_000;
    const fixtures: User[] = [];
    for (
      const [name, role] of [
        ["Lovelace Countess", "student"],
        ["Hundred% Sure", "student"],
        ["Snake_Case Person", "student"],
        ["Pager One", "student"],
        ["Pager Two", "instructor"],
        ["Pager Three", "student"],
        ["Pager Four", "instructor"],
        ["Pager Five", "student"],
      ] as const
    ) {
      const user = await makeUser(ctx, { name, role });
      await createdAt(ctx, user, new Date(base + fixtures.length * 3_600_000));
      fixtures.push(user);
    }
    const [lovelace, hundred, snake, ...pagers] = fixtures as [
      User,
      User,
      User,
      ...User[],
    ];
    const preBanned = await makeUser(ctx, { name: "Already Banned" });
    await banUser(ctx.deps, ADMIN_ACTOR, preBanned.id, "spam");

    await t.step(
      "GET /api/admin/users: 401 anonymous, 403 for students and instructors",
      async () => {
        const anonymous = await api(ctx, "GET", "/api/admin/users");
        assert.equal(anonymous.status, 401);
        assert.equal(anonymous.body.error.code, "UNAUTHENTICATED");
        for (const who of [student, instructor]) {
          const res = await list("", who.token);
          assert.equal(res.status, 403, JSON.stringify(res.body));
          assert.equal(res.body.success, false);
        }
        for (
          const [method, path, body] of [
            ["GET", `/api/admin/users/${student.user.id}`, undefined],
            ["POST", `/api/admin/users/${admin.user.id}/ban`, { reason: "x" }],
            ["POST", `/api/admin/users/${preBanned.id}/unban`, undefined],
            ["PUT", `/api/admin/users/${instructor.user.id}/role`, {
              role: "admin",
            }],
          ] as const
        ) {
          const res = await api(ctx, method, path, {
            token: instructor.token,
            ...(body ? { body } : {}),
          });
          assert.equal(res.status, 403, `${method} ${path}`);
        }
        const [still] = await ctx.deps.db.select().from(users).where(
          eq(users.id, instructor.user.id),
        );
        assert.equal(still!.role, "instructor", "nothing changed");
      },
    );

    await t.step(
      "the list is newest first, in 002's shape with lastLogin",
      async () => {
        const res = await list("?limit=100", admin.token);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        const all = res.body.users as Record<string, unknown>[];
        assert.equal(res.body.pagination.total, fixtures.length + 4);
        assert.equal(all.length, fixtures.length + 4);
        for (const row of all) {
          assert.deepEqual(Object.keys(row).sort(), ADMIN_USER_KEYS);
        }
        const times = all.map((u) => Date.parse(u.createdAt as string));
        assert.deepEqual(times, [...times].sort((a, b) => b - a));
        // The fixtures, oldest of all, come last in reverse order of creation.
        assert.deepEqual(
          ids(res.body).slice(-fixtures.length),
          fixtures.map((u) => u.id).reverse(),
        );

        const byId = new Map(all.map((u) => [u.id, u]));
        const adminRow = byId.get(admin.user.id)!;
        assert.equal(adminRow.email, admin.user.email);
        assert.equal(adminRow.name, "Ada Admin");
        assert.equal(adminRow.role, "admin");
        assert.equal(adminRow.status, "active");
        assert.equal(adminRow.banReason, null);
        assert.equal(adminRow.emailVerified, true);
        assert.equal(typeof adminRow.lastLogin, "string", "admin logged in");
        assert.ok(
          Date.now() - Date.parse(adminRow.lastLogin as string) < 600_000,
        );
        assert.equal(byId.get(lovelace.id)!.lastLogin, null, "never logged in");
        const banned = byId.get(preBanned.id)!;
        assert.equal(banned.status, "banned");
        assert.equal(banned.banReason, "spam");

        const one = await api(ctx, "GET", `/api/admin/users/${lovelace.id}`, {
          token: admin.token,
        });
        assert.equal(one.status, 200);
        assert.deepEqual(Object.keys(one.body.user).sort(), ADMIN_USER_KEYS);
        assert.equal(one.body.user.email, lovelace.email);
        assert.equal(one.body.user.createdAt, new Date(base).toISOString());
        const missing = await api(
          ctx,
          "GET",
          "/api/admin/users/01ARZ3NDEKTSV4RRFFQ69G5FAV",
          { token: admin.token },
        );
        assert.equal(missing.status, 404);
      },
    );

    await t.step("filters by role and by status", async () => {
      const instructors = await list("?role=instructor&limit=100", admin.token);
      assert.equal(instructors.status, 200);
      assert.deepEqual(
        new Set(ids(instructors.body)),
        new Set([instructor.user.id, pagers[1]!.id, pagers[3]!.id]),
      );
      assert.ok(
        instructors.body.users.every((u: User) => u.role === "instructor"),
      );
      const admins = await list("?role=admin", admin.token);
      assert.deepEqual(ids(admins.body), [admin.user.id]);

      const banned = await list("?status=banned", admin.token);
      assert.deepEqual(ids(banned.body), [preBanned.id]);
      assert.equal(banned.body.pagination.total, 1);
      const active = await list("?status=active&limit=100", admin.token);
      assert.ok(!ids(active.body).includes(preBanned.id));
      assert.equal(active.body.pagination.total, fixtures.length + 3);

      const both = await list("?role=student&status=banned", admin.token);
      assert.deepEqual(ids(both.body), [preBanned.id]);
      const none = await list("?role=admin&status=banned", admin.token);
      assert.deepEqual(none.body.users, []);
      assert.equal(none.body.pagination.total, 0);
    });

    await t.step(
      "search matches part of the name or the email, ignoring case",
      async () => {
        const byName = await list("?search=lOVELACE", admin.token);
        assert.equal(byName.status, 200);
        assert.deepEqual(ids(byName.body), [lovelace.id]);
        const local = lovelace.email.split("@")[0]!.toUpperCase();
        const byEmail = await list(
          `?search=${encodeURIComponent(local)}`,
          admin.token,
        );
        assert.deepEqual(ids(byEmail.body), [lovelace.id]);
        const withRole = await list(
          "?search=pager&role=instructor",
          admin.token,
        );
        assert.deepEqual(ids(withRole.body), [pagers[3]!.id, pagers[1]!.id]);
        const blank = await list("?search=%20%20&limit=100", admin.token);
        assert.equal(blank.body.pagination.total, fixtures.length + 4);
      },
    );

    await t.step(
      "% and _ in a search are literal characters, not LIKE wildcards",
      async () => {
        const percent = await list("?search=%25", admin.token);
        assert.equal(percent.status, 200);
        assert.deepEqual(
          ids(percent.body),
          [hundred.id],
          "only the name with %",
        );
        const underscore = await list("?search=_", admin.token);
        assert.deepEqual(
          ids(underscore.body),
          [snake.id],
          "only the name with _",
        );
        // As wildcards these would match "Hundred% Sure" and "Snake".
        const red = await list("?search=red%25sure", admin.token);
        assert.deepEqual(red.body.users, []);
        const nak = await list("?search=n_k", admin.token);
        assert.deepEqual(nak.body.users, []);
        const literal = await list("?search=E_c", admin.token);
        assert.deepEqual(ids(literal.body), [snake.id]);
      },
    );

    await t.step(
      "pagination: page and limit, the pagination block and the Link header",
      async () => {
        const newestFirst = pagers.map((u) => u.id).reverse();
        const first = await list("?search=Pager&limit=2", admin.token);
        assert.equal(first.status, 200);
        assert.deepEqual(ids(first.body), newestFirst.slice(0, 2));
        assert.deepEqual(first.body.pagination, {
          currentPage: 1,
          totalPages: 3,
          total: 5,
          limit: 2,
          hasNext: true,
          hasPrev: false,
        });
        const link = first.headers.get("link") ?? "";
        assert.match(
          link,
          /<\/api\/admin\/users\?search=Pager&limit=2&page=2>; rel="next"/,
        );
        assert.match(link, /page=3>; rel="last"/);
        assert.doesNotMatch(link, /rel="prev"/);

        const second = await list("?search=Pager&limit=2&page=2", admin.token);
        assert.deepEqual(ids(second.body), newestFirst.slice(2, 4));
        assert.equal(second.body.pagination.hasPrev, true);
        assert.equal(second.body.pagination.hasNext, true);
        assert.match(second.headers.get("link") ?? "", /page=1>; rel="prev"/);

        const last = await list("?search=Pager&limit=2&page=3", admin.token);
        assert.deepEqual(ids(last.body), newestFirst.slice(4));
        assert.equal(last.body.pagination.hasNext, false);
        assert.doesNotMatch(last.headers.get("link") ?? "", /rel="next"/);

        const beyond = await list("?search=Pager&limit=2&page=9", admin.token);
        assert.equal(beyond.status, 200);
        assert.deepEqual(beyond.body.users, []);
        assert.equal(beyond.body.pagination.total, 5);

        const defaults = await list("", admin.token);
        assert.equal(defaults.body.pagination.limit, 20);
        assert.equal(defaults.body.pagination.currentPage, 1);
      },
    );

    await t.step(
      "422 for an unknown role or status and a bad page or limit",
      async () => {
        for (
          const [query, field] of [
            ["?role=superuser", "role"],
            ["?status=gone", "status"],
            ["?limit=0", "limit"],
            ["?limit=101", "limit"],
            ["?limit=ten", "limit"],
            ["?page=0", "page"],
            [`?search=${"x".repeat(101)}`, "search"],
          ] as const
        ) {
          const res = await list(query, admin.token);
          assert.equal(
            res.status,
            422,
            `${query}: ${JSON.stringify(res.body)}`,
          );
          assert.equal(res.body.error.code, "VALIDATION_FAILED");
          assert.ok(
            res.body.error.details.fields[field],
            `${query}: ${JSON.stringify(res.body.error)}`,
          );
        }
      },
    );

    const victim = await makeUserAndLogin(ctx, { name: "Victor Victim" });

    await t.step(
      "a ban needs a reason (422) and a real account (404)",
      async () => {
        for (
          const body of [{}, { reason: "" }, { reason: "   " }, { reason: 5 }]
        ) {
          const res = await api(
            ctx,
            "POST",
            `/api/admin/users/${victim.user.id}/ban`,
            { token: admin.token, body },
          );
          assert.equal(res.status, 422, JSON.stringify(body));
          assert.ok(res.body.error.details.fields.reason);
        }
        const unknown = await api(
          ctx,
          "POST",
          "/api/admin/users/01ARZ3NDEKTSV4RRFFQ69G5FAV/ban",
          { token: admin.token, body: { reason: "Spam" } },
        );
        assert.equal(unknown.status, 404);
        const me = await api(ctx, "GET", "/api/auth/me", {
          token: victim.token,
        });
        assert.equal(me.status, 200, "still signed in: nothing was banned");
        // The victim wants no email at all: a ban is told all the same.
        const quiet = await api(ctx, "PUT", "/api/user/preferences", {
          token: victim.token,
          body: { emailNotifications: false },
        });
        assert.equal(quiet.status, 200, JSON.stringify(quiet.body));
      },
    );

    await t.step(
      "ban: the very next request with the old token is 403 ACCOUNT_BANNED, and refresh stops working",
      async () => {
        const before = await api(ctx, "GET", "/api/auth/me", {
          token: victim.token,
        });
        assert.equal(before.status, 200);

        const res = await api(
          ctx,
          "POST",
          `/api/admin/users/${victim.user.id}/ban`,
          { token: admin.token, body: { reason: "  Posting spam links  " } },
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(Object.keys(res.body.user).sort(), ADMIN_USER_KEYS);
        assert.equal(res.body.user.status, "banned");
        assert.equal(res.body.user.banReason, "Posting spam links", "trimmed");

        const after = await api(ctx, "GET", "/api/auth/me", {
          token: victim.token,
        });
        assert.equal(after.status, 403);
        assert.equal(after.body.error.code, "ACCOUNT_BANNED");

        const refreshed = await api(ctx, "POST", "/api/auth/refresh-token", {
          body: { refreshToken: victim.refreshToken },
        });
        assert.equal(refreshed.status, 401, JSON.stringify(refreshed.body));
        assert.equal(refreshed.body.error.code, "INVALID_REFRESH_TOKEN");
        assert.equal(refreshed.body.token, undefined);

        const relogin = await api(ctx, "POST", "/api/auth/login", {
          body: { email: victim.user.email, password: PASSWORD },
        });
        assert.equal(relogin.status, 403);
        assert.equal(relogin.body.error.code, "ACCOUNT_BANNED");

        const shown = await api(
          ctx,
          "GET",
          `/api/admin/users/${victim.user.id}`,
          { token: admin.token },
        );
        assert.equal(shown.body.user.status, "banned");
        assert.equal(shown.body.user.banReason, "Posting spam links");
        const bannedNow = await list("?status=banned", admin.token);
        assert.ok(ids(bannedNow.body).includes(victim.user.id));
      },
    );

    await t.step(
      "the banned person is emailed, whatever their preferences",
      async () => {
        const mail = await latestEmail(ctx, victim.user.email, "notification");
        assert.match(mail.subject, /banned/i);
        assert.match(mail.text, /Posting spam links/);
        assert.match(mail.text, /Hello Victor Victim/);
      },
    );

    await t.step("banning a banned account again is 409", async () => {
      const res = await api(
        ctx,
        "POST",
        `/api/admin/users/${victim.user.id}/ban`,
        { token: admin.token, body: { reason: "Again" } },
      );
      assert.equal(res.status, 409);
      assert.equal(res.body.error.code, "ALREADY_BANNED");
      const [row] = await ctx.deps.db.select().from(users).where(
        eq(users.id, victim.user.id),
      );
      assert.equal(row!.banReason, "Posting spam links", "reason unchanged");
    });

    await t.step(
      "an admin cannot ban themselves (403), and the only admin cannot be banned (409 LAST_ADMIN)",
      async () => {
        const self = await api(
          ctx,
          "POST",
          `/api/admin/users/${admin.user.id}/ban`,
          { token: admin.token, body: { reason: "Oops" } },
        );
        assert.equal(self.status, 403);
        assert.equal(self.body.error.code, "CANNOT_BAN_SELF");

        // Only the CLI, which is no account, could try to ban the one administrator.
        await assert.rejects(
          () => banUser(ctx.deps, ADMIN_ACTOR, admin.user.id, "Locked out"),
          (error: unknown) =>
            error instanceof AppError && error.status === 409 &&
            error.code === "LAST_ADMIN",
        );
        const me = await api(ctx, "GET", "/api/auth/me", {
          token: admin.token,
        });
        assert.equal(me.status, 200, "the admin is still active");
        assert.equal(me.body.user.role, "admin");
        assert.equal(me.body.user.status, "active");
      },
    );

    await t.step(
      "unban restores login; unbanning an active account is 409",
      async () => {
        const res = await api(
          ctx,
          "POST",
          `/api/admin/users/${victim.user.id}/unban`,
          { token: admin.token },
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.user.status, "active");
        assert.equal(res.body.user.banReason, null);

        const old = await api(ctx, "GET", "/api/auth/me", {
          token: victim.token,
        });
        assert.equal(old.status, 401, "the old session stays ended");

        const fresh = await login(ctx, victim.user.email);
        const me = await api(ctx, "GET", "/api/auth/me", {
          token: fresh.token,
        });
        assert.equal(me.status, 200);
        const mail = await latestEmail(ctx, victim.user.email, "notification");
        assert.match(mail.subject, /restored/i);

        const again = await api(
          ctx,
          "POST",
          `/api/admin/users/${victim.user.id}/unban`,
          { token: admin.token },
        );
        assert.equal(again.status, 409);
        assert.equal(again.body.error.code, "NOT_BANNED");
      },
    );

    await t.step(
      "a role change takes effect on the next request: a student made instructor can create a program",
      async () => {
        const learner = await makeUserAndLogin(ctx, { name: "Rising Star" });
        const body = {
          title: "Promoted Course",
          category: "Development",
          pricing: PRICING,
        };
        const denied = await api(ctx, "POST", "/api/programs", {
          token: learner.token,
          body,
        });
        assert.equal(denied.status, 403);

        const res = await api(
          ctx,
          "PUT",
          `/api/admin/users/${learner.user.id}/role`,
          { token: admin.token, body: { role: "instructor" } },
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.user.role, "instructor");

        const created = await api(ctx, "POST", "/api/programs", {
          token: learner.token,
          body,
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        assert.equal(created.body.program.instructor.id, learner.user.id);

        for (const role of ["owner", "", "ADMIN"]) {
          const bad = await api(
            ctx,
            "PUT",
            `/api/admin/users/${learner.user.id}/role`,
            { token: admin.token, body: { role } },
          );
          assert.equal(bad.status, 422, role);
          assert.ok(bad.body.error.details.fields.role);
        }
        const missing = await api(
          ctx,
          "PUT",
          "/api/admin/users/01ARZ3NDEKTSV4RRFFQ69G5FAV/role",
          { token: admin.token, body: { role: "student" } },
        );
        assert.equal(missing.status, 404);
      },
    );

    await t.step(
      "the last active admin cannot be demoted; with a second admin, demotion works at once",
      async () => {
        const self = await api(
          ctx,
          "PUT",
          `/api/admin/users/${admin.user.id}/role`,
          { token: admin.token, body: { role: "student" } },
        );
        assert.equal(self.status, 409);
        assert.equal(self.body.error.code, "LAST_ADMIN");
        const still = await list("?role=admin", admin.token);
        assert.equal(still.status, 200, "still an admin");
        assert.deepEqual(ids(still.body), [admin.user.id]);

        const promoted = await api(
          ctx,
          "PUT",
          `/api/admin/users/${instructor.user.id}/role`,
          { token: admin.token, body: { role: "admin" } },
        );
        assert.equal(promoted.status, 200);
        const asNewAdmin = await list("?role=admin", instructor.token);
        assert.equal(asNewAdmin.status, 200, "admin on the next request");
        assert.equal(asNewAdmin.body.pagination.total, 2);

        const demoted = await api(
          ctx,
          "PUT",
          `/api/admin/users/${instructor.user.id}/role`,
          { token: admin.token, body: { role: "instructor" } },
        );
        assert.equal(demoted.status, 200);
        assert.equal(demoted.body.user.role, "instructor");
        const afterDemotion = await list("", instructor.token);
        assert.equal(afterDemotion.status, 403, "no longer an admin");
      },
    );

    await t.step(
      "feature and unfeature change `featured`, as GET /api/programs?featured=true shows",
      async () => {
        const program = await makeProgram(ctx, instructor.user, {
          title: "Featurable Program",
        });
        const featuredIds = async () => {
          const res = await api(
            ctx,
            "GET",
            "/api/programs?featured=true&limit=100",
          );
          assert.equal(res.status, 200);
          return res.body.programs.map((p: { id: string }) => p.id);
        };
        assert.ok(!(await featuredIds()).includes(program.id));

        const featured = await api(
          ctx,
          "POST",
          `/api/admin/programs/${program.id}/feature`,
          { token: admin.token },
        );
        assert.equal(featured.status, 200, JSON.stringify(featured.body));
        assert.equal(featured.body.program.id, program.id);
        assert.equal(featured.body.program.featured, true);
        assert.deepEqual(await featuredIds(), [program.id]);

        const unfeatured = await api(
          ctx,
          "POST",
          `/api/admin/programs/${program.id}/unfeature`,
          { token: admin.token },
        );
        assert.equal(unfeatured.status, 200);
        assert.equal(unfeatured.body.program.featured, false);
        assert.deepEqual(await featuredIds(), []);

        for (const path of ["feature", "unfeature"]) {
          const unknown = await api(
            ctx,
            "POST",
            `/api/admin/programs/01ARZ3NDEKTSV4RRFFQ69G5FAV/${path}`,
            { token: admin.token },
          );
          assert.equal(unknown.status, 404, path);
          const byStudent = await api(
            ctx,
            "POST",
            `/api/admin/programs/${program.id}/${path}`,
            { token: student.token },
          );
          assert.equal(byStudent.status, 403, path);
          const byOwner = await api(
            ctx,
            "POST",
            `/api/admin/programs/${program.id}/${path}`,
            { token: instructor.token },
          );
          assert.equal(byOwner.status, 403, `${path}: even its instructor`);
        }
        assert.deepEqual(await featuredIds(), []);
      },
    );
  } finally {
    await ctx.close();
  }
});
