import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import { RELATIONSHIP_STATUSES } from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { bearerAuth, responses } from "../../lib/openapi.ts";
import { pageQuery, paginate } from "../../lib/pagination.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import type { AppEnv } from "../../types.ts";
import { Id, PlainText } from "../practice/schemas.ts";
import {
  answerRelationship,
  getRelationship,
  listRelationships,
  removeRelationship,
  requestRelationship,
  toRelationshipResponse,
} from "./service.ts";

const tags = ["Relationships"];
const RelationshipSchema = v.object({
  id: v.string(),
  studentId: v.string(),
  teacherId: v.string(),
  status: v.picklist(RELATIONSHIP_STATUSES),
  requestedBy: v.string(),
  message: v.nullable(v.string()),
  createdAt: v.string(),
  updatedAt: v.string(),
});
const RelationshipResponse = v.object({
  success: v.literal(true),
  relationship: RelationshipSchema,
});
const RequestBody = v.strictObject({
  userId: Id,
  as: v.optional(
    v.picklist(["teacher", "student"], "Must be teacher or student"),
  ),
  message: v.optional(PlainText(1000)),
}, "Unknown field");
const ListQuery = v.object({
  ...pageQuery(20),
  status: v.optional(v.picklist(RELATIONSHIP_STATUSES, "Unknown status")),
  as: v.optional(
    v.picklist(["teacher", "student"], "Must be teacher or student"),
  ),
});

/** 004's student-teacher relationships, under /api/relationships. */
export function relationshipRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.use("*", requireAuth(deps));

  app.get(
    "/",
    describeRoute({
      tags,
      summary: "Your relationships (as=teacher|student, status)",
      security: bearerAuth,
      responses: responses({
        description: "Relationships",
        schema: v.object({
          success: v.literal(true),
          relationships: v.array(RelationshipSchema),
        }),
      }, [401, 422]),
    }),
    validate("query", ListQuery),
    async (c) => {
      const query = c.req.valid("query");
      const viewer = c.get("auth").user;
      // Everyone, admins included, lists their own here; the CLI lists anyone's.
      const result = await listRelationships(deps.db, {
        ...query,
        userId: viewer.id,
      });
      return c.json({
        success: true,
        relationships: result.relationships,
        pagination: paginate(c, query, result.total),
      });
    },
  );

  app.post(
    "/request",
    describeRoute({
      tags,
      summary:
        "Ask an instructor to be your teacher, or (instructors) invite a learner; a crossing request connects at once",
      security: bearerAuth,
      responses: responses(
        { status: 201, description: "Requested", schema: RelationshipResponse },
        [401, 403, 404, 409, 415, 422],
      ),
    }),
    validate("json", RequestBody),
    async (c) => {
      const row = await requestRelationship(
        deps,
        c.get("auth").user,
        c.req.valid("json"),
      );
      return c.json({
        success: true,
        relationship: toRelationshipResponse(row),
      }, row.status === "active" ? 200 : 201);
    },
  );

  app.get(
    "/:id",
    describeRoute({
      tags,
      summary: "One of your relationships (where a request notification links)",
      security: bearerAuth,
      responses: responses(
        { description: "The relationship", schema: RelationshipResponse },
        [401, 404],
      ),
    }),
    validate("param", v.object({ id: Id })),
    async (c) =>
      c.json({
        success: true,
        relationship: toRelationshipResponse(
          await getRelationship(
            deps.db,
            c.get("auth").user,
            c.req.valid("param").id,
          ),
        ),
      }),
  );

  for (const answer of ["accept", "decline"] as const) {
    app.put(
      `/:id/${answer}`,
      describeRoute({
        tags,
        summary: `${
          answer === "accept" ? "Accept" : "Decline"
        } a request made to you`,
        security: bearerAuth,
        responses: responses(
          { description: "Answered", schema: RelationshipResponse },
          [401, 403, 404, 409],
        ),
      }),
      validate("param", v.object({ id: Id })),
      async (c) => {
        const row = await answerRelationship(
          deps,
          c.get("auth").user,
          c.req.valid("param").id,
          answer,
        );
        return c.json({
          success: true,
          relationship: toRelationshipResponse(row),
        });
      },
    );
  }

  app.delete(
    "/:id",
    describeRoute({
      tags,
      summary:
        "End a relationship or withdraw a request (either person); the teacher loses the student's shares",
      security: bearerAuth,
      responses: responses(
        { description: "Removed", schema: RelationshipResponse },
        [401, 404, 409],
      ),
    }),
    validate("param", v.object({ id: Id })),
    async (c) => {
      const row = await removeRelationship(
        deps,
        c.get("auth").user,
        c.req.valid("param").id,
      );
      return c.json({
        success: true,
        relationship: toRelationshipResponse(row),
      });
    },
  );
  return app;
}
