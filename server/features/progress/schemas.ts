import * as v from "valibot";
import { ENROLLMENT_STATUSES } from "../../../db/schema/mod.ts";
import { pageQuery, PaginationSchema } from "../../lib/pagination.ts";

export const StatsSchema = v.object({
  programsEnrolled: v.number(),
  programsCompleted: v.number(),
  quizzesTaken: v.number(),
  quizzesPassedPercentage: v.number(),
  certificatesEarned: v.number(),
  totalPoints: v.number(),
  currentStreak: v.number(),
  longestStreak: v.number(),
  learningTimeMinutes: v.number(),
  averageQuizScore: v.number(),
});

export const EnrolledProgramSchema = v.object({
  id: v.string(),
  title: v.string(),
  slug: v.string(),
  thumbnail: v.nullable(v.string()),
  progress: v.number(),
  status: v.picklist(ENROLLMENT_STATUSES),
  enrolledAt: v.string(),
  lastAccessedAt: v.nullable(v.string()),
  completedAt: v.nullable(v.string()),
  instructor: v.object({
    id: v.string(),
    name: v.string(),
    avatar: v.nullable(v.string()),
  }),
});

export const EnrolledProgramsQuery = v.object({
  ...pageQuery(),
  status: v.optional(
    v.picklist(
      ENROLLMENT_STATUSES,
      `status must be one of ${ENROLLMENT_STATUSES.join(", ")}`,
    ),
  ),
});

export const EnrolledProgramsResponse = v.object({
  success: v.literal(true),
  programs: v.array(EnrolledProgramSchema),
  pagination: PaginationSchema,
});

export const DashboardResponse = v.object({
  success: v.literal(true),
  dashboard: v.object({
    activePrograms: v.array(EnrolledProgramSchema),
    completedPrograms: v.array(EnrolledProgramSchema),
    recentActivity: v.array(v.object({
      type: v.string(),
      lesson: v.object({ id: v.string(), title: v.string() }),
      program: v.object({ id: v.string(), title: v.string() }),
      at: v.string(),
      timeSpentMinutes: v.number(),
    })),
    stats: StatsSchema,
  }),
});
