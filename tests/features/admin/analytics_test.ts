import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { events } from "../../../db/schema/mod.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { makeProgram, makeUserAndLogin } from "../../helpers/factories.ts";
import {
  at,
  DAY,
  expectedAnalytics,
  expectedCsv,
  expectedReport,
  expectedSeries,
  FORMULA_TITLE,
  lastDayOf,
  METRIC_NAMES,
  NOW,
  QUOTED_TITLE,
  RANGE_A,
  RANGE_B,
  records,
  seed,
  ymd,
} from "./dataset.ts";

/** Range M: the whole month before last. */
const RANGE_MONTH = {
  startDate: ymd(at(-2, 1)),
  endDate: ymd(lastDayOf(-2)),
};

/** Analytics without who came back (userRetention, retention.returned), checked in their own steps. */
// deno-lint-ignore no-explicit-any
function apartFromReturns(analytics: any) {
  const { userRetention: _, retention, ...rest } = analytics;
  const { returned: __, ...kept } = retention;
  return { ...rest, retention: kept };
}

const query = (params: Record<string, string>) =>
  new URLSearchParams(params).toString();

Deno.test("analytics and reports against the seeded dataset", async (t) => {
  const ctx = await createTestContext();
  try {
    const { ids, tokens } = await seed(ctx);
    const get = async (path: string, headers: Record<string, string> = {}) =>
      await api(ctx, "GET", path, { token: tokens.admin, headers });
    const analytics = async (params: Record<string, string>) => {
      const res = await get(`/api/admin/analytics?${query(params)}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.success, true);
      return res.body.analytics;
    };
    /** The CSV text exactly as sent (the api() helper would not touch it, but be explicit). */
    const csvOf = async (
      path: string,
      headers: Record<string, string> = {},
    ) => {
      const res = await ctx.app.request(path, {
        headers: { Authorization: `Bearer ${tokens.admin}`, ...headers },
      });
      return { res, text: await res.text() };
    };

    await t.step(
      "only admins: 401 without a token, 403 for others",
      async () => {
        for (
          const path of [
            "/api/admin/analytics",
            "/api/admin/reports/revenue",
            "/api/admin/reports/users?format=csv",
          ]
        ) {
          assert.equal((await api(ctx, "GET", path)).status, 401, path);
          for (const who of ["sam", "iris"]) {
            const res = await api(ctx, "GET", path, { token: tokens[who] });
            assert.equal(res.status, 403, `${who} ${path}`);
          }
        }
      },
    );

    await t.step(
      "a range: revenue, conversion, top programs and instructors, retention",
      async () => {
        const want = expectedAnalytics(ids, RANGE_A.startDate, RANGE_A.endDate);
        // Guards: the dataset exercises what it is meant to.
        assert.equal(want.totalEnrollments, 9);
        assert.equal(want.uniqueViewers, 11);
        assert.equal(want.programViews, 13);
        assert.equal(want.conversionRate, 45.5);
        // Learners only: the instructors and the admin active in the range are not counted.
        assert.deepEqual(want.retention, {
          activeUsers: 9,
          returned: 6,
          windowDays: 30,
        });
        assert.equal(want.userRetention, 66.7);
        assert.deepEqual(want.topPrograms.map((p) => p.title), [
          "Rust in Practice",
          FORMULA_TITLE,
          QUOTED_TITLE,
          "Algebra Basics", // ties with Biology 101 on enrollments and revenue
          "Biology 101",
        ]);
        assert.deepEqual(want.revenueByCurrency, { usd: 129.93, eur: 40 });

        const got = await analytics(RANGE_A);
        assert.equal(got.metric, undefined);
        assert.equal(got.series, undefined);
        assert.equal(got.startDate, want.startDate);
        assert.equal(got.endDate, want.endDate);
        assert.equal(got.totalRevenue, want.totalRevenue);
        assert.equal(got.currency, "usd");
        assert.deepEqual(got.revenueByCurrency, want.revenueByCurrency);
        assert.equal(got.totalEnrollments, want.totalEnrollments);
        assert.equal(got.programViews, want.programViews);
        assert.equal(got.uniqueViewers, want.uniqueViewers);
        assert.equal(got.conversionRate, want.conversionRate);
        assert.deepEqual(got.topPrograms, want.topPrograms);
        assert.deepEqual(got.topInstructors, want.topInstructors);
        assert.equal(got.retention.activeUsers, want.retention.activeUsers);
        assert.equal(got.retention.windowDays, 30);
        // Who came back is checked in the retention steps below.
        assert.deepEqual(apartFromReturns(got), apartFromReturns(want));
      },
    );

    await t.step(
      "a long range and the default range (the last 30 days)",
      async () => {
        assert.deepEqual(
          apartFromReturns(await analytics(RANGE_B)),
          apartFromReturns(
            expectedAnalytics(ids, RANGE_B.startDate, RANGE_B.endDate),
          ),
        );
        const res = await get("/api/admin/analytics");
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const want = expectedAnalytics(
          ids,
          ymd(NOW.getTime() - 29 * DAY),
          ymd(NOW),
        );
        // The days asked for, both included.
        assert.equal(
          res.body.analytics.startDate,
          ymd(NOW.getTime() - 29 * DAY),
        );
        assert.equal(res.body.analytics.endDate, ymd(NOW));
        assert.deepEqual(
          apartFromReturns(res.body.analytics),
          apartFromReturns(want),
        );
      },
    );

    await t.step(
      "retention over a month: back in time, back too late, never back",
      async () => {
        // Month -2: everyone who comes back does so a day or more later, so the answer does not
        // depend on how "a later UTC day" is computed (see the step after this one).
        const want = expectedAnalytics(
          ids,
          RANGE_MONTH.startDate,
          RANGE_MONTH.endDate,
        );
        assert.deepEqual(want.retention, {
          activeUsers: 3,
          returned: 2,
          windowDays: 30,
        });
        assert.equal(want.userRetention, 66.7);
        assert.deepEqual(await analytics(RANGE_MONTH), want);
      },
    );

    await t.step({
      name:
        "retention: a learner back on the next UTC day, less than 24 hours later, has returned",
      fn: async () => {
        const ranges = [
          RANGE_A,
          RANGE_B,
          RANGE_MONTH,
          { startDate: ymd(NOW.getTime() - 29 * DAY), endDate: ymd(NOW) },
        ];
        for (const range of ranges) {
          const want = expectedAnalytics(ids, range.startDate, range.endDate);
          const got = await analytics(range);
          assert.deepEqual(got.retention, want.retention, range.startDate);
          assert.equal(got.userRetention, want.userRetention);
        }
      },
    });

    await t.step("a single day", async () => {
      const day = RANGE_A.startDate; // views at its first instant
      const got = await analytics({ startDate: day, endDate: day });
      assert.deepEqual(
        apartFromReturns(got),
        apartFromReturns(expectedAnalytics(ids, day, day)),
      );
      assert.ok(got.programViews >= 2);
    });

    await t.step(
      "metric series: daily up to 92 days, every day present",
      async () => {
        const days =
          (Date.parse(RANGE_A.endDate) - Date.parse(RANGE_A.startDate)) /
            DAY + 1;
        for (const metric of METRIC_NAMES) {
          const got = await analytics({ ...RANGE_A, metric });
          const want = expectedSeries(
            metric,
            RANGE_A.startDate,
            RANGE_A.endDate,
          );
          assert.equal(want.length, days);
          assert.ok(want.some((p) => p.value === 0), `${metric}: zero days`);
          assert.ok(want.some((p) => p.value !== 0), `${metric}: some days`);
          assert.equal(got.metric, metric);
          assert.deepEqual(got.series, want, metric);
        }
      },
    );

    await t.step(
      "metric series: monthly past 92 days, months without anything as zero",
      async () => {
        for (const metric of METRIC_NAMES) {
          const got = await analytics({ ...RANGE_B, metric });
          const want = expectedSeries(
            metric,
            RANGE_B.startDate,
            RANGE_B.endDate,
          );
          assert.equal(want.length, 14);
          assert.equal(want[0]!.period, RANGE_B.startDate.slice(0, 7));
          assert.equal(want.at(-1)!.period, RANGE_B.endDate.slice(0, 7));
          assert.ok(want.some((p) => p.value === 0), `${metric}: zero months`);
          assert.deepEqual(got.series, want, metric);
        }
      },
    );

    await t.step("bad queries are 422", async () => {
      const bad: Record<string, string>[] = [
        { startDate: "2026-03-10", endDate: "2026-03-09" }, // end before start
        { startDate: "2026-13-01", endDate: "2026-12-31" },
        { startDate: "2026-1-5", endDate: "2026-01-31" },
        { startDate: "2010-01-01", endDate: "2026-01-01" }, // over ten years
        { metric: "bogus" },
        { metric: "Revenue" },
      ];
      for (const params of bad) {
        const res = await get(`/api/admin/analytics?${query(params)}`);
        assert.equal(res.status, 422, JSON.stringify(params));
      }
      const badReports: Record<string, string>[] = [
        { from: "2026-03-10", to: "2026-03-01" },
        { format: "xml" },
      ];
      for (const params of badReports) {
        const res = await get(`/api/admin/reports/revenue?${query(params)}`);
        assert.equal(res.status, 422, JSON.stringify(params));
      }
      const unknown = await get("/api/admin/reports/payouts");
      // The name is validated like any parameter (the route's OpenAPI also lists a 404).
      assert.equal(unknown.status, 422);
      assert.match(unknown.body.error.details.fields.name, /revenue/);
    });

    await t.step({
      name: "dates that do not exist (2026-02-30, 2026-04-31) are 422",
      fn: async () => {
        for (
          const params of [
            { startDate: "2026-02-30", endDate: "2026-03-05" },
            { startDate: "2026-04-01", endDate: "2026-04-31" },
          ]
        ) {
          const res = await get(`/api/admin/analytics?${query(params)}`);
          assert.equal(res.status, 422, JSON.stringify(params));
        }
        const report = await get(
          "/api/admin/reports/revenue?from=2026-02-30&to=2026-03-05",
        );
        assert.equal(report.status, 422);
      },
    });

    await t.step(
      "reports as JSON: revenue and enrollments per day",
      async () => {
        for (const name of ["revenue", "enrollments"] as const) {
          for (const range of [RANGE_A, RANGE_B]) {
            const res = await get(
              `/api/admin/reports/${name}?from=${range.startDate}&to=${range.endDate}`,
            );
            assert.equal(res.status, 200, JSON.stringify(res.body));
            const want = expectedReport(
              ids,
              name,
              range.startDate,
              range.endDate,
            );
            assert.ok(want.rows.length > 3, `${name}: rows`);
            assert.deepEqual(res.body, {
              success: true,
              report: name,
              from: range.startDate,
              to: range.endDate,
              columns: want.columns,
              rows: records(want),
            });
          }
        }
      },
    );

    await t.step(
      "the users report as JSON: sign-ups per day and role",
      async () => {
        const res = await get(
          `/api/admin/reports/users?from=${RANGE_B.startDate}&to=${RANGE_B.endDate}`,
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const want = expectedReport(
          ids,
          "users",
          RANGE_B.startDate,
          RANGE_B.endDate,
        );
        assert.deepEqual(res.body.columns, want.columns);
        // The days with sign-ups, without the activity column (see the step below).
        const signups = (rows: (string | number)[][]) =>
          rows.filter((r) => r.slice(1, 4).some((n) => n !== 0)).map((r) =>
            r.slice(0, 4)
          );
        const got = (res.body.rows as Record<string, string | number>[]).map((
          r,
        ) => want.columns.map((c) => r[c]!));
        assert.ok(signups(want.rows).length >= 10);
        assert.deepEqual(signups(got), signups(want.rows));
      },
    );

    await t.step({
      name:
        "the users report's active_users are the people with an activity event that day",
      fn: async () => {
        const want = expectedReport(
          ids,
          "users",
          RANGE_A.startDate,
          RANGE_A.endDate,
        );
        const res = await get(
          `/api/admin/reports/users?from=${RANGE_A.startDate}&to=${RANGE_A.endDate}`,
        );
        assert.deepEqual(res.body.rows, records(want));
        const metric = await analytics({ ...RANGE_A, metric: "activeUsers" });
        for (const row of res.body.rows) {
          const day = metric.series.find((p: { period: string }) =>
            p.period === row.date
          );
          assert.equal(row.active_users, day.value, row.date);
        }
        const { text } = await csvOf(
          `/api/admin/reports/users?from=${RANGE_A.startDate}&to=${RANGE_A.endDate}&format=csv`,
        );
        assert.equal(text, expectedCsv(want));
      },
    });

    await t.step(
      "reports as CSV: RFC 4180, CRLF, quoting, formula cells defused",
      async () => {
        const range = `from=${RANGE_A.startDate}&to=${RANGE_A.endDate}`;
        for (const name of ["revenue", "enrollments"] as const) {
          const want = expectedCsv(
            expectedReport(ids, name, RANGE_A.startDate, RANGE_A.endDate),
          );
          const byFormat = await csvOf(
            `/api/admin/reports/${name}?${range}&format=csv`,
          );
          assert.equal(byFormat.res.status, 200);
          assert.equal(
            byFormat.res.headers.get("content-type"),
            "text/csv; charset=utf-8",
          );
          assert.equal(
            byFormat.res.headers.get("content-disposition"),
            `attachment; filename="${name}-${RANGE_A.startDate}-${RANGE_A.endDate}.csv"`,
          );
          assert.equal(byFormat.text, want);
          const byAccept = await csvOf(`/api/admin/reports/${name}?${range}`, {
            Accept: "text/csv",
          });
          assert.equal(byAccept.res.status, 200);
          assert.equal(byAccept.text, want);
          // format=json wins over the Accept header
          const json = await get(
            `/api/admin/reports/${name}?${range}&format=json`,
            {
              Accept: "text/csv",
            },
          );
          assert.equal(json.body.report, name);
        }
        const { text } = await csvOf(
          `/api/admin/reports/enrollments?${range}&format=csv`,
        );
        const lines = text.split("\r\n");
        assert.equal(lines[0], "date,program_id,program,enrollments");
        assert.equal(lines.at(-1), "", "ends with CRLF");
        assert.ok(!text.replaceAll("\r\n", "").includes("\n"), "no bare LF");
        assert.ok(
          lines.some((l) => l.endsWith(`,${ids.P1},"Data, ""Clean"" Code",1`)),
          text,
        );
        assert.ok(
          lines.some((l) => l.endsWith(`,${ids.P6},'=Formula Fun,1`)),
          text,
        );
        const revenue = await csvOf(
          `/api/admin/reports/revenue?${range}&format=csv`,
        );
        assert.ok(
          revenue.text.includes(
            `${
              ymd(Date.parse(RANGE_A.startDate) + 4 * DAY)
            },usd,0,9.99,9.99\r\n`,
          ),
          `a fully refunded payment and an invoice on one day:\n${revenue.text}`,
        );
      },
    );

    await t.step("an empty range is a header alone", async () => {
      const { text } = await csvOf(
        "/api/admin/reports/revenue?from=2001-01-01&to=2001-01-31&format=csv",
      );
      assert.equal(text, "date,currency,payments,subscriptions,total\r\n");
      const json = await get(
        "/api/admin/reports/enrollments?from=2001-01-01&to=2001-01-31",
      );
      assert.deepEqual(json.body.rows, []);
    });
  } finally {
    await ctx.close();
  }
});

