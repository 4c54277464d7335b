import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { User } from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { bearerAuth, responses } from "../../lib/openapi.ts";
import { offsetOf, paginate } from "../../lib/pagination.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import { requireRole } from "../../middleware/require_role.ts";
import type { AppEnv } from "../../types.ts";
import { analytics, dayRange } from "../analytics/service.ts";
import {
  buildReport,
  reportRecords,
  REPORTS,
  toCsv,
} from "../analytics/reports.ts";
import { listAudit, requestActor, toAuditResponse } from "../audit/service.ts";
import { programDetail } from "../programs/detail.ts";
import { ProgramResponse } from "../programs/schemas.ts";
import { setProgramFlags } from "../programs/service.ts";
import {
  banUser,
  getUser,
  listUsers,
  setRole,
  unbanUser,
} from "../users/service.ts";
import { adminDashboard } from "./dashboard.ts";
import {
  AdminUserResponse,
  AdminUsersResponse,
  AnalyticsQuery,
  AnalyticsResponse,
  AuditQuery,
  AuditResponse,
  BanBody,
  DashboardResponse,
  ReportQuery,
  RoleBody,
  UsersQuery,
} from "./schemas.ts";

const tags = ["Admin"];
const Id = v.object({ id: v.pipe(v.string(), v.maxLength(40)) });

/** 002's admin user row, with the ban reason and verification state administrators need. */
export function toAdminUser(user: User) {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    role: user.role,
    subscriptionTier: user.subscriptionTier,
    status: user.status,
    banReason: user.banReason,
    emailVerified: user.emailVerifiedAt !== null,
    requestedRole: user.requestedRole,
    createdAt: user.createdAt.toISOString(),
    lastLogin: user.lastLoginAt?.toISOString() ?? null,
  };
}

