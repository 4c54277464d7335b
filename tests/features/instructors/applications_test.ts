import assert from "node:assert/strict";
import { and, eq } from "drizzle-orm";
import {
  instructorApplications,
  notifications,
  users,
} from "../../../db/schema/mod.ts";
import { startSession } from "../../../server/features/auth/service.ts";
import { banUser, createUser } from "../../../server/features/users/service.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import {
  ADMIN_ACTOR,
  latestEmail,
  uniqueEmail,
} from "../../helpers/factories.ts";
import { type Learner, learner } from "../payments/support.ts";

/** 002's application fields, plus what else the application holds. */
const APPLICATION_KEYS = [
  "appliedAt",
  "bio",
  "education",
  "experience",
  "expertise",
  "id",
  "rejectionReason",
  "reviewedAt",
  "sampleWork",
  "socialLinks",
  "status",
  "user",
];

const BIO = "I have taught evening classes in databases for six years.";

const form = (fields: Record<string, unknown> = {}) => ({
  bio: BIO,
  expertise: ["Databases", "SQL"],
  ...fields,
});

const apply = (ctx: TestContext, token: string, body: unknown) =>
  api(ctx, "POST", "/api/instructors/apply", { token, body });

/** Applies and expects 201; returns the application id. */
async function applied(
  ctx: TestContext,
  who: Learner,
  fields: Record<string, unknown> = {},
): Promise<string> {
  const res = await apply(ctx, who.token, form(fields));
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.applicationId;
}

const decide = (
  ctx: TestContext,
  token: string,
  id: string,
  decision: "approve" | "reject",
  body?: unknown,
) =>
  api(ctx, "POST", `/api/instructors/applications/${id}/${decision}`, {
    token,
    ...(body !== undefined ? { body } : {}),
  });

async function notificationsOf(ctx: TestContext, userId: string, type: string) {
  return await ctx.deps.db.select().from(notifications).where(and(
    eq(notifications.userId, userId),
    eq(notifications.type, type),
  ));
}

async function roleOf(ctx: TestContext, userId: string) {
  const [row] = await ctx.deps.db.select({ role: users.role }).from(users)
    .where(eq(users.id, userId));
  return row!.role;
}

async function applicationRow(ctx: TestContext, id: string) {
  const [row] = await ctx.deps.db.select().from(instructorApplications).where(
    eq(instructorApplications.id, id),
  );
  assert.ok(row, `application ${id} is stored`);
  return row;
}

