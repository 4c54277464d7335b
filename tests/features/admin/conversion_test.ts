import assert from "node:assert/strict";
import { and, eq } from "drizzle-orm";
import { events } from "../../../db/schema/mod.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import {
  enroll,
  makeProgram,
  makeUserAndLogin,
} from "../../helpers/factories.ts";
import { ok, runCli } from "../../helpers/cli.ts";

const DAY_MS = 86_400_000;
const ALL_FREE = { chatbot: 0, documentation: 0, examSimulator: 0, bundle: 0 };
const ymd = (date: Date) => date.toISOString().slice(0, 10);
const daysFromNow = (days: number) => ymd(new Date(Date.now() + days * DAY_MS));

/** Yesterday to tomorrow: today's views and enrollments, whatever the hour. */
const AROUND_NOW = { startDate: daysFromNow(-1), endDate: daysFromNow(1) };

type Account = Awaited<ReturnType<typeof makeUserAndLogin>>;

/** One visit to a program's page, as a signed-in person or (without a token) from an address. */
async function view(
  ctx: TestContext,
  programId: string,
  who: { token?: string; ip?: string },
) {
  const res = await api(ctx, "GET", `/api/programs/${programId}`, {
    ...(who.token ? { token: who.token } : {}),
    headers: { "X-Forwarded-For": who.ip ?? "192.0.2.200" },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

/** Enrolls through the API (every access type of these programs is free). */
async function enrollOverHttp(
  ctx: TestContext,
  who: Account,
  programId: string,
) {
  const res = await api(ctx, "POST", `/api/programs/${programId}/enroll`, {
    token: who.token,
    body: { accessType: "bundle" },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

async function analytics(
  ctx: TestContext,
  token: string,
  range: { startDate: string; endDate: string } = AROUND_NOW,
) {
  const res = await api(
    ctx,
    "GET",
    `/api/admin/analytics?${new URLSearchParams(range)}`,
    { token },
  );
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const got = res.body.analytics;
  // Whatever the data: the converted pairs are some of the viewed ones, and the rate is a share.
  assert.ok(
    got.conversion.enrolledAfterViewing <= got.conversion.viewedPrograms,
    JSON.stringify(got.conversion),
  );
  assert.ok(got.conversionRate >= 0 && got.conversionRate <= 100);
  return got;
}

const viewEvents = (ctx: TestContext) =>
  ctx.deps.db.select().from(events).where(eq(events.type, "program.viewed"));

Deno.test("conversion: the share of viewed (visitor, program) pairs enrolled in the range", async (t) => {
  const ctx = await createTestContext({ TRUST_PROXY: "true" });
  const grant = async (email: string, programId: string) =>
    ok(
      await runCli(ctx.dataDir, [
        "enrollments",
        "grant",
        "--user",
        email,
        "--program",
        programId,
        "--access",
        "bundle",
      ]),
      "enrollments grant",
    );
  try {
    const admin = await makeUserAndLogin(ctx, { role: "admin" });
    const owner = await makeUserAndLogin(ctx, { role: "instructor" });
    const programA = await makeProgram(ctx, owner.user, {
      title: "Program A",
      pricing: ALL_FREE,
    });
    const programB = await makeProgram(ctx, owner.user, {
      title: "Program B",
      pricing: ALL_FREE,
    });
    const programC = await makeProgram(ctx, owner.user, {
      title: "Program C",
      pricing: ALL_FREE,
    });
    const draft = await makeProgram(ctx, owner.user, {
      title: "Draft D",
      pricing: ALL_FREE,
      status: "draft",
    });
    const alice = await makeUserAndLogin(ctx, { name: "Alice" });
    const bob = await makeUserAndLogin(ctx, { name: "Bob" });
    const carol = await makeUserAndLogin(ctx, { name: "Carol" });
    const dave = await makeUserAndLogin(ctx, { name: "Dave" });
    const eve = await makeUserAndLogin(ctx, { name: "Eve" });
    const frank = await makeUserAndLogin(ctx, { name: "Frank" });

    await t.step(
      "an enrollment nobody viewed first: conversion {0, 0} and rate 0",
      async () => {
        await grant(carol.user.email, programA.id);
        const got = await analytics(ctx, admin.token);
        assert.equal(got.totalEnrollments, 1);
        assert.deepEqual(got.conversion, {
          viewedPrograms: 0,
          enrolledAfterViewing: 0,
        });
        assert.equal(got.conversionRate, 0);
      },
    );

    await t.step(
      "the admin's and the program's instructor's views are not recorded, nor views of a draft",
      async () => {
        await view(ctx, programA.id, { token: admin.token });
        await view(ctx, programA.id, { token: owner.token });
        await view(ctx, draft.id, { token: owner.token });
        await view(ctx, draft.id, { token: admin.token });
        await ctx.deps.background.idle();
        assert.deepEqual(await viewEvents(ctx), []);
        const got = await analytics(ctx, admin.token);
        assert.equal(got.programViews, 0);
        assert.equal(got.uniqueViewers, 0);
        assert.equal(got.conversion.viewedPrograms, 0);
      },
    );

    await t.step(
      "signed-in and anonymous views: each (visitor, program) pair counts once; addresses tell anonymous visitors apart",
      async () => {
        await view(ctx, programA.id, { token: alice.token });
        await view(ctx, programB.id, { token: alice.token });
        await view(ctx, programA.id, { token: alice.token }); // again: the same pair
        await view(ctx, programA.id, { token: bob.token, ip: "198.51.100.1" });
        await view(ctx, programA.id, { ip: "198.51.100.1" });
        await view(ctx, programB.id, { ip: "198.51.100.1" });
        await view(ctx, programA.id, { ip: "198.51.100.1" }); // again
        await view(ctx, programA.id, { ip: "198.51.100.2" });
        await view(ctx, programC.id, { token: dave.token });
        await ctx.deps.background.idle();

        const rows = await viewEvents(ctx);
        assert.equal(rows.length, 7, JSON.stringify(rows));
        const anonymous = rows.filter((row) => row.userId === null);
        assert.equal(anonymous.length, 3);
        const anonymousVisitors = new Set(
          anonymous.map((row) => row.payload.visitor),
        );
        assert.equal(anonymousVisitors.size, 2, "two addresses, two visitors");
        for (const visitor of anonymousVisitors) {
          assert.match(String(visitor), /^anon:[0-9a-f]{20}$/);
        }
        // Bob was signed in: his view is his, not his address's.
        const bobs = rows.filter((row) => row.userId === bob.user.id);
        assert.deepEqual(bobs.map((row) => row.payload.visitor), [bob.user.id]);

        const got = await analytics(ctx, admin.token);
        assert.equal(got.programViews, 7);
        assert.equal(got.uniqueViewers, 5); // alice, bob, dave and two addresses
        assert.deepEqual(got.conversion, {
          viewedPrograms: 7,
          enrolledAfterViewing: 0,
        });
        assert.equal(got.conversionRate, 0);
      },
    );

    await t.step(
      "enrolling in a viewed program converts that pair, not the visitor's other viewed pair",
      async () => {
        await enrollOverHttp(ctx, alice, programA.id);
        const got = await analytics(ctx, admin.token);
        assert.equal(got.totalEnrollments, 2);
        assert.deepEqual(got.conversion, {
          viewedPrograms: 7,
          enrolledAfterViewing: 1,
        });
        assert.equal(got.conversionRate, 14.3); // 1 of 7
      },
    );

    await t.step(
      "several enrollments, and enrollments in programs never viewed, count only the viewed pairs",
      async () => {
        // Bob viewed A only, and enrolls in all three.
        for (const program of [programA, programB, programC]) {
          await enrollOverHttp(ctx, bob, program.id);
        }
        // Dave viewed C and is granted it; Eve viewed nothing and is granted A and B.
        await grant(dave.user.email, programC.id);
        await grant(eve.user.email, programA.id);
        await grant(eve.user.email, programB.id);

        const got = await analytics(ctx, admin.token);
        assert.equal(got.totalEnrollments, 8);
        assert.ok(
          got.totalEnrollments > got.conversion.viewedPrograms,
          "more enrollments than viewed pairs",
        );
        assert.deepEqual(got.conversion, {
          viewedPrograms: 7,
          enrolledAfterViewing: 3, // alice A, bob A, dave C
        });
        assert.equal(got.conversionRate, 42.9);
      },
    );

    await t.step(
      "an anonymous visitor is not followed to an enrollment made after signing in",
      async () => {
        // Someone browsed B from 198.51.100.1 without signing in (a pair above); say it was Frank,
        // who now signs in and enrolls in it.
        await enrollOverHttp(ctx, frank, programB.id);
        const got = await analytics(ctx, admin.token);
        assert.equal(got.totalEnrollments, 9);
        assert.deepEqual(got.conversion, {
          viewedPrograms: 7,
          enrolledAfterViewing: 3,
        });
      },
    );

    await t.step(
      "the enrollment must fall in the range too: moved 40 days back, alice's pair converts only in a range that holds both",
      async () => {
        const moved = await ctx.deps.db.update(events).set({
          createdAt: new Date(Date.now() - 40 * DAY_MS),
        }).where(and(
          eq(events.type, "enrollment.created"),
          eq(events.userId, alice.user.id),
          eq(events.programId, programA.id),
        )).returning();
        assert.equal(moved.length, 1);

        const today = await analytics(ctx, admin.token);
        assert.equal(today.totalEnrollments, 8);
        assert.deepEqual(today.conversion, {
          viewedPrograms: 7,
          enrolledAfterViewing: 2,
        });
        assert.equal(today.conversionRate, 28.6);

        const both = await analytics(ctx, admin.token, {
          startDate: daysFromNow(-45),
          endDate: daysFromNow(1),
        });
        assert.equal(both.totalEnrollments, 9);
        assert.deepEqual(both.conversion, {
          viewedPrograms: 7,
          enrolledAfterViewing: 3,
        });

        // Only the old day: an enrollment, and no view to convert.
        const before = await analytics(ctx, admin.token, {
          startDate: daysFromNow(-41),
          endDate: daysFromNow(-39),
        });
        assert.equal(before.totalEnrollments, 1);
        assert.equal(before.programViews, 0);
        assert.deepEqual(before.conversion, {
          viewedPrograms: 0,
          enrolledAfterViewing: 0,
        });
        assert.equal(before.conversionRate, 0);
      },
    );
  } finally {
    await ctx.close();
  }
});

Deno.test("conversion never exceeds 100, however many enrollments follow one view", async (t) => {
  const ctx = await createTestContext({ TRUST_PROXY: "true" });
  try {
    const admin = await makeUserAndLogin(ctx, { role: "admin" });
    const owner = await makeUserAndLogin(ctx, { role: "instructor" });
    const programs = [];
    for (const title of ["One", "Two", "Three"]) {
      programs.push(
        await makeProgram(ctx, owner.user, { title, pricing: ALL_FREE }),
      );
    }
    const [one, two, three] = programs as [
      (typeof programs)[number],
      (typeof programs)[number],
      (typeof programs)[number],
    ];
    const keen = await makeUserAndLogin(ctx, { name: "Keen Learner" });

    await t.step(
      "one viewer enrolls in the viewed program and two others; three more are granted: 100, not more",
      async () => {
        await view(ctx, one.id, { token: keen.token });
        await ctx.deps.background.idle();
        for (const program of [one, two, three]) {
          await enrollOverHttp(ctx, keen, program.id);
        }
        for (let i = 0; i < 3; i++) {
          const other = await makeUserAndLogin(ctx, { name: `Granted ${i}` });
          await enroll(ctx, other.user.id, two.id);
        }
        const got = await analytics(ctx, admin.token);
        assert.equal(got.totalEnrollments, 6);
        assert.equal(got.uniqueViewers, 1);
        assert.deepEqual(got.conversion, {
          viewedPrograms: 1,
          enrolledAfterViewing: 1,
        });
        assert.equal(got.conversionRate, 100);
      },
    );

    await t.step(
      "a second viewed program without an enrollment halves it",
      async () => {
        const browser = await makeUserAndLogin(ctx, { name: "Just Browsing" });
        await view(ctx, three.id, { token: browser.token });
        await ctx.deps.background.idle();
        const got = await analytics(ctx, admin.token);
        assert.deepEqual(got.conversion, {
          viewedPrograms: 2,
          enrolledAfterViewing: 1,
        });
        assert.equal(got.conversionRate, 50);
      },
    );
  } finally {
    await ctx.close();
  }
});
