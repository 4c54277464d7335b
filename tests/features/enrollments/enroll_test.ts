import assert from "node:assert/strict";
import { and, eq } from "drizzle-orm";
import {
  accessGrants,
  enrollments,
  outboxMessages,
  type Program,
  programs,
  type User,
} from "../../../db/schema/mod.ts";
import { featureAccess } from "../../../server/features/access/service.ts";
import { startSession } from "../../../server/features/auth/service.ts";
import { setSubscriptionByAdmin } from "../../../server/features/subscriptions/service.ts";
import { createUser } from "../../../server/features/users/service.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import {
  ADMIN_ACTOR,
  latestEmail,
  makeProgram,
  uniqueEmail,
} from "../../helpers/factories.ts";

type Account = { user: User; token: string };

/** An account without a password (no argon2) and a real session. */
async function account(
  ctx: TestContext,
  label: string,
  role: "student" | "instructor" | "admin" = "student",
): Promise<Account> {
  const user = await createUser(ctx.deps.db, {
    email: uniqueEmail(label.toLowerCase().replaceAll(" ", "-")),
    name: label,
    password: null,
    role,
    emailVerified: true,
  });
  const { token } = await startSession(ctx.deps, user, {});
  return { user, token };
}

const FREE_DOCS = {
  chatbot: 9.99,
  documentation: 0,
  examSimulator: 19.99,
  bundle: 34.99,
};
const ALL_FREE = { chatbot: 0, documentation: 0, examSimulator: 0, bundle: 0 };

const enrollCall = (
  ctx: TestContext,
  who: Account,
  programId: string,
  accessType: string,
) =>
  api(ctx, "POST", `/api/programs/${programId}/enroll`, {
    token: who.token,
    body: { accessType },
  });

async function enrolledCount(ctx: TestContext, programId: string) {
  const [row] = await ctx.deps.db.select({ n: programs.enrolledCount }).from(
    programs,
  ).where(eq(programs.id, programId));
  return row!.n;
}

async function enrollmentRows(
  ctx: TestContext,
  userId: string,
  programId: string,
) {
  return await ctx.deps.db.select().from(enrollments).where(and(
    eq(enrollments.userId, userId),
    eq(enrollments.programId, programId),
  ));
}

async function grantRows(ctx: TestContext, userId: string, programId: string) {
  return await ctx.deps.db.select().from(accessGrants).where(and(
    eq(accessGrants.userId, userId),
    eq(accessGrants.programId, programId),
  ));
}

async function enrollmentEmails(ctx: TestContext, to: string) {
  return await ctx.deps.db.select().from(outboxMessages).where(and(
    eq(outboxMessages.to, to),
    eq(outboxMessages.template, "enrollment_confirmed"),
  ));
}

/** A program with one module and one lesson, built by its owner through the API. */
async function withLesson(
  ctx: TestContext,
  owner: Account,
  program: Program,
): Promise<string> {
  const module = await api(ctx, "POST", `/api/programs/${program.id}/modules`, {
    token: owner.token,
    body: { title: "Only module" },
  });
  assert.equal(module.status, 201, JSON.stringify(module.body));
  const lesson = await api(
    ctx,
    "POST",
    `/api/programs/${program.id}/modules/${module.body.module.id}/lessons`,
    { token: owner.token, body: { title: "Only lesson", content: "Text" } },
  );
  assert.equal(lesson.status, 201, JSON.stringify(lesson.body));
  return lesson.body.lesson.id;
}

