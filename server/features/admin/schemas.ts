import * as v from "valibot";
import { ROLES, USER_STATUSES } from "../../../db/schema/mod.ts";
import { pageQuery, PaginationSchema } from "../../lib/pagination.ts";
import { METRICS } from "../analytics/service.ts";

const IsoDate = (field: string) =>
  v.pipe(
    v.string(),
    v.regex(/^\d{4}-\d{2}-\d{2}$/, `${field} must be a date like 2026-01-31`),
    // Date.parse reads 2026-02-30 as 2 March: a real date survives the round trip.
    v.check(
      (text) => {
        const date = new Date(`${text}T00:00:00Z`);
        return !Number.isNaN(date.getTime()) &&
          date.toISOString().slice(0, 10) === text;
      },
      `${field} is not a real date`,
    ),
  );

const MAX_RANGE_DAYS = 3660;
/** Two dates, both included; the end not before the start; at most ten years apart. */
const dateRange = <T extends Record<string, unknown>>(
  start: keyof T & string,
  end: keyof T & string,
) =>
  v.check<T, string>(
    (input) => {
      const from = Date.parse(`${input[start]}T00:00:00Z`);
      const to = Date.parse(`${input[end]}T00:00:00Z`);
      return to >= from && (to - from) / 86_400_000 <= MAX_RANGE_DAYS;
    },
    `${end} must be on or after ${start}, at most ten years later`,
  );

export const UsersQuery = v.object({
  ...pageQuery(20),
  role: v.optional(
    v.picklist(ROLES, `role must be one of ${ROLES.join(", ")}`),
  ),
  status: v.optional(
    v.picklist(
      USER_STATUSES,
      `status must be one of ${USER_STATUSES.join(", ")}`,
    ),
  ),
  search: v.optional(v.pipe(v.string(), v.trim(), v.maxLength(100))),
});

export const BanBody = v.object({
  reason: v.pipe(
    v.string("Is required"),
    v.trim(),
    v.nonEmpty("Give a reason"),
    v.maxLength(1000),
  ),
});
export const RoleBody = v.object({
  role: v.picklist(ROLES, `Must be one of ${ROLES.join(", ")}`),
});

const today = () => new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) =>
  new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

export const AnalyticsQuery = v.pipe(
  v.object({
    startDate: v.optional(IsoDate("startDate"), () => daysAgo(29)),
    endDate: v.optional(IsoDate("endDate"), today),
    metric: v.optional(
      v.picklist(METRICS, `metric must be one of ${METRICS.join(", ")}`),
    ),
  }),
  v.forward(dateRange("startDate", "endDate"), ["endDate"]),
);

export const ReportQuery = v.pipe(
  v.object({
    from: v.optional(IsoDate("from"), () => daysAgo(29)),
    to: v.optional(IsoDate("to"), today),
    format: v.optional(
      v.picklist(["json", "csv"], "format must be json or csv"),
    ),
  }),
  v.forward(dateRange("from", "to"), ["to"]),
);

export const AuditQuery = v.object({
  ...pageQuery(),
  action: v.optional(v.pipe(v.string(), v.maxLength(60))),
  actorId: v.optional(v.pipe(v.string(), v.maxLength(40))),
  targetType: v.optional(v.pipe(v.string(), v.maxLength(40))),
  targetId: v.optional(v.pipe(v.string(), v.maxLength(40))),
  via: v.optional(v.picklist(["api", "cli"], "via must be api or cli")),
  from: v.optional(IsoDate("from")),
  to: v.optional(IsoDate("to")),
});

export const AdminUserSchema = v.object({
  id: v.string(),
  name: v.string(),
  email: v.string(),
  role: v.string(),
  subscriptionTier: v.string(),
  status: v.string(),
  banReason: v.nullable(v.string()),
  emailVerified: v.boolean(),
  requestedRole: v.nullable(v.string()),
  createdAt: v.string(),
  lastLogin: v.nullable(v.string()),
});
export const AdminUserResponse = v.object({
  success: v.literal(true),
  user: AdminUserSchema,
});
export const AdminUsersResponse = v.object({
  success: v.literal(true),
  users: v.array(AdminUserSchema),
  pagination: PaginationSchema,
});

export const AuditResponse = v.object({
  success: v.literal(true),
  entries: v.array(v.object({
    id: v.string(),
    action: v.string(),
    actor: v.object({ id: v.nullable(v.string()), label: v.string() }),
    target: v.object({ type: v.string(), id: v.string() }),
    before: v.nullable(v.record(v.string(), v.unknown())),
    after: v.nullable(v.record(v.string(), v.unknown())),
    via: v.string(),
    ip: v.nullable(v.string()),
    requestId: v.nullable(v.string()),
    createdAt: v.string(),
  })),
  pagination: PaginationSchema,
});

const Money = {
  totalRevenue: v.number(),
  currency: v.string(),
  revenueByCurrency: v.record(v.string(), v.number()),
};

export const DashboardResponse = v.object({
  success: v.literal(true),
  stats: v.object({
    totalUsers: v.number(),
    totalInstructors: v.number(),
    totalPrograms: v.number(),
    publishedPrograms: v.number(),
    ...Money,
    activeSubscriptions: v.number(),
    newUsersThisMonth: v.number(),
    revenueThisMonth: v.number(),
    chartData: v.object({
      userGrowth: v.array(v.object({
        month: v.string(),
        newUsers: v.number(),
        totalUsers: v.number(),
      })),
      revenueGrowth: v.array(v.object({
        month: v.string(),
        revenue: v.number(),
      })),
    }),
    recentActivity: v.array(v.object({
      type: v.string(),
      at: v.string(),
      user: v.nullable(
        v.object({ id: v.string(), name: v.nullable(v.string()) }),
      ),
      program: v.nullable(
        v.object({ id: v.string(), title: v.nullable(v.string()) }),
      ),
    })),
  }),
});

export const AnalyticsResponse = v.object({
  success: v.literal(true),
  analytics: v.object({
    startDate: v.string(),
    endDate: v.string(),
    ...Money,
    totalEnrollments: v.number(),
    programViews: v.number(),
    uniqueViewers: v.number(),
    conversionRate: v.number(),
    conversion: v.object({
      viewedPrograms: v.number(),
      enrolledAfterViewing: v.number(),
    }),
    topPrograms: v.array(v.object({
      id: v.string(),
      title: v.string(),
      instructorId: v.string(),
      enrollments: v.number(),
      views: v.number(),
      revenue: v.number(),
    })),
    topInstructors: v.array(v.object({
      id: v.string(),
      name: v.string(),
      enrollments: v.number(),
      revenue: v.number(),
    })),
    userRetention: v.number(),
    retention: v.object({
      activeUsers: v.number(),
      returned: v.number(),
      windowDays: v.number(),
    }),
    metric: v.optional(v.string()),
    series: v.optional(
      v.array(v.object({ period: v.string(), value: v.number() })),
    ),
  }),
});
