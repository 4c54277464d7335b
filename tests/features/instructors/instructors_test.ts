import assert from "node:assert/strict";
import { banUser } from "../../../server/features/users/service.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import {
  ADMIN_ACTOR,
  endAccess,
  enroll,
  makeProgram,
  makeUserAndLogin,
} from "../../helpers/factories.ts";

/** The public profile fields 002 lists for GET /api/instructors/:id. */
const PROFILE_KEYS_002 = [
  "avatar",
  "bio",
  "expertise",
  "id",
  "joinedAt",
  "name",
  "rating",
  "socialLinks",
  "totalPrograms",
  "totalReviews",
  "totalStudents",
];

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function review(
  ctx: TestContext,
  token: string,
  programId: string,
  rating: number,
) {
  const res = await api(ctx, "POST", `/api/programs/${programId}/reviews`, {
    token,
    body: { rating },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

Deno.test("instructor public profiles and their programs", async (t) => {
  const ctx = await createTestContext();
  try {
    const iris = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Iris Instructor",
    });
    const rival = await makeUserAndLogin(ctx, { role: "instructor" });
    const admin = await makeUserAndLogin(ctx, { role: "admin" });
    const s1 = await makeUserAndLogin(ctx, { name: "S One" });
    const s2 = await makeUserAndLogin(ctx, { name: "S Two" });
    const s3 = await makeUserAndLogin(ctx, { name: "S Three" });
    const s4 = await makeUserAndLogin(ctx, { name: "S Four" });

    const p1 = await makeProgram(ctx, iris.user, { title: "Iris One" });
    await pause(3);
    const p2 = await makeProgram(ctx, iris.user, { title: "Iris Two" });
    await pause(3);
    const draft = await makeProgram(ctx, iris.user, {
      title: "Iris Draft",
      status: "draft",
    });
    await pause(3);
    const removed = await makeProgram(ctx, iris.user, {
      title: "Iris Removed",
    });
    const rivals = await makeProgram(ctx, rival.user, { title: "Rival's" });

    // s1 learns in both programs (one student), s2 in p1, s3 had a refunded p2 enrollment,
    // s4 only in the program that is deleted below.
    await enroll(ctx, s1.user.id, p1.id, "bundle");
    await enroll(ctx, s1.user.id, p2.id, "chatbot");
    await enroll(ctx, s2.user.id, p1.id, "documentation");
    await enroll(ctx, s3.user.id, p2.id, "bundle");
    await endAccess(ctx, s3.user.id, p2.id, "refunded");
    await enroll(ctx, s4.user.id, removed.id, "bundle");
    await enroll(ctx, s2.user.id, rivals.id, "bundle");
    await review(ctx, s1.token, p1.id, 5);
    await review(ctx, s2.token, p1.id, 4);
    await review(ctx, s1.token, p2.id, 2);
    await review(ctx, s4.token, removed.id, 1);
    await review(ctx, s2.token, rivals.id, 1);
    const deleted = await api(ctx, "DELETE", `/api/programs/${removed.id}`, {
      token: iris.token,
    });
    assert.equal(deleted.status, 200);

    await t.step(
      "PUT /api/instructors/profile sets bio, headline, expertise and links for the public profile",
      async () => {
        const res = await api(ctx, "PUT", "/api/instructors/profile", {
          token: iris.token,
          body: {
            headline: "  Teaches things  ",
            bio: "Ten years of teaching",
            expertise: ["Databases", " Search "],
            acceptingStudents: false,
            socialLinks: {
              website: "https://iris.example.test",
              github: "https://github.com/iris",
            },
          },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        assert.equal(res.body.instructor.headline, "Teaches things");
        assert.deepEqual(res.body.instructor.expertise, [
          "Databases",
          "Search",
        ]);
        assert.equal(res.body.instructor.bio, "Ten years of teaching");
        assert.equal(res.body.instructor.acceptingStudents, false);
        const profile = await api(ctx, "GET", "/api/users/profile", {
          token: iris.token,
        });
        assert.equal(profile.body.user.bio, "Ten years of teaching");
        assert.deepEqual(profile.body.user.socialLinks, {
          website: "https://iris.example.test",
          github: "https://github.com/iris",
        });
      },
    );

    await t.step(
      "GET /api/instructors/:id has 002's shape with values computed from programs, enrollments and reviews",
      async () => {
        const res = await api(ctx, "GET", `/api/instructors/${iris.user.id}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        const instructor = res.body.instructor;
        for (const key of PROFILE_KEYS_002) {
          assert.ok(key in instructor, `${key} is in the profile`);
        }
        assert.deepEqual(
          Object.keys(instructor).filter((key) =>
            !PROFILE_KEYS_002.includes(key)
          ).sort(),
          ["acceptingStudents", "headline"],
          "no private field (email, role, status…) leaks",
        );
        assert.equal(instructor.id, iris.user.id);
        assert.equal(instructor.name, "Iris Instructor");
        assert.equal(instructor.avatar, null);
        assert.equal(instructor.bio, "Ten years of teaching");
        assert.deepEqual(instructor.expertise, ["Databases", "Search"]);
        assert.deepEqual(instructor.socialLinks, {
          website: "https://iris.example.test",
          github: "https://github.com/iris",
        });
        assert.equal(instructor.joinedAt, iris.user.createdAt.toISOString());
        // Published and live: p1 and p2 (the draft and the deleted one do not count).
        assert.equal(instructor.totalPrograms, 2);
        // s1 (twice) and s2: the refunded s3, s4 of the deleted program and the rival's
        // learners do not count.
        assert.equal(instructor.totalStudents, 2);
        // 5 + 4 + 2 over three reviews; the deleted program's and the rival's are left out.
        assert.equal(instructor.totalReviews, 3);
        assert.equal(instructor.rating, 3.7);

        const detail = await api(ctx, "GET", `/api/programs/${p1.id}`);
        assert.equal(detail.body.program.instructor.rating, instructor.rating);
        assert.equal(
          detail.body.program.instructor.studentsCount,
          instructor.totalStudents,
        );
        assert.deepEqual(
          detail.body.program.instructor.expertise,
          instructor.expertise,
        );
      },
    );

    await t.step(
      "the profile follows new reviews, enrollments and programs",
      async () => {
        const s5 = await makeUserAndLogin(ctx);
        await enroll(ctx, s5.user.id, p2.id, "bundle");
        await review(ctx, s5.token, p2.id, 5);
        await makeProgram(ctx, iris.user, { title: "Iris Three" });
        const res = await api(ctx, "GET", `/api/instructors/${iris.user.id}`);
        assert.equal(res.body.instructor.totalPrograms, 3);
        assert.equal(res.body.instructor.totalStudents, 3);
        assert.equal(res.body.instructor.totalReviews, 4);
        assert.equal(res.body.instructor.rating, 4);
        const avatar = await api(ctx, "PUT", "/api/users/profile", {
          token: iris.token,
          body: { avatar: "https://cdn.example.test/iris.png" },
        });
        assert.equal(avatar.status, 200);
        const again = await api(ctx, "GET", `/api/instructors/${iris.user.id}`);
        assert.equal(
          again.body.instructor.avatar,
          "https://cdn.example.test/iris.png",
        );
      },
    );

    await t.step(
      "an instructor with nothing yet has zeros, not nulls",
      async () => {
        const fresh = await makeUserAndLogin(ctx, {
          role: "instructor",
          name: "New Nina",
        });
        const res = await api(ctx, "GET", `/api/instructors/${fresh.user.id}`);
        assert.equal(res.status, 200);
        const i = res.body.instructor;
        assert.deepEqual(
          [i.rating, i.totalStudents, i.totalPrograms, i.totalReviews],
          [0, 0, 0, 0],
        );
        assert.deepEqual(i.expertise, []);
        assert.deepEqual(i.socialLinks, {});
        assert.equal(i.bio, null);
      },
    );

    await t.step(
      "students, admins, unknown ids and banned instructors are 404",
      async () => {
        const banned = await makeUserAndLogin(ctx, { role: "instructor" });
        await banUser(ctx.deps, ADMIN_ACTOR, banned.user.id, "spam");
        for (
          const id of [
            s1.user.id,
            admin.user.id,
            banned.user.id,
            "01ZZZZZZZZZZZZZZZZZZZZZZZZ",
            "not-an-id",
          ]
        ) {
          const res = await api(ctx, "GET", `/api/instructors/${id}`);
          assert.equal(res.status, 404, id);
          assert.equal(res.body.error.code, "NOT_FOUND");
          const programs = await api(
            ctx,
            "GET",
            `/api/instructors/${id}/programs`,
          );
          assert.equal(programs.status, 404, `${id}/programs`);
        }
      },
    );

    await t.step(
      "PUT /api/instructors/profile is for instructors: student 403, admin 403, anonymous 401, bad input 422",
      async () => {
        const body = { headline: "Let me in" };
        const student = await api(ctx, "PUT", "/api/instructors/profile", {
          token: s1.token,
          body,
        });
        assert.equal(student.status, 403);
        assert.equal(student.body.error.code, "FORBIDDEN");
        const byAdmin = await api(ctx, "PUT", "/api/instructors/profile", {
          token: admin.token,
          body,
        });
        assert.equal(byAdmin.status, 403);
        const anonymous = await api(ctx, "PUT", "/api/instructors/profile", {
          body,
        });
        assert.equal(anonymous.status, 401);
        const cases: [unknown, string][] = [
          [{ rating: 5 }, "rating"],
          [{ expertise: Array(21).fill("x") }, "expertise"],
          [{ expertise: ["  "] }, "expertise.0"],
          [
            { socialLinks: { website: "javascript:alert(1)" } },
            "socialLinks.website",
          ],
          [{ acceptingStudents: "yes" }, "acceptingStudents"],
        ];
        for (const [payload, field] of cases) {
          const res = await api(ctx, "PUT", "/api/instructors/profile", {
            token: iris.token,
            body: payload,
          });
          assert.equal(res.status, 422, JSON.stringify(payload));
          assert.ok(
            res.body.error.details.fields[field],
            `${field} in ${JSON.stringify(res.body.error.details)}`,
          );
        }
        const after = await api(ctx, "GET", `/api/instructors/${iris.user.id}`);
        assert.equal(after.body.instructor.headline, "Teaches things");
        assert.deepEqual(after.body.instructor.expertise, [
          "Databases",
          "Search",
        ]);
      },
    );

    await t.step(
      "GET /api/instructors/:id/programs lists only published, live programs, newest first, paginated",
      async () => {
        const res = await api(
          ctx,
          "GET",
          `/api/instructors/${iris.user.id}/programs`,
        );
        assert.equal(res.status, 200);
        assert.equal(res.body.success, true);
        const titles = res.body.programs.map((p: { title: string }) => p.title);
        assert.deepEqual(titles, ["Iris Three", "Iris Two", "Iris One"]);
        assert.ok(!titles.includes(draft.title), "no drafts");
        assert.ok(!titles.includes(removed.title), "no deleted programs");
        for (const program of res.body.programs) {
          assert.equal(program.instructor.id, iris.user.id);
          assert.equal(program.status, "published");
        }
        const p1Card = res.body.programs.find((p: { id: string }) =>
          p.id === p1.id
        );
        assert.equal(p1Card.rating, 4.5);
        assert.equal(p1Card.totalReviews, 2);
        assert.equal(res.body.pagination.total, 3);

        const asOwner = await api(
          ctx,
          "GET",
          `/api/instructors/${iris.user.id}/programs`,
          { token: iris.token },
        );
        assert.equal(
          asOwner.body.programs.length,
          3,
          "public even for the owner",
        );

        const page2 = await api(
          ctx,
          "GET",
          `/api/instructors/${iris.user.id}/programs?limit=2&page=2`,
        );
        assert.equal(page2.status, 200);
        assert.deepEqual(
          page2.body.programs.map((p: { title: string }) => p.title),
          ["Iris One"],
        );
        assert.deepEqual(page2.body.pagination, {
          currentPage: 2,
          totalPages: 2,
          total: 3,
          limit: 2,
          hasNext: false,
          hasPrev: true,
        });
        assert.match(page2.headers.get("link") ?? "", /rel="prev"/);
        const past = await api(
          ctx,
          "GET",
          `/api/instructors/${iris.user.id}/programs?limit=2&page=5`,
        );
        assert.equal(past.status, 200);
        assert.deepEqual(past.body.programs, []);
        for (const query of ["limit=0", "limit=1000", "page=0", "page=x"]) {
          const bad = await api(
            ctx,
            "GET",
            `/api/instructors/${iris.user.id}/programs?${query}`,
          );
          assert.equal(bad.status, 422, query);
        }
        const none = await api(
          ctx,
          "GET",
          `/api/instructors/${rival.user.id}/programs`,
        );
        assert.deepEqual(
          none.body.programs.map((p: { id: string }) => p.id),
          [rivals.id],
        );
      },
    );
  } finally {
    await ctx.close();
  }
});
