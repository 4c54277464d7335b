import { Hono } from "hono";
import { SocialLinksBody } from "../users/schemas.ts";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { Deps } from "../../deps.ts";
import { bearerAuth, responses } from "../../lib/openapi.ts";
import { pageQuery, paginate } from "../../lib/pagination.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import { requireRole } from "../../middleware/require_role.ts";
import type { AppEnv } from "../../types.ts";
import { ProgramSummarySchema } from "../programs/schemas.ts";
import * as programs from "../programs/service.ts";
import * as instructors from "./service.ts";

const tags = ["Instructors"];
const ProfileBody = v.strictObject({
  headline: v.optional(v.pipe(v.string(), v.trim(), v.maxLength(160))),
  expertise: v.optional(
    v.pipe(
      v.array(
        v.pipe(
          v.string(),
          v.trim(),
          v.nonEmpty("Is required"),
          v.maxLength(60),
        ),
      ),
      v.maxLength(20, "Must have at most 20 items"),
    ),
  ),
  acceptingStudents: v.optional(v.boolean("Must be true or false")),
  bio: v.optional(v.nullable(v.pipe(v.string(), v.trim(), v.maxLength(2000)))),
  socialLinks: v.optional(SocialLinksBody),
}, "Unknown field");
const InstructorSchema = v.object({
  id: v.string(),
  name: v.string(),
  avatar: v.nullable(v.string()),
  bio: v.nullable(v.string()),
  headline: v.string(),
  expertise: v.array(v.string()),
  acceptingStudents: v.boolean(),
  rating: v.number(),
  totalStudents: v.number(),
  totalPrograms: v.number(),
  totalReviews: v.number(),
  socialLinks: v.record(v.string(), v.string()),
  joinedAt: v.string(),
});
const InstructorResponse = v.object({
  success: v.literal(true),
  instructor: InstructorSchema,
});
const Id = v.object({ id: v.pipe(v.string(), v.maxLength(40)) });

export function instructorRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();

  app.put(
    "/profile",
    describeRoute({
      tags,
      summary:
        "Update your instructor profile: headline, expertise, bio, links",
      security: bearerAuth,
      responses: responses({
        description: "The public profile",
        schema: InstructorResponse,
      }, [400, 401, 403, 415, 422]),
    }),
    requireAuth(deps),
    requireRole("instructor"),
    validate("json", ProfileBody),
    async (c) => {
      const instructor = await instructors.updateInstructorProfile(
        deps,
        c.get("auth").user.id,
        c.req.valid("json"),
      );
      return c.json({ success: true, instructor });
    },
  );

  app.get(
    "/:id",
    describeRoute({
      tags,
      summary:
        "An instructor's public profile, with rating, students and programs computed from real data",
      responses: responses({
        description: "The profile",
        schema: InstructorResponse,
      }, [404]),
    }),
    validate("param", Id),
    async (c) => {
      const instructor = await instructors.getPublicInstructor(
        deps,
        c.req.valid("param").id,
      );
      return c.json({ success: true, instructor });
    },
  );

  app.get(
    "/:id/programs",
    describeRoute({
      tags,
      summary: "An instructor's published programs",
      responses: responses({
        description: "Programs",
        schema: v.object({
          success: v.literal(true),
          programs: v.array(ProgramSummarySchema),
        }),
      }, [404, 422]),
    }),
    validate("param", Id),
    validate("query", v.object(pageQuery())),
    async (c) => {
      const { id } = c.req.valid("param");
      await instructors.getPublicInstructor(deps, id);
      const page = c.req.valid("query");
      const { rows, total } = await programs.listPrograms(deps, undefined, {
        ...page,
        instructorId: id,
        sort: "newest",
      });
      return c.json({
        success: true,
        programs: rows.map((row) =>
          programs.toProgramSummary(deps.config.appUrl, row)
        ),
        pagination: paginate(c, page, total),
      });
    },
  );

  return app;
}