/** /api/admin: the dashboard, people, featuring, analytics, reports and the audit log. */
export function adminRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.use("*", requireAuth(deps), requireRole("admin"));
  const doc = (
    summary: string,
    schema: v.GenericSchema,
    errors: number[],
  ) =>
    describeRoute({
      tags,
      summary,
      security: bearerAuth,
      responses: responses({ description: summary, schema }, [
        401,
        403,
        ...errors,
      ]),
    });

  app.get(
    "/dashboard",
    doc(
      "Totals, this month, 12 months of user and revenue growth, recent activity",
      DashboardResponse,
      [],
    ),
    async (c) => c.json({ success: true, stats: await adminDashboard(deps) }),
  );

  app.get(
    "/users",
    doc(
      "Accounts by role, status and name or email, newest first",
      AdminUsersResponse,
      [422],
    ),
    validate("query", UsersQuery),
    async (c) => {
      const query = c.req.valid("query");
      const result = await listUsers(deps, {
        role: query.role,
        status: query.status,
        search: query.search || undefined,
        newestFirst: true,
        limit: query.limit,
        offset: offsetOf(query),
      });
      return c.json({
        success: true,
        users: result.users.map(toAdminUser),
        pagination: paginate(c, query, result.total),
      });
    },
  );

  app.get(
    "/users/:id",
    doc("One account", AdminUserResponse, [404]),
    validate("param", Id),
    async (c) =>
      c.json({
        success: true,
        user: toAdminUser(await getUser(deps, c.req.valid("param").id)),
      }),
  );

  app.post(
    "/users/:id/ban",
    doc(
      "Ban: every session ends at once, the person is emailed, the action is audited",
      AdminUserResponse,
      [400, 404, 409, 415, 422],
    ),
    validate("param", Id),
    validate("json", BanBody),
    async (c) => {
      const user = await banUser(
        deps,
        requestActor(c, deps),
        c.req.valid("param").id,
        c.req.valid("json").reason,
      );
      return c.json({ success: true, user: toAdminUser(user) });
    },
  );

  app.post(
    "/users/:id/unban",
    doc("Lift a ban", AdminUserResponse, [404, 409]),
    validate("param", Id),
    async (c) => {
      const user = await unbanUser(
        deps,
        requestActor(c, deps),
        c.req.valid("param").id,
      );
      return c.json({ success: true, user: toAdminUser(user) });
    },
  );

  app.put(
    "/users/:id/role",
    doc(
      "Change a role (never leaves the school without an active admin)",
      AdminUserResponse,
      [400, 404, 409, 415, 422],
    ),
    validate("param", Id),
    validate("json", RoleBody),
    async (c) => {
      const user = await setRole(
        deps,
        requestActor(c, deps),
        c.req.valid("param").id,
        c.req.valid("json").role,
      );
      return c.json({ success: true, user: toAdminUser(user) });
    },
  );

  for (
    const [path, featured] of [["feature", true], ["unfeature", false]] as const
  ) {
    app.post(
      `/programs/:id/${path}`,
      doc(
        featured
          ? "Feature a program on the home page"
          : "Stop featuring a program",
        ProgramResponse,
        [404],
      ),
      validate("param", Id),
      async (c) => {
        const program = await setProgramFlags(
          deps,
          requestActor(c, deps),
          c.req.valid("param").id,
          { featured },
        );
        return c.json({
          success: true,
          program: await programDetail(deps, program),
        });
      },
    );
  }

  app.get(
    "/analytics",
    doc(
      "Revenue, enrollments, conversion, top programs and instructors, retention, and one metric over time",
      AnalyticsResponse,
      [422],
    ),
    validate("query", AnalyticsQuery),
    async (c) => {
      const query = c.req.valid("query");
      return c.json({
        success: true,
        analytics: await analytics(
          deps,
          dayRange(query.startDate, query.endDate),
          query.metric,
        ),
      });
    },
  );

  app.get(
    "/reports/:name",
    describeRoute({
      tags,
      summary:
        "Daily revenue, enrollments or users for scripts: JSON, or CSV with format=csv or Accept: text/csv",
      security: bearerAuth,
      responses: responses({
        description: "The report",
        schema: v.object({
          success: v.literal(true),
          report: v.string(),
          rows: v.array(v.record(v.string(), v.unknown())),
        }),
      }, [401, 403, 422]),
    }),
    validate(
      "param",
      v.object({
        name: v.picklist(REPORTS, `Must be one of ${REPORTS.join(", ")}`),
      }),
    ),
    validate("query", ReportQuery),
    async (c) => {
      const { name } = c.req.valid("param");
      const query = c.req.valid("query");
      const report = await buildReport(
        deps,
        name,
        dayRange(query.from, query.to),
      );
      const csv = query.format === "csv" ||
        (query.format === undefined &&
          /\btext\/csv\b/.test(c.req.header("accept") ?? ""));
      if (csv) {
        c.header("Content-Type", "text/csv; charset=utf-8");
        c.header(
          "Content-Disposition",
          `attachment; filename="${name}-${query.from}-${query.to}.csv"`,
        );
        return c.body(toCsv(report));
      }
      return c.json({
        success: true,
        report: name,
        from: query.from,
        to: query.to,
        columns: report.columns,
        rows: reportRecords(report),
      });
    },
  );

  app.get(
    "/audit",
    doc(
      "The audit log, newest first: who did what to which record, before and after, from where; `from`/`to` are days, both included",
      AuditResponse,
      [422],
    ),
    validate("query", AuditQuery),
    async (c) => {
      const query = c.req.valid("query");
      const { entries, total } = await listAudit(deps, {
        ...query,
        from: query.from ? dayRange(query.from, query.from).from : undefined,
        to: query.to ? dayRange(query.to, query.to).to : undefined,
        offset: offsetOf(query),
      });
      return c.json({
        success: true,
        entries: entries.map(toAuditResponse),
        pagination: paginate(c, query, total),
      });
    },
  );

  return app;
}
