import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { Deps } from "../../deps.ts";
import { bearerAuth, responses } from "../../lib/openapi.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import { idempotent } from "../../middleware/idempotency.ts";
import type { AppEnv } from "../../types.ts";
import { enrollWithPayment } from "../payments/service.ts";
import { programProgress } from "../progress/service.ts";
import { EnrollBody, EnrollResponse, ProgressResponse } from "./schemas.ts";
import {
  dropEnrollment,
  enrollWithoutPayment,
  toEnrollmentResponse,
} from "./service.ts";

const tags = ["Enrollment"];
const id = v.pipe(v.string(), v.maxLength(200));

/** Enrollment and progress, under /api/programs/:id. */
export function enrollmentRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const signedIn = requireAuth(deps);

  app.post(
    "/:id/enroll",
    describeRoute({
      tags,
      summary:
        "Enroll: free access types and those your plan covers at once; paid ones with the paymentIntentId of a succeeded payment",
      description:
        "Idempotent: enrolling again returns the existing enrollment (alreadyEnrolled: true). Honours Idempotency-Key.",
      security: bearerAuth,
      responses: responses({
        status: 201,
        description: "Enrolled (200 when nothing changed)",
        schema: EnrollResponse,
      }, [400, 401, 402, 403, 404, 409, 422, 503]),
    }),
    signedIn,
    idempotent(deps),
    validate("param", v.object({ id })),
    validate("json", EnrollBody),
    async (c) => {
      const viewer = c.get("auth").user;
      const programRef = c.req.valid("param").id;
      const { accessType, paymentIntentId } = c.req.valid("json");
      const result = paymentIntentId
        ? await enrollWithPayment(
          deps,
          viewer,
          programRef,
          accessType,
          paymentIntentId,
        )
        : await enrollWithoutPayment(deps, viewer, programRef, accessType);
      return c.json({
        success: true,
        message: result.alreadyEnrolled
          ? "You were already enrolled with this access"
          : "Enrolled",
        alreadyEnrolled: result.alreadyEnrolled,
        enrollment: toEnrollmentResponse(result),
      }, result.alreadyEnrolled ? 200 : 201);
    },
  );

  app.post(
    "/:id/drop",
    describeRoute({
      tags,
      summary:
        "Stop following a program (status dropped); bought access stays, and any progress update resumes it",
      security: bearerAuth,
      responses: responses({
        description: "Dropped",
        schema: v.object({
          success: v.literal(true),
          status: v.literal("dropped"),
        }),
      }, [401, 404]),
    }),
    signedIn,
    validate("param", v.object({ id })),
    async (c) => {
      await dropEnrollment(deps, c.get("auth").user, c.req.valid("param").id);
      return c.json({ success: true, status: "dropped" as const });
    },
  );

  app.get(
    "/:id/progress",
    describeRoute({
      tags: ["Progress"],
      summary:
        "Your progress in a program: completion, lessons, time spent, resume point",
      security: bearerAuth,
      responses: responses({
        description: "Progress",
        schema: ProgressResponse,
      }, [401, 404]),
    }),
    signedIn,
    validate("param", v.object({ id })),
    async (c) =>
      c.json({
        success: true,
        progress: await programProgress(
          deps,
          c.get("auth").user,
          c.req.valid("param").id,
        ),
      }),
  );

  return app;
}