Deno.test("instructor applications: apply, review, approve, reject", async (t) => {
  const ctx = await createTestContext();
  try {
    const admin = await learner(ctx, "admin");
    const secondAdmin = await learner(ctx, "admin");
    const alice = await learner(ctx);
    const bystander = await learner(ctx);
    let aliceApplication = "";

    await t.step(
      "POST /api/instructors/apply: 201 with applicationId and the pending application in 002's shape",
      async () => {
        const res = await apply(ctx, alice.token, {
          bio: `   ${BIO}   `,
          expertise: [" Databases ", "SQL", "Data modelling"],
          experience: "Six years at the community college",
          education: "MSc Computer Science",
          socialLinks: { github: "https://github.com/alice-teaches" },
          sampleWork: "https://example.com/alice/lesson-1",
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        assert.equal(typeof res.body.applicationId, "string");
        const application = res.body.application;
        assert.equal(application.id, res.body.applicationId);
        assert.deepEqual(Object.keys(application).sort(), APPLICATION_KEYS);
        assert.deepEqual(application.user, {
          id: alice.user.id,
          name: alice.user.name,
          email: alice.user.email,
          avatar: null,
        });
        assert.equal(application.status, "pending");
        assert.equal(application.bio, BIO, "the bio is trimmed");
        assert.deepEqual(application.expertise, [
          "Databases",
          "SQL",
          "Data modelling",
        ]);
        assert.equal(
          application.experience,
          "Six years at the community college",
        );
        assert.equal(application.education, "MSc Computer Science");
        assert.deepEqual(application.socialLinks, {
          github: "https://github.com/alice-teaches",
        });
        assert.equal(
          application.sampleWork,
          "https://example.com/alice/lesson-1",
        );
        assert.equal(application.rejectionReason, null);
        assert.equal(application.reviewedAt, null);
        assert.ok(
          Math.abs(Date.parse(application.appliedAt) - Date.now()) < 60_000,
          `appliedAt is now: ${application.appliedAt}`,
        );
        aliceApplication = application.id;

        const row = await applicationRow(ctx, aliceApplication);
        assert.equal(row.userId, alice.user.id);
        assert.equal(row.status, "pending");
        assert.equal(row.reviewedBy, null);
        assert.equal(
          await roleOf(ctx, alice.user.id),
          "student",
          "applying changes no role",
        );
      },
    );

    await t.step(
      "invalid forms are 422 VALIDATION_FAILED naming the field; nothing is stored; anonymous is 401",
      async () => {
        const carol = await learner(ctx);
        const cases: [string, unknown, string][] = [
          ["bio too short", form({ bio: "Teacher." }), "bio"],
          [
            "bio of spaces padding a short text",
            form({ bio: `${" ".repeat(30)}short${" ".repeat(30)}` }),
            "bio",
          ],
          ["missing bio", { expertise: ["SQL"] }, "bio"],
          ["missing expertise", { bio: BIO }, "expertise"],
          ["empty expertise", form({ expertise: [] }), "expertise"],
          ["blank expertise item", form({ expertise: ["  "] }), "expertise.0"],
          ["expertise not a list", form({ expertise: "SQL" }), "expertise"],
          ["unknown field", form({ salary: 100 }), "salary"],
          [
            "non-http sampleWork",
            form({ sampleWork: "ftp://example.com/lesson" }),
            "sampleWork",
          ],
          [
            "javascript: sampleWork",
            form({ sampleWork: "javascript:alert(1)" }),
            "sampleWork",
          ],
          [
            "unknown social link",
            form({ socialLinks: { myspace: "https://myspace.com/a" } }),
            "socialLinks.myspace",
          ],
        ];
        for (const [label, body, field] of cases) {
          const res = await apply(ctx, carol.token, body);
          assert.equal(
            res.status,
            422,
            `${label}: ${JSON.stringify(res.body)}`,
          );
          assert.equal(res.body.error.code, "VALIDATION_FAILED", label);
          assert.equal(
            typeof res.body.error.details.fields[field],
            "string",
            `${label}: ${JSON.stringify(res.body.error.details)}`,
          );
        }
        const notJson = await api(ctx, "POST", "/api/instructors/apply", {
          token: carol.token,
          body: "bio=x",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
        });
        assert.equal(notJson.status, 415);
        const anonymous = await api(ctx, "POST", "/api/instructors/apply", {
          body: form(),
        });
        assert.equal(anonymous.status, 401);

        const stored = await ctx.deps.db.select().from(instructorApplications)
          .where(eq(instructorApplications.userId, carol.user.id));
        assert.equal(stored.length, 0, "no invalid application was stored");
        const mine = await api(
          ctx,
          "GET",
          "/api/instructors/applications/mine",
          { token: carol.token },
        );
        assert.equal(mine.body.pagination.total, 0);
      },
    );

    await t.step(
      "a second application while one is pending is 409 APPLICATION_PENDING with the pending id",
      async () => {
        const res = await apply(
          ctx,
          alice.token,
          form({ bio: `${BIO} Again.` }),
        );
        assert.equal(res.status, 409, JSON.stringify(res.body));
        assert.equal(res.body.error.code, "APPLICATION_PENDING");
        assert.equal(res.body.error.details.applicationId, aliceApplication);
        const stored = await ctx.deps.db.select().from(instructorApplications)
          .where(eq(instructorApplications.userId, alice.user.id));
        assert.equal(stored.length, 1);
      },
    );

    await t.step(
      "two applications racing: exactly one is stored, the other is 409 APPLICATION_PENDING",
      async () => {
        const racer = await learner(ctx);
        const results = await Promise.all([
          apply(ctx, racer.token, form()),
          apply(ctx, racer.token, form()),
        ]);
        assert.deepEqual(
          results.map((r) => r.status).sort(),
          [201, 409],
          JSON.stringify(results.map((r) => r.body)),
        );
        assert.equal(
          results.find((r) => r.status === 409)!.body.error.code,
          "APPLICATION_PENDING",
        );
        const stored = await ctx.deps.db.select().from(instructorApplications)
          .where(eq(instructorApplications.userId, racer.user.id));
        assert.equal(stored.length, 1);
        // Leave the queue as the later steps expect it: decided.
        assert.equal(
          (await decide(ctx, admin.token, stored[0]!.id, "reject", {
            reason: "Racing test",
          })).status,
          200,
        );
      },
    );

    await t.step(
      "instructors and administrators applying are 409 ALREADY_INSTRUCTOR",
      async () => {
        const teacher = await learner(ctx, "instructor");
        for (const who of [teacher, admin]) {
          const res = await apply(ctx, who.token, form());
          assert.equal(res.status, 409, JSON.stringify(res.body));
          assert.equal(res.body.error.code, "ALREADY_INSTRUCTOR");
          const stored = await ctx.deps.db.select().from(instructorApplications)
            .where(eq(instructorApplications.userId, who.user.id));
          assert.equal(stored.length, 0);
        }
      },
    );

    await t.step(
      "every administrator is told with an application_submitted notification and an email; nobody else",
      async () => {
        for (const who of [admin, secondAdmin]) {
          const list = await api(ctx, "GET", "/api/notifications", {
            token: who.token,
          });
          assert.equal(list.status, 200);
          const notices = list.body.notifications.filter((
            n: { relatedId: string },
          ) => n.relatedId === aliceApplication);
          assert.equal(notices.length, 1, JSON.stringify(list.body));
          const [notice] = notices;
          assert.equal(notice.type, "application_submitted");
          assert.equal(notice.read, false);
          assert.match(notice.message, new RegExp(alice.user.name));
          assert.match(notice.message, /Databases/);
          assert.equal(
            notice.link,
            "/api/instructors/applications?status=pending",
          );
          const email = await latestEmail(ctx, who.user.email, "notification");
          assert.equal(email.subject, "New instructor application");
          assert.match(email.text, new RegExp(alice.user.name));
        }
        for (const who of [alice, bystander]) {
          assert.equal(
            (await notificationsOf(ctx, who.user.id, "application_submitted"))
              .length,
            0,
          );
        }
      },
    );

    const applicants: Learner[] = [];
    const applicationIds: string[] = [];

    await t.step(
      "GET /api/instructors/applications: admin only (403, 401), newest first, paginated, filtered by status",
      async () => {
        for (let i = 0; i < 3; i++) {
          const who = await learner(ctx);
          applicants.push(who);
          applicationIds.push(
            await applied(ctx, who, { expertise: [`Subject ${i}`] }),
          );
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        const forbidden = await api(
          ctx,
          "GET",
          "/api/instructors/applications",
          {
            token: alice.token,
          },
        );
        assert.equal(forbidden.status, 403);
        assert.equal(forbidden.body.error.code, "FORBIDDEN");
        const teacher = await learner(ctx, "instructor");
        assert.equal(
          (await api(ctx, "GET", "/api/instructors/applications", {
            token: teacher.token,
          })).status,
          403,
        );
        assert.equal(
          (await api(ctx, "GET", "/api/instructors/applications")).status,
          401,
        );
        const badStatus = await api(
          ctx,
          "GET",
          "/api/instructors/applications?status=maybe",
          { token: admin.token },
        );
        assert.equal(badStatus.status, 422);
        assert.equal(
          typeof badStatus.body.error.details.fields.status,
          "string",
        );

        const pending = await api(
          ctx,
          "GET",
          "/api/instructors/applications?status=pending",
          { token: admin.token },
        );
        assert.equal(pending.status, 200);
        assert.deepEqual(
          pending.body.applications.map((a: { id: string }) => a.id),
          [...applicationIds].reverse().concat(aliceApplication),
          "the pending ones, newest first",
        );
        for (const application of pending.body.applications) {
          assert.equal(application.status, "pending");
          assert.deepEqual(Object.keys(application).sort(), APPLICATION_KEYS);
        }
        assert.equal(pending.body.pagination.total, 4);
        assert.equal(
          pending.body.applications[0].user.email,
          applicants[2]!.user.email,
        );
        assert.deepEqual(pending.body.applications[0].expertise, ["Subject 2"]);

        const page1 = await api(
          ctx,
          "GET",
          "/api/instructors/applications?status=pending&limit=3&page=1",
          { token: admin.token },
        );
        const page2 = await api(
          ctx,
          "GET",
          "/api/instructors/applications?status=pending&limit=3&page=2",
          { token: admin.token },
        );
        assert.equal(page1.body.applications.length, 3);
        assert.equal(page2.body.applications.length, 1);
        assert.deepEqual(page1.body.pagination, {
          currentPage: 1,
          totalPages: 2,
          total: 4,
          limit: 3,
          hasNext: true,
          hasPrev: false,
        });
        assert.equal(page2.body.pagination.hasNext, false);
        assert.equal(page2.body.pagination.hasPrev, true);
        assert.deepEqual(
          [...page1.body.applications, ...page2.body.applications].map((
            a: { id: string },
          ) => a.id),
          pending.body.applications.map((a: { id: string }) => a.id),
        );

        const rejected = await api(
          ctx,
          "GET",
          "/api/instructors/applications?status=rejected",
          { token: admin.token },
        );
        assert.equal(rejected.body.pagination.total, 1, "the racing one");
        assert.equal(rejected.body.applications[0].status, "rejected");
        assert.equal(
          rejected.body.applications[0].rejectionReason,
          "Racing test",
        );

        const all = await api(ctx, "GET", "/api/instructors/applications", {
          token: admin.token,
        });
        assert.equal(all.body.pagination.total, 5, "no filter: every status");
      },
    );

    await t.step(
      "non-administrators cannot decide: a student 403, anonymous 401; the application stays pending",
      async () => {
        const id = applicationIds[0]!;
        assert.equal(
          (await decide(ctx, alice.token, id, "approve")).status,
          403,
        );
        assert.equal(
          (await decide(ctx, applicants[0]!.token, id, "approve")).status,
          403,
          "not even the applicant",
        );
        assert.equal(
          (await decide(ctx, alice.token, id, "reject", { reason: "No" }))
            .status,
          403,
        );
        assert.equal(
          (await api(
            ctx,
            "POST",
            `/api/instructors/applications/${id}/approve`,
          )).status,
          401,
        );
        assert.equal((await applicationRow(ctx, id)).status, "pending");
        assert.equal(await roleOf(ctx, applicants[0]!.user.id), "student");
      },
    );

    await t.step(
      "GET /api/instructors/dashboard is 403 for a student, 401 anonymous, 200 for an instructor",
      async () => {
        const res = await api(ctx, "GET", "/api/instructors/dashboard", {
          token: alice.token,
        });
        assert.equal(res.status, 403);
        assert.equal(res.body.error.code, "FORBIDDEN");
        assert.equal(
          (await api(ctx, "GET", "/api/instructors/dashboard")).status,
          401,
        );
        const teacher = await learner(ctx, "instructor");
        const ok = await api(ctx, "GET", "/api/instructors/dashboard", {
          token: teacher.token,
        });
        assert.equal(ok.status, 200);
        assert.equal(ok.body.stats.totalPrograms, 0);
        assert.equal(ok.body.stats.totalStudents, 0);
      },
    );

    await t.step(
      "approve: the role is instructor on the very next request, the profile has the application's expertise, the applicant is notified and emailed, the action is audited",
      async () => {
        const createProgram = () =>
          api(ctx, "POST", "/api/programs", {
            token: alice.token,
            body: { title: "Relational Databases", category: "Development" },
          });
        // Warm the auth cache with the student role first.
        const before = await createProgram();
        assert.equal(before.status, 403, JSON.stringify(before.body));
        assert.equal(
          (await api(ctx, "GET", `/api/instructors/${alice.user.id}`)).status,
          404,
          "no public profile yet",
        );

        const res = await decide(ctx, admin.token, aliceApplication, "approve");
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        assert.equal(res.body.application.id, aliceApplication);
        assert.equal(res.body.application.status, "approved");
        assert.equal(res.body.application.rejectionReason, null);
        assert.ok(res.body.application.reviewedAt);

        const program = await createProgram();
        assert.equal(program.status, 201, JSON.stringify(program.body));
        assert.equal(program.body.program.instructor.id, alice.user.id);
        const dashboard = await api(ctx, "GET", "/api/instructors/dashboard", {
          token: alice.token,
        });
        assert.equal(dashboard.status, 200);
        assert.equal(dashboard.body.stats.totalPrograms, 1);
        assert.equal(await roleOf(ctx, alice.user.id), "instructor");

        const row = await applicationRow(ctx, aliceApplication);
        assert.equal(row.status, "approved");
        assert.equal(row.reviewedBy, admin.user.id);
        assert.ok(row.reviewedAt);

        const profile = await api(
          ctx,
          "GET",
          `/api/instructors/${alice.user.id}`,
        );
        assert.equal(profile.status, 200, JSON.stringify(profile.body));
        assert.deepEqual(profile.body.instructor.expertise, [
          "Databases",
          "SQL",
          "Data modelling",
        ]);
        assert.equal(profile.body.instructor.bio, BIO);
        assert.equal(
          profile.body.instructor.socialLinks.github,
          "https://github.com/alice-teaches",
        );

        const notices = await api(ctx, "GET", "/api/notifications", {
          token: alice.token,
        });
        const approved = notices.body.notifications.filter((
          n: { type: string },
        ) => n.type === "application_approved");
        assert.equal(approved.length, 1, JSON.stringify(notices.body));
        assert.equal(approved[0].relatedId, aliceApplication);
        assert.equal(approved[0].link, `/api/instructors/${alice.user.id}`);
        assert.equal(approved[0].read, false);
        const email = await latestEmail(ctx, alice.user.email, "notification");
        assert.equal(email.subject, "You are now an instructor");
        assert.match(email.text, /approved/);
        // The in-app link is an API route; an email button to it would only open a 401.
        assert.doesNotMatch(email.text, /\/api\//);

        const audit = await api(
          ctx,
          "GET",
          "/api/admin/audit?action=application.approve",
          { token: admin.token },
        );
        assert.equal(audit.status, 200, JSON.stringify(audit.body));
        const entries = audit.body.entries.filter((
          e: { target: { id: string } },
        ) => e.target.id === aliceApplication);
        assert.equal(entries.length, 1, JSON.stringify(audit.body));
        const [entry] = entries;
        assert.equal(entry.action, "application.approve");
        assert.deepEqual(entry.target, {
          type: "instructor_application",
          id: aliceApplication,
        });
        assert.deepEqual(entry.actor, {
          id: admin.user.id,
          label: admin.user.email,
        });
        assert.equal(entry.via, "api");
        assert.deepEqual(entry.before, { status: "pending", role: "student" });
        assert.deepEqual(entry.after, {
          status: "approved",
          role: "instructor",
          userId: alice.user.id,
        });

        const listed = await api(
          ctx,
          "GET",
          "/api/instructors/applications?status=approved",
          { token: admin.token },
        );
        assert.deepEqual(
          listed.body.applications.map((a: { id: string }) => a.id),
          [aliceApplication],
        );
      },
    );

    await t.step(
      "a decided application is 409 APPLICATION_DECIDED, to approve or to reject, and stays as it was",
      async () => {
        const twice = await decide(
          ctx,
          admin.token,
          aliceApplication,
          "approve",
        );
        assert.equal(twice.status, 409, JSON.stringify(twice.body));
        assert.equal(twice.body.error.code, "APPLICATION_DECIDED");
        const reject = await decide(
          ctx,
          secondAdmin.token,
          aliceApplication,
          "reject",
          { reason: "Changed my mind" },
        );
        assert.equal(reject.status, 409);
        assert.equal(reject.body.error.code, "APPLICATION_DECIDED");
        const row = await applicationRow(ctx, aliceApplication);
        assert.equal(row.status, "approved");
        assert.equal(row.rejectionReason, null);
        assert.equal(
          (await notificationsOf(ctx, alice.user.id, "application_approved"))
            .length,
          1,
          "no second notification",
        );
        assert.equal(
          (await notificationsOf(ctx, alice.user.id, "application_rejected"))
            .length,
          0,
        );
        const audit = await api(
          ctx,
          "GET",
          `/api/admin/audit?targetId=${aliceApplication}`,
          { token: admin.token },
        );
        assert.equal(audit.body.pagination.total, 1, "one audit entry only");
        const reapply = await apply(ctx, alice.token, form());
        assert.equal(reapply.status, 409, "now an instructor");
        assert.equal(reapply.body.error.code, "ALREADY_INSTRUCTOR");
      },
    );

    await t.step(
      "reject: a reason is required (422); it is stored, emailed and notified; the role stays; the person may apply again",
      async () => {
        const bob = applicants[0]!;
        const id = applicationIds[0]!;
        for (
          const body of [{}, { reason: "" }, { reason: "   " }, { why: "x" }]
        ) {
          const res = await decide(ctx, admin.token, id, "reject", body);
          assert.equal(res.status, 422, JSON.stringify(res.body));
          assert.equal(res.body.error.code, "VALIDATION_FAILED");
          assert.equal(
            typeof res.body.error.details.fields.reason,
            "string",
            JSON.stringify(res.body),
          );
        }
        const noBody = await decide(ctx, admin.token, id, "reject");
        assert.ok(
          [415, 422].includes(noBody.status),
          `no body: ${noBody.status}`,
        );
        assert.equal((await applicationRow(ctx, id)).status, "pending");

        const reason = "Please add a sample lesson with exercises.";
        const res = await decide(ctx, admin.token, id, "reject", { reason });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.application.status, "rejected");
        assert.equal(res.body.application.rejectionReason, reason);
        assert.ok(res.body.application.reviewedAt);
        const row = await applicationRow(ctx, id);
        assert.equal(row.status, "rejected");
        assert.equal(row.rejectionReason, reason);
        assert.equal(row.reviewedBy, admin.user.id);
        assert.equal(await roleOf(ctx, bob.user.id), "student");
        assert.equal(
          (await api(ctx, "POST", "/api/programs", {
            token: bob.token,
            body: { title: "Not yet", category: "Development" },
          })).status,
          403,
        );

        const notices = await api(ctx, "GET", "/api/notifications", {
          token: bob.token,
        });
        const rejected = notices.body.notifications.filter((
          n: { type: string },
        ) => n.type === "application_rejected");
        assert.equal(rejected.length, 1);
        assert.equal(rejected[0].relatedId, id);
        assert.ok(rejected[0].message.includes(reason), rejected[0].message);
        const email = await latestEmail(ctx, bob.user.email, "notification");
        assert.equal(email.subject, "Your instructor application was declined");
        assert.ok(email.text.includes(reason), email.text);

        const audit = await api(
          ctx,
          "GET",
          `/api/admin/audit?action=application.reject&targetId=${id}`,
          { token: admin.token },
        );
        assert.equal(audit.body.entries.length, 1);
        assert.equal(audit.body.entries[0].after.reason, reason);
        assert.equal(audit.body.entries[0].after.status, "rejected");
        assert.equal(audit.body.entries[0].actor.id, admin.user.id);

        const again = await apply(
          ctx,
          bob.token,
          form({
            sampleWork: "https://example.com/bob/sample-lesson",
          }),
        );
        assert.equal(again.status, 201, JSON.stringify(again.body));
        assert.notEqual(again.body.applicationId, id);
        assert.equal(again.body.application.status, "pending");

        const mine = await api(
          ctx,
          "GET",
          "/api/instructors/applications/mine",
          { token: bob.token },
        );
        assert.equal(mine.status, 200);
        assert.deepEqual(
          mine.body.applications.map((a: { id: string; status: string }) => [
            a.id,
            a.status,
          ]),
          [[again.body.applicationId, "pending"], [id, "rejected"]],
        );
        assert.equal(mine.body.applications[1].rejectionReason, reason);
        assert.equal(mine.body.pagination.total, 2);
      },
    );

    await t.step(
      "GET /api/instructors/applications/mine lists only the caller's own; anonymous is 401",
      async () => {
        const mine = await api(
          ctx,
          "GET",
          "/api/instructors/applications/mine",
          { token: alice.token },
        );
        assert.equal(mine.status, 200);
        assert.deepEqual(
          mine.body.applications.map((a: { id: string }) => a.id),
          [aliceApplication],
        );
        assert.equal(mine.body.applications[0].status, "approved");
        assert.equal(mine.body.applications[0].user.id, alice.user.id);
        const none = await api(
          ctx,
          "GET",
          "/api/instructors/applications/mine",
          { token: bystander.token },
        );
        assert.deepEqual(none.body.applications, []);
        assert.equal(none.body.pagination.total, 0);
        const paged = await api(
          ctx,
          "GET",
          "/api/instructors/applications/mine?limit=1&page=2",
          { token: applicants[0]!.token },
        );
        assert.equal(paged.body.applications.length, 1);
        assert.equal(paged.body.applications[0].status, "rejected");
        assert.equal(
          (await api(ctx, "GET", "/api/instructors/applications/mine")).status,
          401,
        );
      },
    );

    await t.step(
      "unknown or malformed ids are 404 NOT_FOUND for approve and reject",
      async () => {
        for (
          const id of ["01J0000000000000000000000Z", "nope", "x".repeat(40)]
        ) {
          const approve = await decide(ctx, admin.token, id, "approve");
          assert.equal(approve.status, 404, `${id}: ${approve.status}`);
          assert.equal(approve.body.error.code, "NOT_FOUND");
          const reject = await decide(ctx, admin.token, id, "reject", {
            reason: "Unknown",
          });
          assert.equal(reject.status, 404, `${id}: ${reject.status}`);
          assert.equal(reject.body.error.code, "NOT_FOUND");
        }
      },
    );

    await t.step(
      "approve and reject racing on one application: exactly one wins, with one audit entry and one notification",
      async () => {
        const racer = applicants[2]!;
        const id = applicationIds[2]!;
        const [approve, reject, approveAgain] = await Promise.all([
          decide(ctx, admin.token, id, "approve"),
          decide(ctx, secondAdmin.token, id, "reject", { reason: "Too late" }),
          decide(ctx, secondAdmin.token, id, "approve"),
        ]);
        const statuses = [approve.status, reject.status, approveAgain.status];
        assert.equal(
          statuses.filter((s) => s === 200).length,
          1,
          JSON.stringify(statuses),
        );
        assert.equal(statuses.filter((s) => s === 409).length, 2);
        for (const res of [approve, reject, approveAgain]) {
          if (res.status === 409) {
            assert.equal(res.body.error.code, "APPLICATION_DECIDED");
          }
        }
        const row = await applicationRow(ctx, id);
        const winner = [approve, reject, approveAgain].find((r) =>
          r.status === 200
        )!;
        assert.equal(row.status, winner.body.application.status);
        assert.equal(
          await roleOf(ctx, racer.user.id),
          row.status === "approved" ? "instructor" : "student",
        );
        const audit = await api(
          ctx,
          "GET",
          `/api/admin/audit?targetId=${id}`,
          { token: admin.token },
        );
        assert.equal(audit.body.pagination.total, 1);
        const decided = [
          ...await notificationsOf(ctx, racer.user.id, "application_approved"),
          ...await notificationsOf(ctx, racer.user.id, "application_rejected"),
        ];
        assert.equal(decided.length, 1);
      },
    );

    await t.step(
      "HTML in an applicant's name or a rejection reason is escaped in the emails",
      async () => {
        const name = `<img src=x onerror=alert(1)> Mallory`;
        const user = await createUser(ctx.deps.db, {
          email: uniqueEmail("mallory"),
          name,
          password: null,
          role: "student",
          emailVerified: true,
        });
        const { token } = await startSession(ctx.deps, user, {});
        const id = await applied(ctx, { user, token });
        const toAdmin = await latestEmail(
          ctx,
          admin.user.email,
          "notification",
        );
        assert.ok(toAdmin.text.includes(name), "the text keeps the name");
        assert.ok(!toAdmin.html.includes("<img src=x"), toAdmin.html);
        assert.ok(toAdmin.html.includes("&lt;img src=x"), toAdmin.html);

        const reason = `<a href="https://evil.test">Fix</a> & <b>retry</b>`;
        const res = await decide(ctx, admin.token, id, "reject", { reason });
        assert.equal(res.status, 200);
        assert.equal(res.body.application.rejectionReason, reason);
        const toApplicant = await latestEmail(ctx, user.email, "notification");
        assert.ok(toApplicant.text.includes(reason));
        assert.ok(!toApplicant.html.includes(`<a href="https://evil.test"`));
        assert.ok(!toApplicant.html.includes("<b>retry</b>"));
        assert.ok(toApplicant.html.includes("&lt;b&gt;retry&lt;/b&gt;"));
      },
    );

    await t.step(
      "a banned applicant cannot be approved: 409 ACCOUNT_INACTIVE, the application stays pending",
      async () => {
        const banned = applicants[1]!;
        const id = applicationIds[1]!;
        await banUser(ctx.deps, ADMIN_ACTOR, banned.user.id, "spam");
        const res = await decide(ctx, admin.token, id, "approve");
        assert.equal(res.status, 409, JSON.stringify(res.body));
        assert.equal(res.body.error.code, "ACCOUNT_INACTIVE");
        assert.equal((await applicationRow(ctx, id)).status, "pending");
        assert.equal(await roleOf(ctx, banned.user.id), "student");
        assert.equal(
          (await notificationsOf(ctx, banned.user.id, "application_approved"))
            .length,
          0,
        );
      },
    );
  } finally {
    await ctx.close();
  }
});
