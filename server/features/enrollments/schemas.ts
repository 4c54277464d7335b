import * as v from "valibot";
import { ACCESS_TYPES, ENROLLMENT_STATUSES } from "../../../db/schema/mod.ts";

export const AccessTypeSchema = v.picklist(
  ACCESS_TYPES,
  `Must be one of ${ACCESS_TYPES.join(", ")}`,
);

export const EnrollBody = v.strictObject({
  accessType: AccessTypeSchema,
  paymentIntentId: v.optional(
    v.pipe(
      v.string("Must be a string"),
      v.regex(
        /^pi_[A-Za-z0-9_]{1,200}$/,
        "Must be a Stripe PaymentIntent id (pi_...)",
      ),
    ),
  ),
}, "Unknown field");

const FeatureAccessSchema = v.object({
  chatbot: v.boolean(),
  documentation: v.boolean(),
  examSimulator: v.boolean(),
});

export const EnrollmentSchema = v.object({
  id: v.string(),
  programId: v.string(),
  status: v.picklist(ENROLLMENT_STATUSES),
  accessTypes: v.array(AccessTypeSchema),
  access: FeatureAccessSchema,
  enrolledAt: v.string(),
  completedAt: v.nullable(v.string()),
  lastAccessedAt: v.nullable(v.string()),
});

export const EnrollResponse = v.object({
  success: v.literal(true),
  message: v.string(),
  alreadyEnrolled: v.boolean(),
  enrollment: EnrollmentSchema,
});

export const ProgressSchema = v.object({
  programId: v.string(),
  status: v.picklist(ENROLLMENT_STATUSES),
  completionPercentage: v.number(),
  lessonsCompleted: v.number(),
  lessonsTotal: v.number(),
  quizzesTaken: v.number(),
  quizzesTotal: v.number(),
  timeSpentMinutes: v.number(),
  lastAccessedAt: v.nullable(v.string()),
  resumeLesson: v.nullable(
    v.object({ id: v.string(), title: v.string(), moduleId: v.string() }),
  ),
  enrolledAt: v.string(),
  completedAt: v.nullable(v.string()),
});

export const ProgressResponse = v.object({
  success: v.literal(true),
  progress: ProgressSchema,
});