Deno.test("enrolling in and dropping programs", async (t) => {
  const ctx = await createTestContext();
  try {
    const owner = await account(ctx, "Owner", "instructor");
    const admin = await account(ctx, "Admin", "admin");
    const freeDocs = await makeProgram(ctx, owner.user, {
      title: "Free Lessons Program",
      pricing: FREE_DOCS,
      level: "Beginner",
    });
    const freeDocsLesson = await withLesson(ctx, owner, freeDocs);
    const paidBeginner = await makeProgram(ctx, owner.user, {
      title: "Paid Beginner Program",
      level: "Beginner",
    });
    const paidAdvanced = await makeProgram(ctx, owner.user, {
      title: "Paid Advanced Program",
      level: "Advanced",
    });
    const alice = await account(ctx, "Alice");

    await t.step(
      "a free access type enrolls at once: 201, a free grant, an email, enrolled_count 1",
      async () => {
        const res = await enrollCall(ctx, alice, freeDocs.id, "documentation");
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        assert.equal(res.body.alreadyEnrolled, false);
        const enrollment = res.body.enrollment;
        assert.equal(enrollment.programId, freeDocs.id);
        assert.equal(enrollment.status, "in_progress");
        assert.deepEqual(enrollment.accessTypes, ["documentation"]);
        assert.deepEqual(enrollment.access, {
          chatbot: false,
          documentation: true,
          examSimulator: false,
        });
        assert.equal(typeof enrollment.enrolledAt, "string");
        assert.equal(enrollment.completedAt, null);

        const grants = await grantRows(ctx, alice.user.id, freeDocs.id);
        assert.equal(grants.length, 1);
        assert.equal(grants[0]!.source, "free");
        assert.equal(grants[0]!.status, "active");
        assert.equal(grants[0]!.accessType, "documentation");
        assert.equal(grants[0]!.paymentId, null);
        assert.equal(grants[0]!.enrollmentId, enrollment.id);

        const email = await latestEmail(ctx, alice.user.email);
        assert.equal(email.template, "enrollment_confirmed");
        assert.match(email.text, /Free Lessons Program/);
        assert.equal(await enrolledCount(ctx, freeDocs.id), 1);
        const detail = await api(ctx, "GET", `/api/programs/${freeDocs.id}`);
        assert.equal(detail.body.program.enrolledCount, 1);
      },
    );

    await t.step(
      "enrolling again is 200 alreadyEnrolled and changes nothing",
      async () => {
        const res = await enrollCall(ctx, alice, freeDocs.id, "documentation");
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.alreadyEnrolled, true);
        assert.deepEqual(res.body.enrollment.accessTypes, ["documentation"]);
        assert.equal(
          (await grantRows(ctx, alice.user.id, freeDocs.id)).length,
          1,
        );
        assert.equal(
          (await enrollmentRows(ctx, alice.user.id, freeDocs.id)).length,
          1,
        );
        assert.equal((await enrollmentEmails(ctx, alice.user.email)).length, 1);
        assert.equal(await enrolledCount(ctx, freeDocs.id), 1);
      },
    );

    await t.step(
      "a paid access type without a payment or a plan is 402 PAYMENT_REQUIRED with its price",
      async () => {
        const res = await enrollCall(ctx, alice, freeDocs.id, "chatbot");
        assert.equal(res.status, 402, JSON.stringify(res.body));
        assert.equal(res.body.error.code, "PAYMENT_REQUIRED");
        const details = res.body.error.details;
        assert.equal(details.accessType, "chatbot");
        assert.equal(details.price, 9.99);
        assert.equal(details.createIntentUrl, "/api/payments/create-intent");
        assert.equal(details.upgradeUrl, "/api/subscriptions/plans");
        assert.deepEqual(details.plans, ["basic", "premium"]);
        assert.deepEqual(
          (await grantRows(ctx, alice.user.id, freeDocs.id)).map((g) =>
            g.accessType
          ),
          ["documentation"],
          "no chatbot grant appeared",
        );

        const bob = await account(ctx, "Bob");
        const bundle = await enrollCall(ctx, bob, paidAdvanced.id, "bundle");
        assert.equal(bundle.status, 402);
        assert.equal(bundle.body.error.code, "PAYMENT_REQUIRED");
        assert.equal(bundle.body.error.details.price, 34.99);
        assert.equal(
          bundle.body.error.details.createIntentUrl,
          "/api/payments/create-intent",
        );
        assert.deepEqual(bundle.body.error.details.plans, ["premium"]);
        assert.equal(
          (await enrollmentRows(ctx, bob.user.id, paidAdvanced.id)).length,
          0,
        );
        assert.equal(
          (await grantRows(ctx, bob.user.id, paidAdvanced.id)).length,
          0,
        );
        assert.equal((await enrollmentEmails(ctx, bob.user.email)).length, 0);
        assert.equal(await enrolledCount(ctx, paidAdvanced.id), 0);
      },
    );

    await t.step(
      "a paid access type the plan covers enrolls (201) without grant rows; above the plan's level it is 402",
      async () => {
        const carol = await account(ctx, "Carol");
        await setSubscriptionByAdmin(
          ctx.deps,
          ADMIN_ACTOR,
          carol.user.id,
          "basic",
          new Date(Date.now() + 7 * 86_400_000),
        );
        const res = await enrollCall(ctx, carol, paidBeginner.id, "bundle");
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.alreadyEnrolled, false);
        assert.deepEqual(res.body.enrollment.accessTypes, []);
        assert.deepEqual(res.body.enrollment.access, {
          chatbot: true,
          documentation: true,
          examSimulator: true,
        });
        assert.equal(
          (await grantRows(ctx, carol.user.id, paidBeginner.id)).length,
          0,
        );
        assert.equal(
          (await enrollmentRows(ctx, carol.user.id, paidBeginner.id)).length,
          1,
        );
        assert.equal(await enrolledCount(ctx, paidBeginner.id), 1);
        assert.equal((await enrollmentEmails(ctx, carol.user.email)).length, 1);

        const again = await enrollCall(ctx, carol, paidBeginner.id, "chatbot");
        assert.equal(again.status, 200);
        assert.equal(again.body.alreadyEnrolled, true);
        assert.equal(
          (await grantRows(ctx, carol.user.id, paidBeginner.id)).length,
          0,
        );
        assert.equal((await enrollmentEmails(ctx, carol.user.email)).length, 1);

        const advanced = await enrollCall(
          ctx,
          carol,
          paidAdvanced.id,
          "documentation",
        );
        assert.equal(
          advanced.status,
          402,
          "basic does not cover Advanced programs",
        );
        assert.equal(advanced.body.error.code, "PAYMENT_REQUIRED");
        assert.deepEqual(advanced.body.error.details.plans, ["premium"]);
        assert.equal(
          (await enrollmentRows(ctx, carol.user.id, paidAdvanced.id)).length,
          0,
        );
      },
    );

    const freePrograms: Program[] = [];
    for (let i = 1; i <= 8; i++) {
      freePrograms.push(
        await makeProgram(ctx, owner.user, {
          title: `Free Program ${i}`,
          pricing: ALL_FREE,
        }),
      );
    }

    await t.step(
      "the free tier holds 5 programs at once: the 6th is 402 PLAN_LIMIT_REACHED; dropping one frees a slot",
      async () => {
        const dave = await account(ctx, "Dave");
        for (const program of freePrograms.slice(0, 5)) {
          const res = await enrollCall(ctx, dave, program.id, "documentation");
          assert.equal(res.status, 201, JSON.stringify(res.body));
        }
        const sixth = await enrollCall(
          ctx,
          dave,
          freePrograms[5]!.id,
          "documentation",
        );
        assert.equal(sixth.status, 402, JSON.stringify(sixth.body));
        assert.equal(sixth.body.error.code, "PLAN_LIMIT_REACHED");
        assert.equal(sixth.body.error.details.limit, 5);
        assert.equal(sixth.body.error.details.tier, "free");
        assert.equal(
          sixth.body.error.details.upgradeUrl,
          "/api/subscriptions/plans",
        );
        assert.equal(
          (await enrollmentRows(ctx, dave.user.id, freePrograms[5]!.id)).length,
          0,
        );
        assert.equal(
          (await grantRows(ctx, dave.user.id, freePrograms[5]!.id)).length,
          0,
        );

        // Enrolling again in a program already held is not a new program.
        const held = await enrollCall(ctx, dave, freePrograms[0]!.id, "bundle");
        assert.equal(held.status, 201, JSON.stringify(held.body));

        const drop = await api(
          ctx,
          "POST",
          `/api/programs/${freePrograms[4]!.id}/drop`,
          {
            token: dave.token,
          },
        );
        assert.equal(drop.status, 200);
        const retry = await enrollCall(
          ctx,
          dave,
          freePrograms[5]!.id,
          "documentation",
        );
        assert.equal(retry.status, 201, JSON.stringify(retry.body));
        const seventh = await enrollCall(
          ctx,
          dave,
          freePrograms[6]!.id,
          "documentation",
        );
        assert.equal(seventh.status, 402);
        assert.equal(seventh.body.error.code, "PLAN_LIMIT_REACHED");

        // A paid plan lifts the limit.
        await setSubscriptionByAdmin(
          ctx.deps,
          ADMIN_ACTOR,
          dave.user.id,
          "basic",
          new Date(Date.now() + 86_400_000),
        );
        const upgraded = await enrollCall(
          ctx,
          dave,
          freePrograms[6]!.id,
          "documentation",
        );
        assert.equal(upgraded.status, 201, JSON.stringify(upgraded.body));
      },
    );

    await t.step(
      "re-enrolling in a dropped program while at the limit is 402 too (it would be a 6th program)",
      async () => {
        const erin = await account(ctx, "Erin");
        for (const program of freePrograms.slice(0, 5)) {
          assert.equal(
            (await enrollCall(ctx, erin, program.id, "documentation")).status,
            201,
          );
        }
        const dropped = freePrograms[0]!;
        assert.equal(
          (await api(ctx, "POST", `/api/programs/${dropped.id}/drop`, {
            token: erin.token,
          }))
            .status,
          200,
        );
        assert.equal(
          (await enrollCall(ctx, erin, freePrograms[5]!.id, "documentation"))
            .status,
          201,
        );
        const back = await enrollCall(ctx, erin, dropped.id, "documentation");
        const active = (await ctx.deps.db.select().from(enrollments).where(
          eq(enrollments.userId, erin.user.id),
        )).filter((e) => e.status !== "dropped");
        assert.equal(
          active.length,
          5,
          `a free-tier learner holds ${active.length} programs at once (response ${back.status} ${
            JSON.stringify(back.body.error ?? back.body.enrollment?.status)
          })`,
        );
        assert.equal(back.status, 402);
        assert.equal(back.body.error.code, "PLAN_LIMIT_REACHED");
      },
    );

    await t.step(
      "concurrent free enrollments in different programs cannot exceed the free tier's limit",
      async () => {
        const fay = await account(ctx, "Fay");
        for (const program of freePrograms.slice(0, 3)) {
          assert.equal(
            (await enrollCall(ctx, fay, program.id, "documentation")).status,
            201,
          );
        }
        const results = await Promise.all(
          freePrograms.slice(3, 8).map((program) =>
            enrollCall(ctx, fay, program.id, "documentation")
          ),
        );
        const statuses = results.map((r) => r.status).sort();
        const active = (await ctx.deps.db.select().from(enrollments).where(
          eq(enrollments.userId, fay.user.id),
        )).filter((e) => e.status !== "dropped");
        assert.equal(
          active.length,
          5,
          `a free-tier learner holds ${active.length} programs at once (statuses ${statuses})`,
        );
        assert.deepEqual(statuses, [201, 201, 402, 402, 402]);
      },
    );

    await t.step(
      "draft and deleted programs: 404 for learners, 409 PROGRAM_NOT_AVAILABLE for those who can see them",
      async () => {
        const gus = await account(ctx, "Gus");
        const draft = await makeProgram(ctx, owner.user, {
          title: "Draft Program",
          pricing: ALL_FREE,
          status: "draft",
        });
        const draftRes = await enrollCall(ctx, gus, draft.id, "documentation");
        assert.equal(draftRes.status, 404);
        assert.equal(draftRes.body.error.code, "NOT_FOUND");
        const ownDraft = await enrollCall(
          ctx,
          owner,
          draft.id,
          "documentation",
        );
        assert.equal(ownDraft.status, 409);
        assert.equal(ownDraft.body.error.code, "PROGRAM_NOT_AVAILABLE");
        const adminDraft = await enrollCall(
          ctx,
          admin,
          draft.id,
          "documentation",
        );
        assert.equal(adminDraft.status, 409);

        const doomed = await makeProgram(ctx, owner.user, {
          title: "Deleted Program",
          pricing: ALL_FREE,
        });
        const del = await api(ctx, "DELETE", `/api/programs/${doomed.id}`, {
          token: owner.token,
        });
        assert.equal(del.status, 200, JSON.stringify(del.body));
        const deletedRes = await enrollCall(
          ctx,
          gus,
          doomed.id,
          "documentation",
        );
        assert.equal(deletedRes.status, 404);
        const adminDeleted = await enrollCall(
          ctx,
          admin,
          doomed.id,
          "documentation",
        );
        assert.equal(adminDeleted.status, 409);
        assert.equal(adminDeleted.body.error.code, "PROGRAM_NOT_AVAILABLE");
        const missing = await enrollCall(
          ctx,
          gus,
          "01ZZZZZZZZZZZZZZZZZZZZZZZZ",
          "documentation",
        );
        assert.equal(missing.status, 404);

        for (const program of [draft, doomed]) {
          for (const who of [gus, owner, admin]) {
            assert.equal(
              (await enrollmentRows(ctx, who.user.id, program.id)).length,
              0,
            );
          }
        }
      },
    );

    await t.step(
      "an unknown access type is 422; signed out is 401",
      async () => {
        const bad = await enrollCall(ctx, alice, freeDocs.id, "everything");
        assert.equal(bad.status, 422);
        const anonymous = await api(
          ctx,
          "POST",
          `/api/programs/${freeDocs.id}/enroll`,
          {
            body: { accessType: "documentation" },
          },
        );
        assert.equal(anonymous.status, 401);
      },
    );

    await t.step(
      "10 concurrent free enroll calls: one enrollment, one grant, one email",
      async () => {
        const hal = await account(ctx, "Hal");
        const program = await makeProgram(ctx, owner.user, {
          title: "Race Program",
          pricing: ALL_FREE,
        });
        const results = await Promise.all(
          Array.from(
            { length: 10 },
            () => enrollCall(ctx, hal, program.id, "bundle"),
          ),
        );
        const statuses = results.map((r) => r.status).sort();
        assert.deepEqual(statuses, [
          200,
          200,
          200,
          200,
          200,
          200,
          200,
          200,
          200,
          201,
        ]);
        const ids = new Set(results.map((r) => r.body.enrollment.id));
        assert.equal(ids.size, 1, "every response names the same enrollment");
        assert.equal(
          (await enrollmentRows(ctx, hal.user.id, program.id)).length,
          1,
        );
        assert.equal((await grantRows(ctx, hal.user.id, program.id)).length, 1);
        assert.equal((await enrollmentEmails(ctx, hal.user.email)).length, 1);
        assert.equal(await enrolledCount(ctx, program.id), 1);
      },
    );

    await t.step(
      "drop: status dropped, enrolled_count decreases, bought access stays",
      async () => {
        const ivy = await account(ctx, "Ivy");
        assert.equal(
          (await enrollCall(ctx, ivy, freeDocs.id, "documentation")).status,
          201,
        );
        assert.equal(await enrolledCount(ctx, freeDocs.id), 2);
        const res = await api(
          ctx,
          "POST",
          `/api/programs/${freeDocs.id}/drop`,
          {
            token: ivy.token,
          },
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(res.body, { success: true, status: "dropped" });
        const [row] = await enrollmentRows(ctx, ivy.user.id, freeDocs.id);
        assert.equal(row!.status, "dropped");
        assert.ok(row!.droppedAt instanceof Date);
        assert.equal(await enrolledCount(ctx, freeDocs.id), 1);
        const detail = await api(ctx, "GET", `/api/programs/${freeDocs.id}`, {
          token: ivy.token,
        });
        assert.equal(detail.body.program.enrolledCount, 1);
        assert.equal(detail.body.isEnrolled, false);

        const grants = await grantRows(ctx, ivy.user.id, freeDocs.id);
        assert.deepEqual(grants.map((g) => g.status), ["active"]);
        assert.equal(
          (await featureAccess(ctx.deps, ivy.user, freeDocs)).documentation,
          true,
        );
        const lesson = await api(
          ctx,
          "GET",
          `/api/programs/${freeDocs.id}/lessons/${freeDocsLesson}`,
          { token: ivy.token },
        );
        assert.equal(lesson.status, 200, "the lesson is still readable");

        const twice = await api(
          ctx,
          "POST",
          `/api/programs/${freeDocs.id}/drop`,
          {
            token: ivy.token,
          },
        );
        assert.equal(twice.status, 200);
        assert.equal(await enrolledCount(ctx, freeDocs.id), 1);

        const stranger = await account(ctx, "Stranger");
        const notEnrolled = await api(
          ctx,
          "POST",
          `/api/programs/${freeDocs.id}/drop`,
          {
            token: stranger.token,
          },
        );
        assert.equal(notEnrolled.status, 404);
      },
    );

    await t.step(
      "a progress update resumes a dropped enrollment (and it counts again)",
      async () => {
        const jo = await account(ctx, "Jo");
        assert.equal(
          (await enrollCall(ctx, jo, freeDocs.id, "documentation")).status,
          201,
        );
        const before = await enrolledCount(ctx, freeDocs.id);
        await api(ctx, "POST", `/api/programs/${freeDocs.id}/drop`, {
          token: jo.token,
        });
        assert.equal(await enrolledCount(ctx, freeDocs.id), before - 1);
        const res = await api(ctx, "POST", "/api/progress/update", {
          token: jo.token,
          body: {
            programId: freeDocs.id,
            lessonId: freeDocsLesson,
            timeSpentSeconds: 30,
          },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.progress.status, "in_progress");
        const [row] = await enrollmentRows(ctx, jo.user.id, freeDocs.id);
        assert.equal(row!.status, "in_progress");
        assert.equal(row!.droppedAt, null);
        assert.equal(await enrolledCount(ctx, freeDocs.id), before);
        const detail = await api(ctx, "GET", `/api/programs/${freeDocs.id}`, {
          token: jo.token,
        });
        assert.equal(detail.body.isEnrolled, true);
      },
    );

    await t.step(
      "enrolling again after dropping resumes the enrollment (no new grant, no new email)",
      async () => {
        const kim = await account(ctx, "Kim");
        assert.equal(
          (await enrollCall(ctx, kim, freeDocs.id, "documentation")).status,
          201,
        );
        const before = await enrolledCount(ctx, freeDocs.id);
        await api(ctx, "POST", `/api/programs/${freeDocs.id}/drop`, {
          token: kim.token,
        });
        assert.equal(await enrolledCount(ctx, freeDocs.id), before - 1);
        const res = await enrollCall(ctx, kim, freeDocs.id, "documentation");
        assert.ok(
          res.status === 200 || res.status === 201,
          JSON.stringify(res.body),
        );
        assert.equal(res.body.enrollment.status, "in_progress");
        const [row] = await enrollmentRows(ctx, kim.user.id, freeDocs.id);
        assert.equal(row!.status, "in_progress");
        assert.equal(row!.droppedAt, null);
        assert.equal(
          await enrolledCount(ctx, freeDocs.id),
          before,
          "the resumed learner counts again in enrolled_count",
        );
        assert.equal(
          (await grantRows(ctx, kim.user.id, freeDocs.id)).length,
          1,
        );
        assert.equal((await enrollmentEmails(ctx, kim.user.email)).length, 1);
      },
    );
  } finally {
    await ctx.close();
  }
});
