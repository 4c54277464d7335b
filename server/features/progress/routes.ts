import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { Deps } from "../../deps.ts";
import { bearerAuth, responses } from "../../lib/openapi.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import type { AppEnv } from "../../types.ts";
import { ProgressResponse } from "../enrollments/schemas.ts";
import { MAX_SECONDS_PER_UPDATE, updateProgress } from "./service.ts";

const id = v.pipe(
  v.string("Must be a string"),
  v.minLength(1),
  v.maxLength(200),
);
const ProgressBody = v.strictObject({
  programId: id,
  lessonId: id,
  completed: v.optional(v.boolean("Must be true or false")),
  timeSpentSeconds: v.optional(
    v.pipe(
      v.number("Must be a number"),
      v.integer("Must be a whole number of seconds"),
      v.minValue(0, "Must not be negative"),
      v.maxValue(
        MAX_SECONDS_PER_UPDATE,
        `Must be at most ${MAX_SECONDS_PER_UPDATE} seconds per update`,
      ),
    ),
  ),
}, "Unknown field");

/** /api/progress (001): the learner reports time and completion per lesson. */
export function progressRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.post(
    "/update",
    describeRoute({
      tags: ["Progress"],
      summary:
        "Record time spent on a lesson and/or mark it completed (at most an hour per call)",
      security: bearerAuth,
      responses: responses({
        description: "The program's progress after the update",
        schema: ProgressResponse,
      }, [400, 401, 402, 403, 404, 422]),
    }),
    requireAuth(deps),
    validate("json", ProgressBody),
    async (c) =>
      c.json({
        success: true,
        progress: await updateProgress(
          deps,
          c.get("auth").user,
          c.req.valid("json"),
        ),
      }),
  );
  return app;
}
