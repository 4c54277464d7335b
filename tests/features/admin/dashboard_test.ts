import assert from "node:assert/strict";
import { api, createTestContext } from "../../helpers/context.ts";
import {
  expectedDashboard,
  expectedInstructorDashboard,
  NOW,
  seed,
  ym,
} from "./dataset.ts";

Deno.test("the admin and instructor dashboards against the seeded dataset", async (t) => {
  const ctx = await createTestContext();
  try {
    const { ids, tokens } = await seed(ctx);
    const expected = expectedDashboard(ids);
    const dashboard = async () => {
      const res = await api(ctx, "GET", "/api/admin/dashboard", {
        token: tokens.admin,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.success, true);
      return res.body.stats;
    };

    await t.step(
      "only admins: 401 without a token, 403 for others",
      async () => {
        assert.equal(
          (await api(ctx, "GET", "/api/admin/dashboard")).status,
          401,
        );
        for (const who of ["sam", "iris"]) {
          const res = await api(ctx, "GET", "/api/admin/dashboard", {
            token: tokens[who],
          });
          assert.equal(res.status, 403, who);
          assert.equal(res.body.error.code, "FORBIDDEN");
        }
      },
    );

    await t.step("the dataset is what the expectations say", () => {
      // Guards against a description that would make the checks below vacuous.
      assert.equal(expected.totalUsers, 18);
      assert.equal(expected.totalInstructors, 2);
      assert.equal(expected.activeSubscriptions, 3);
      assert.equal(expected.newUsersThisMonth, 2);
      assert.deepEqual(Object.keys(expected.revenueByCurrency).sort(), [
        "eur",
        "usd",
      ]);
      const zeroMonths = expected.chartData.revenueGrowth.filter((m) =>
        m.revenue === 0
      );
      assert.ok(zeroMonths.length >= 4, "months without revenue");
      assert.ok(
        expected.chartData.userGrowth.some((m) => m.newUsers === 0),
        "months without sign-ups",
      );
      assert.equal(expected.recentActivity.length, 10);
    });

    await t.step(
      "totals: people, programs, revenue by currency, live plans",
      async () => {
        const stats = await dashboard();
        assert.equal(stats.totalUsers, expected.totalUsers);
        assert.equal(stats.totalInstructors, expected.totalInstructors);
        assert.equal(stats.totalPrograms, expected.totalPrograms);
        assert.equal(stats.publishedPrograms, expected.publishedPrograms);
        assert.equal(stats.currency, "usd");
        assert.equal(stats.totalRevenue, expected.totalRevenue);
        assert.deepEqual(stats.revenueByCurrency, expected.revenueByCurrency);
        assert.equal(stats.activeSubscriptions, expected.activeSubscriptions);
      },
    );

    await t.step("this UTC month: new users and revenue", async () => {
      const stats = await dashboard();
      assert.equal(stats.newUsersThisMonth, expected.newUsersThisMonth);
      assert.equal(stats.revenueThisMonth, expected.revenueThisMonth);
    });

    await t.step(
      "twelve chart months, oldest first, zeros where nothing happened",
      async () => {
        const stats = await dashboard();
        const { userGrowth, revenueGrowth } = stats.chartData;
        assert.equal(userGrowth.length, 12);
        assert.equal(revenueGrowth.length, 12);
        assert.equal(userGrowth.at(-1).month, ym(NOW));
        for (let i = 0; i < 12; i++) {
          assert.deepEqual(
            userGrowth[i],
            expected.chartData.userGrowth[i],
            `userGrowth[${i}]`,
          );
          assert.deepEqual(
            revenueGrowth[i],
            expected.chartData.revenueGrowth[i],
            `revenueGrowth[${i}]`,
          );
        }
        // The running total ends at today's count.
        assert.equal(userGrowth.at(-1).totalUsers, stats.totalUsers);
      },
    );

    await t.step(
      "recent activity: the ten newest enrollments, certificates and passes",
      async () => {
        const stats = await dashboard();
        assert.deepEqual(stats.recentActivity, expected.recentActivity);
      },
    );

    await t.step(
      "GET /api/instructors/dashboard for an instructor",
      async () => {
        const res = await api(ctx, "GET", "/api/instructors/dashboard", {
          token: tokens.iris,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const want = expectedInstructorDashboard(ids, "iris");
        // Guards: learners with refunded, revoked or no grants, a dropped one, a deleted program.
        assert.equal(want.totalStudents, 4);
        assert.equal(want.newEnrollmentsThisMonth, 2);
        assert.equal(want.topPrograms.length, 3);
        const stats = res.body.stats;
        assert.equal(stats.totalStudents, want.totalStudents);
        assert.equal(stats.totalRevenue, want.totalRevenue);
        assert.equal(stats.currency, "usd");
        assert.deepEqual(stats.revenueByCurrency, want.revenueByCurrency);
        assert.equal(stats.revenueThisMonth, want.revenueThisMonth);
        assert.equal(
          stats.newEnrollmentsThisMonth,
          want.newEnrollmentsThisMonth,
        );
        assert.equal(stats.totalPrograms, want.totalPrograms);
        assert.equal(stats.publishedPrograms, want.publishedPrograms);
        assert.equal(stats.averageRating, want.averageRating);
        assert.equal(stats.totalReviews, want.totalReviews);
        assert.deepEqual(stats.topPrograms, want.topPrograms);
      },
    );

    await t.step(
      "the other instructor sees only their own programs",
      async () => {
        const res = await api(ctx, "GET", "/api/instructors/dashboard", {
          token: tokens.omar,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const want = expectedInstructorDashboard(ids, "omar");
        const stats = res.body.stats;
        for (
          const field of [
            "totalStudents",
            "totalRevenue",
            "revenueThisMonth",
            "newEnrollmentsThisMonth",
            "totalPrograms",
          ] as const
        ) {
          assert.equal(stats[field], want[field], field);
        }
        assert.deepEqual(stats.revenueByCurrency, want.revenueByCurrency);
        assert.deepEqual(stats.topPrograms, want.topPrograms);
      },
    );

    await t.step(
      "the instructor dashboard: 401 anonymous, 403 students",
      async () => {
        assert.equal(
          (await api(ctx, "GET", "/api/instructors/dashboard")).status,
          401,
        );
        const res = await api(ctx, "GET", "/api/instructors/dashboard", {
          token: tokens.sam,
        });
        assert.equal(res.status, 403);
        const admin = await api(ctx, "GET", "/api/instructors/dashboard", {
          token: tokens.admin,
        });
        assert.equal(admin.status, 200, "admins may look at their own");
        assert.equal(admin.body.stats.totalPrograms, 0);
      },
    );
  } finally {
    await ctx.close();
  }
});
