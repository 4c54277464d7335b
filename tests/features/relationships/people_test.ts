import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { users } from "../../../db/schema/mod.ts";
import { banUser } from "../../../server/features/users/service.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import { ADMIN_ACTOR, makeUserAndLogin } from "../../helpers/factories.ts";

type Person = Awaited<ReturnType<typeof makeUserAndLogin>>;

/** What GET /api/users/:id may show about anyone; instructors add their teaching profile. */
const PUBLIC_KEYS = [
  "avatar",
  "bio",
  "id",
  "joinedAt",
  "name",
  "role",
  "socialLinks",
];
const INSTRUCTOR_KEYS = [
  ...PUBLIC_KEYS,
  "acceptingStudents",
  "expertise",
  "headline",
];
const PRIVATE_KEYS = [
  "email",
  "preferences",
  "passwordHash",
  "stripeCustomerId",
  "status",
  "banReason",
  "failedLoginCount",
  "lastLoginAt",
];

async function connect(ctx: TestContext, teacher: Person, student: Person) {
  const invite = await api(ctx, "POST", "/api/relationships/request", {
    token: teacher.token,
    body: { userId: student.user.id },
  });
  assert.equal(invite.status, 201, JSON.stringify(invite.body));
  const id: string = invite.body.relationship.id;
  const accepted = await api(ctx, "PUT", `/api/relationships/${id}/accept`, {
    token: student.token,
  });
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  return id;
}

const names = (list: { name: string }[]) => list.map((p) => p.name);

