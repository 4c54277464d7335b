import * as v from "valibot";
import { HttpUrl, SocialLinksBody } from "../users/schemas.ts";
import { APPLICATION_STATUSES } from "../../../db/schema/mod.ts";
import { pageQuery, PaginationSchema } from "../../lib/pagination.ts";

const Text = (max: number) => v.pipe(v.string(), v.trim(), v.maxLength(max));

/** 002's application form. */
export const ApplicationBody = v.strictObject({
  bio: v.pipe(
    v.string("Is required"),
    v.trim(),
    v.minLength(20, "Tell us a little more (at least 20 characters)"),
    v.maxLength(2000),
  ),
  expertise: v.pipe(
    v.array(
      v.pipe(v.string(), v.trim(), v.nonEmpty("Is required"), v.maxLength(60)),
      "Must be a list",
    ),
    v.minLength(1, "Name at least one subject"),
    v.maxLength(20, "Must have at most 20 items"),
  ),
  experience: v.optional(Text(4000)),
  education: v.optional(Text(2000)),
  socialLinks: v.optional(SocialLinksBody),
  sampleWork: v.optional(HttpUrl),
}, "Unknown field");

export const RejectBody = v.object({
  reason: v.pipe(
    v.string("Is required"),
    v.trim(),
    v.nonEmpty("Give a reason"),
    v.maxLength(2000),
  ),
});

export const ApplicationsQuery = v.object({
  ...pageQuery(10),
  status: v.optional(
    v.picklist(
      APPLICATION_STATUSES,
      `status must be one of ${APPLICATION_STATUSES.join(", ")}`,
    ),
  ),
});

export const ApplicationSchema = v.object({
  id: v.string(),
  user: v.object({
    id: v.string(),
    name: v.string(),
    email: v.string(),
    avatar: v.nullable(v.string()),
  }),
  bio: v.string(),
  expertise: v.array(v.string()),
  experience: v.nullable(v.string()),
  education: v.nullable(v.string()),
  socialLinks: v.record(v.string(), v.string()),
  sampleWork: v.nullable(v.string()),
  status: v.picklist(APPLICATION_STATUSES),
  rejectionReason: v.nullable(v.string()),
  appliedAt: v.string(),
  reviewedAt: v.nullable(v.string()),
});

export const ApplicationResponse = v.object({
  success: v.literal(true),
  application: ApplicationSchema,
});
export const ApplicationsResponse = v.object({
  success: v.literal(true),
  applications: v.array(ApplicationSchema),
  pagination: PaginationSchema,
});

export const DashboardResponse = v.object({
  success: v.literal(true),
  stats: v.object({
    totalStudents: v.number(),
    totalRevenue: v.number(),
    currency: v.string(),
    revenueByCurrency: v.record(v.string(), v.number()),
    totalPrograms: v.number(),
    publishedPrograms: v.number(),
    averageRating: v.number(),
    totalReviews: v.number(),
    newEnrollmentsThisMonth: v.number(),
    revenueThisMonth: v.number(),
    topPrograms: v.array(v.object({
      id: v.string(),
      title: v.string(),
      enrollments: v.number(),
      revenue: v.number(),
      rating: v.number(),
    })),
  }),
});
