import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { Deps } from "../../deps.ts";
import { bearerAuth, responses } from "../../lib/openapi.ts";
import { offsetOf, pageQuery, paginate } from "../../lib/pagination.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import { requireRole } from "../../middleware/require_role.ts";
import type { AppEnv } from "../../types.ts";
import { requestActor } from "../audit/service.ts";
import {
  applyToTeach,
  approveApplication,
  listApplications,
  rejectApplication,
  toApplicationResponse,
} from "./applications.ts";
import {
  ApplicationBody,
  ApplicationResponse,
  ApplicationsQuery,
  ApplicationsResponse,
  DashboardResponse,
  RejectBody,
} from "./application_schemas.ts";
import { instructorDashboard } from "./dashboard.ts";

const tags = ["Instructors"];
const Id = v.object({ id: v.pipe(v.string(), v.maxLength(40)) });

/** Applications to teach and the instructor's dashboard; mounted before `/:id` profiles. */
export function instructorApplicationRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const admin = [requireAuth(deps), requireRole("admin")] as const;

  app.post(
    "/apply",
    describeRoute({
      tags,
      summary:
        "Apply to teach: one pending application per person; administrators are notified",
      security: bearerAuth,
      responses: responses({
        status: 201,
        description: "The application, pending review",
        schema: v.object({
          ...ApplicationResponse.entries,
          applicationId: v.string(),
        }),
      }, [400, 401, 403, 409, 415, 422]),
    }),
    requireAuth(deps),
    validate("json", ApplicationBody),
    async (c) => {
      const user = c.get("auth").user;
      const application = await applyToTeach(deps, user, c.req.valid("json"));
      return c.json({
        success: true,
        applicationId: application.id,
        application: toApplicationResponse({ application, user }),
      }, 201);
    },
  );

  app.get(
    "/applications/mine",
    describeRoute({
      tags,
      summary: "Your own applications to teach, newest first",
      security: bearerAuth,
      responses: responses({
        description: "Applications",
        schema: ApplicationsResponse,
      }, [401, 422]),
    }),
    requireAuth(deps),
    validate("query", v.object(pageQuery(10))),
    async (c) => {
      const page = c.req.valid("query");
      const { rows, total } = await listApplications(deps, {
        userId: c.get("auth").user.id,
        limit: page.limit,
        offset: offsetOf(page),
      });
      return c.json({
        success: true,
        applications: rows.map(toApplicationResponse),
        pagination: paginate(c, page, total),
      });
    },
  );

  app.get(
    "/applications",
    describeRoute({
      tags,
      summary: "Applications to teach (admin), newest first, by status",
      security: bearerAuth,
      responses: responses({
        description: "Applications",
        schema: ApplicationsResponse,
      }, [401, 403, 422]),
    }),
    ...admin,
    validate("query", ApplicationsQuery),
    async (c) => {
      const query = c.req.valid("query");
      const { rows, total } = await listApplications(deps, {
        status: query.status,
        limit: query.limit,
        offset: offsetOf(query),
      });
      return c.json({
        success: true,
        applications: rows.map(toApplicationResponse),
        pagination: paginate(c, query, total),
      });
    },
  );

  app.post(
    "/applications/:id/approve",
    describeRoute({
      tags,
      summary:
        "Approve (admin): the role, the profile, the notification and the audit entry in one transaction",
      security: bearerAuth,
      responses: responses({
        description: "The approved application",
        schema: ApplicationResponse,
      }, [401, 403, 404, 409]),
    }),
    ...admin,
    validate("param", Id),
    async (c) => {
      const view = await approveApplication(
        deps,
        requestActor(c, deps),
        c.req.valid("param").id,
      );
      return c.json({
        success: true,
        application: toApplicationResponse(view),
      });
    },
  );

  app.post(
    "/applications/:id/reject",
    describeRoute({
      tags,
      summary: "Reject (admin) with a reason the applicant receives",
      security: bearerAuth,
      responses: responses({
        description: "The rejected application",
        schema: ApplicationResponse,
      }, [400, 401, 403, 404, 409, 415, 422]),
    }),
    ...admin,
    validate("param", Id),
    validate("json", RejectBody),
    async (c) => {
      const view = await rejectApplication(
        deps,
        requestActor(c, deps),
        c.req.valid("param").id,
        c.req.valid("json").reason,
      );
      return c.json({
        success: true,
        application: toApplicationResponse(view),
      });
    },
  );

  app.get(
    "/dashboard",
    describeRoute({
      tags,
      summary:
        "Your teaching in numbers: learners, revenue, programs, rating, this month, top programs",
      security: bearerAuth,
      responses: responses({
        description: "Statistics",
        schema: DashboardResponse,
      }, [401, 403]),
    }),
    requireAuth(deps),
    requireRole("instructor", "admin"),
    async (c) =>
      c.json({
        success: true,
        stats: await instructorDashboard(deps, c.get("auth").user.id),
      }),
  );

  return app;
}