Deno.test("people: teachers, students and public profiles", async (t) => {
  const ctx = await createTestContext();
  try {
    const ada = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Ada 100% Teacher",
    });
    const bob = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Bob Teacher",
    });
    const cy = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Cy Closed",
    });
    const dee = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Dee Banned",
    });
    const admin = await makeUserAndLogin(ctx, {
      role: "admin",
      name: "Al Admin",
    });
    const ed = await makeUserAndLogin(ctx, { name: "Ed Student" });
    const fay = await makeUserAndLogin(ctx, { name: "Fay Student" });
    const gus = await makeUserAndLogin(ctx, { name: "Gus Pending" });
    const hal = await makeUserAndLogin(ctx, { name: "Hal Banned" });
    const ray = await makeUserAndLogin(ctx, { name: "Ray Removed" });

    const setProfile = async (who: Person, body: Record<string, unknown>) => {
      const res = await api(ctx, "PUT", "/api/instructors/profile", {
        token: who.token,
        body,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    };
    await setProfile(bob, {
      headline: "Jazz piano and theory",
      expertise: ["Piano"],
      bio: "Plays every day",
    });
    await setProfile(cy, { acceptingStudents: false, headline: "Jazz too" });

    // Bob teaches Ed and Fay; Gus has only asked; Hal was a student until banned; Ray left.
    await connect(ctx, bob, ed);
    await connect(ctx, bob, fay);
    await connect(ctx, bob, hal);
    const rayId = await connect(ctx, bob, ray);
    assert.equal(
      (await api(ctx, "DELETE", `/api/relationships/${rayId}`, {
        token: ray.token,
      })).status,
      200,
    );
    const asked = await api(ctx, "POST", "/api/relationships/request", {
      token: gus.token,
      body: { userId: bob.user.id },
    });
    assert.equal(asked.status, 201);
    await connect(ctx, ada, ed);
    await banUser(ctx.deps, ADMIN_ACTOR, hal.user.id, "Spam");
    await banUser(ctx.deps, ADMIN_ACTOR, dee.user.id, "Spam");
    await ctx.deps.db.update(users).set({ stripeCustomerId: "cus_secret_ed" })
      .where(eq(users.id, ed.user.id));

    const get = (path: string, who: Person = ed) =>
      api(ctx, "GET", path, { token: who.token });

    await t.step(
      "GET /api/users/teachers: active instructors accepting students, by name",
      async () => {
        const res = await get("/api/users/teachers");
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        assert.deepEqual(names(res.body.teachers), [
          "Ada 100% Teacher",
          "Bob Teacher",
        ]);
        assert.equal(res.body.pagination.total, 2);
        const bobs = res.body.teachers[1];
        assert.equal(bobs.id, bob.user.id);
        assert.equal(bobs.role, "instructor");
        assert.equal(bobs.headline, "Jazz piano and theory");
        assert.deepEqual(bobs.expertise, ["Piano"]);
        assert.equal(bobs.acceptingStudents, true);
        for (const teacher of res.body.teachers) {
          for (const key of PRIVATE_KEYS) {
            assert.ok(!(key in teacher), `${key} is not listed`);
          }
        }
        assert.equal(
          (await api(ctx, "GET", "/api/users/teachers")).status,
          401,
        );
      },
    );

    await t.step(
      "search matches name or headline, with LIKE wildcards taken literally",
      async () => {
        const search = async (text: string) => {
          const res = await get(
            `/api/users/teachers?search=${encodeURIComponent(text)}`,
          );
          assert.equal(res.status, 200, JSON.stringify(res.body));
          return names(res.body.teachers);
        };
        assert.deepEqual(await search("bob"), ["Bob Teacher"]);
        assert.deepEqual(await search("JAZZ"), ["Bob Teacher"], "headline");
        assert.deepEqual(await search("teacher"), [
          "Ada 100% Teacher",
          "Bob Teacher",
        ]);
        assert.deepEqual(await search("%"), ["Ada 100% Teacher"]);
        assert.deepEqual(await search("0% T"), ["Ada 100% Teacher"]);
        assert.deepEqual(await search("_"), []);
        assert.deepEqual(await search("B_b"), []);
        assert.deepEqual(await search("\\"), []);
        assert.deepEqual(await search("Closed"), [], "not accepting");
        assert.deepEqual(await search("Dee"), [], "banned");
        const tooLong = await get(
          `/api/users/teachers?search=${"x".repeat(101)}`,
        );
        assert.equal(tooLong.status, 422);
      },
    );

    await t.step("teachers paginate with a Link header", async () => {
      const first = await get("/api/users/teachers?limit=1");
      assert.deepEqual(names(first.body.teachers), ["Ada 100% Teacher"]);
      assert.deepEqual(first.body.pagination, {
        currentPage: 1,
        totalPages: 2,
        total: 2,
        limit: 1,
        hasNext: true,
        hasPrev: false,
      });
      assert.match(first.headers.get("link") ?? "", /page=2[^>]*>; rel="next"/);
      const second = await get("/api/users/teachers?limit=1&page=2");
      assert.deepEqual(names(second.body.teachers), ["Bob Teacher"]);
      assert.equal(second.body.pagination.hasNext, false);
    });

    await t.step(
      "GET /api/users/students: an instructor's active students only; 403 for a student",
      async () => {
        const res = await get("/api/users/students", bob);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(names(res.body.students), [
          "Ed Student",
          "Fay Student",
        ]);
        assert.equal(res.body.pagination.total, 2);
        for (const student of res.body.students) {
          assert.deepEqual(
            Object.keys(student).sort(),
            [...PUBLIC_KEYS].sort(),
          );
        }
        const paged = await get("/api/users/students?limit=1&page=2", bob);
        assert.deepEqual(names(paged.body.students), ["Fay Student"]);
        assert.equal(paged.body.pagination.totalPages, 2);
        assert.ok(paged.headers.get("link"));

        const adas = await get("/api/users/students", ada);
        assert.deepEqual(names(adas.body.students), ["Ed Student"]);
        const cys = await get("/api/users/students", cy);
        assert.deepEqual(cys.body.students, []);
        const forbidden = await get("/api/users/students", ed);
        assert.equal(forbidden.status, 403, JSON.stringify(forbidden.body));
        const admins = await get("/api/users/students", admin);
        assert.equal(admins.status, 200);
        assert.deepEqual(admins.body.students, []);
      },
    );

    await t.step(
      "GET /api/users/:id: public fields only; 404 for banned and unknown",
      async () => {
        const res = await get(`/api/users/${ed.user.id}`, fay);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(
          Object.keys(res.body.user).sort(),
          [...PUBLIC_KEYS].sort(),
        );
        assert.equal(res.body.user.name, "Ed Student");
        assert.equal(res.body.user.role, "student");
        const text = JSON.stringify(res.body);
        assert.ok(!text.includes(ed.user.email), "no email");
        assert.ok(!text.includes("cus_secret_ed"), "no Stripe customer");
        assert.ok(!text.includes("$argon2"), "no password hash");

        const teacher = await get(`/api/users/${bob.user.id}`, ed);
        assert.equal(teacher.status, 200);
        assert.deepEqual(
          Object.keys(teacher.body.user).sort(),
          [...INSTRUCTOR_KEYS].sort(),
        );
        assert.equal(teacher.body.user.bio, "Plays every day");
        assert.equal(teacher.body.user.headline, "Jazz piano and theory");
        const closed = await get(`/api/users/${cy.user.id}`, ed);
        assert.equal(closed.body.user.acceptingStudents, false);

        for (
          const id of [hal.user.id, dee.user.id, "01HZZZZZZZZZZZZZZZZZZZZZZZ"]
        ) {
          const missing = await get(`/api/users/${id}`, bob);
          assert.equal(
            missing.status,
            404,
            `${id}: ${JSON.stringify(missing.body)}`,
          );
          assert.equal(missing.body.error.code, "NOT_FOUND");
        }
        assert.equal(
          (await api(ctx, "GET", `/api/users/${ed.user.id}`)).status,
          401,
        );
      },
    );

    await t.step(
      "the existing /api/users/profile and /api/users/stats are not shadowed by /:id",
      async () => {
        const profile = await get("/api/users/profile", ed);
        assert.equal(profile.status, 200, JSON.stringify(profile.body));
        assert.equal(profile.body.user.id, ed.user.id);
        assert.equal(profile.body.user.email, ed.user.email, "your own email");
        assert.ok("stats" in profile.body.user);
        const stats = await get("/api/users/stats", ed);
        assert.equal(stats.status, 200, JSON.stringify(stats.body));
        assert.equal(typeof stats.body.stats, "object");
        assert.ok(!("user" in stats.body));
        const enrolled = await get("/api/users/enrolled-programs", ed);
        assert.equal(enrolled.status, 200, JSON.stringify(enrolled.body));
        assert.ok(!("user" in enrolled.body));
      },
    );
  } finally {
    await ctx.close();
  }
});
