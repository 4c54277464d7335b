import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { Deps } from "../../deps.ts";
import { bearerAuth, responses } from "../../lib/openapi.ts";
import { pageQuery, paginate } from "../../lib/pagination.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import { requireRole } from "../../middleware/require_role.ts";
import type { AppEnv } from "../../types.ts";
import { progressHistory } from "../practice/records.ts";
import { Id, RecordSchema } from "../practice/schemas.ts";
import { listStudents, listTeachers, publicUser } from "./people.ts";

const tags = ["Users"];
const PublicUser = v.object({
  id: v.string(),
  name: v.string(),
  role: v.string(),
  avatar: v.nullable(v.string()),
  bio: v.nullable(v.string()),
  joinedAt: v.string(),
});

/** 004's people endpoints under /api/users: teachers, students, public profiles, progress history. */
export function peopleRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.use("*", requireAuth(deps));

  app.get(
    "/teachers",
    describeRoute({
      tags,
      summary: "Instructors accepting students (search by name or headline)",
      security: bearerAuth,
      responses: responses({
        description: "Teachers",
        schema: v.object({
          success: v.literal(true),
          teachers: v.array(PublicUser),
        }),
      }, [401, 422]),
    }),
    validate(
      "query",
      v.object({
        ...pageQuery(20),
        search: v.optional(v.pipe(v.string(), v.trim(), v.maxLength(100))),
      }),
    ),
    async (c) => {
      const query = c.req.valid("query");
      const result = await listTeachers(deps.db, query);
      return c.json({
        success: true,
        teachers: result.teachers,
        pagination: paginate(c, query, result.total),
      });
    },
  );

  app.get(
    "/students",
    describeRoute({
      tags,
      summary: "Your active students (instructors)",
      security: bearerAuth,
      responses: responses({
        description: "Students",
        schema: v.object({
          success: v.literal(true),
          students: v.array(PublicUser),
        }),
      }, [401, 403, 422]),
    }),
    requireRole("instructor", "admin"),
    validate("query", v.object(pageQuery(20))),
    async (c) => {
      const query = c.req.valid("query");
      const result = await listStudents(deps.db, c.get("auth").user.id, query);
      return c.json({
        success: true,
        students: result.students,
        pagination: paginate(c, query, result.total),
      });
    },
  );

  app.get(
    "/:id/progress-records",
    describeRoute({
      tags,
      summary:
        "A learner's scores over time (the learner, their active teachers, admins), with averages",
      security: bearerAuth,
      responses: responses({
        description: "Progress records",
        schema: v.object({
          success: v.literal(true),
          records: v.array(RecordSchema),
        }),
      }, [401, 404, 422]),
    }),
    validate("param", v.object({ id: Id })),
    validate(
      "query",
      v.object({ ...pageQuery(20), videoId: v.optional(Id) }),
    ),
    async (c) => {
      const query = c.req.valid("query");
      const result = await progressHistory(
        deps,
        c.get("auth").user,
        c.req.valid("param").id,
        { ...query, submissionId: query.videoId },
      );
      return c.json({
        success: true,
        records: result.records,
        summary: result.summary,
        pagination: paginate(c, query, result.total),
      });
    },
  );

  app.get(
    "/:id",
    describeRoute({
      tags,
      summary: "A person's public information",
      security: bearerAuth,
      responses: responses({
        description: "The person",
        schema: v.object({ success: v.literal(true), user: PublicUser }),
      }, [401, 404]),
    }),
    validate("param", v.object({ id: Id })),
    async (c) =>
      c.json({
        success: true,
        user: await publicUser(deps.db, c.req.valid("param").id),
      }),
  );
  return app;
}