Deno.test("program.viewed: once per visitor, program and UTC day, through GET /api/programs/:id", async (t) => {
  // Behind a proxy, so each test visitor can come from an address of its own.
  const ctx = await createTestContext({ TRUST_PROXY: "true" });
  try {
    const teacher = await makeUserAndLogin(ctx, { role: "instructor" });
    const student = await makeUserAndLogin(ctx);
    const admin = await makeUserAndLogin(ctx, { role: "admin" });
    const program = await makeProgram(ctx, teacher.user, {
      title: "Viewed Program",
    });
    const draft = await makeProgram(ctx, teacher.user, {
      title: "Hidden Draft",
      status: "draft",
    });
    const view = async (
      idOrSlug: string,
      options: { token?: string; userAgent?: string; ip?: string } = {},
    ) => {
      const res = await api(ctx, "GET", `/api/programs/${idOrSlug}`, {
        ...(options.token ? { token: options.token } : {}),
        headers: {
          "User-Agent": options.userAgent ?? "agent-a",
          "X-Forwarded-For": options.ip ?? "203.0.113.1",
        },
      });
      await ctx.deps.background.idle();
      return res.status;
    };
    const viewsOf = async (programId: string) =>
      (await ctx.deps.db.select().from(events).where(
        eq(events.type, "program.viewed"),
      )).filter((e) => e.programId === programId);

    await t.step(
      "two GETs by the same learner: one event with their id",
      async () => {
        assert.equal(await view(program.id, { token: student.token }), 200);
        assert.equal(await view(program.id, { token: student.token }), 200);
        assert.equal(
          await view(program.slug, { token: student.token }),
          200,
          "by slug: the same program",
        );
        const rows = await viewsOf(program.id);
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.userId, student.user.id);
        assert.deepEqual(rows[0]!.payload, { visitor: student.user.id });
      },
    );

    await t.step(
      "anonymous visitors are told apart by their address, not their user agent",
      async () => {
        assert.equal(await view(program.id, { userAgent: "agent-a" }), 200);
        // A client chooses its user agent: changing it must not make a new visitor.
        assert.equal(await view(program.id, { userAgent: "agent-b" }), 200);
        assert.equal(
          await view(program.id, { userAgent: "agent-a", ip: "203.0.113.2" }),
          200,
        );
        const anonymous = (await viewsOf(program.id)).filter((e) => !e.userId);
        assert.equal(anonymous.length, 2);
        const keys = anonymous.map((e) => String(e.payload.visitor));
        assert.notEqual(keys[0], keys[1]);
        for (const key of keys) assert.match(key, /^anon:[0-9a-f]{20}$/);
        for (const key of keys) {
          assert.ok(!key.includes("203.0.113"), "no address in the key");
        }
      },
    );

    await t.step(
      "the instructor looking at their own program is no view",
      async () => {
        assert.equal(await view(program.id, { token: teacher.token }), 200);
        const rows = await viewsOf(program.id);
        assert.equal(rows.length, 3);
        assert.ok(rows.every((e) => e.userId !== teacher.user.id));
      },
    );

    await t.step("a draft is never a view", async () => {
      assert.equal(await view(draft.id, { token: teacher.token }), 200);
      assert.equal(await view(draft.id, { token: admin.token }), 200);
      assert.equal(await view(draft.id), 404);
      assert.deepEqual(await viewsOf(draft.id), []);
    });

    await t.step("analytics for today count them", async () => {
      const today = ymd(Date.now());
      const res = await api(
        ctx,
        "GET",
        `/api/admin/analytics?startDate=${today}&endDate=${today}&metric=views`,
        { token: admin.token },
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.analytics.programViews, 3);
      assert.equal(res.body.analytics.uniqueViewers, 3);
      assert.deepEqual(res.body.analytics.series, [{
        period: today,
        value: 3,
      }]);
      assert.equal(res.body.analytics.totalEnrollments, 0);
      assert.equal(res.body.analytics.conversionRate, 0);
    });
  } finally {
    await ctx.close();
  }
});
