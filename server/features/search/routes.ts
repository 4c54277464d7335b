import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { Deps } from "../../deps.ts";
import { responses } from "../../lib/openapi.ts";
import { pageQuery, paginate } from "../../lib/pagination.ts";
import { validate } from "../../lib/validation.ts";
import type { AppEnv } from "../../types.ts";
import { ProgramSummarySchema } from "../programs/schemas.ts";
import { toProgramSummary } from "../programs/service.ts";
import { searchInstructors, searchPrograms } from "./service.ts";

const SearchQuery = v.object({
  q: v.pipe(
    v.string("q is required"),
    v.trim(),
    v.nonEmpty("q is required"),
    v.maxLength(200, "q must be at most 200 characters"),
  ),
  type: v.optional(
    v.picklist(
      ["programs", "instructors"],
      "type must be programs or instructors",
    ),
  ),
  ...pageQuery(),
});
const InstructorHit = v.object({
  id: v.string(),
  name: v.string(),
  avatar: v.nullable(v.string()),
  headline: v.string(),
  expertise: v.array(v.string()),
});

export function searchRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.get(
    "/",
    describeRoute({
      tags: ["Search"],
      summary:
        "Full-text search over published programs (title, description, overview, lessons) and instructors; snippets highlight matches with <mark>",
      responses: responses({
        description: "Results",
        schema: v.object({
          success: v.literal(true),
          results: v.object({
            programs: v.array(
              v.object({
                ...ProgramSummarySchema.entries,
                snippet: v.string(),
              }),
            ),
            instructors: v.array(InstructorHit),
          }),
        }),
      }, [400, 422]),
    }),
    validate("query", SearchQuery),
    async (c) => {
      const { q, type, ...page } = c.req.valid("query");
      const [programHits, instructorHits] = await Promise.all([
        type === "instructors"
          ? { hits: [], total: 0 }
          : searchPrograms(deps, q, page),
        type === "programs"
          ? { instructors: [], total: 0 }
          : searchInstructors(deps, q, page),
      ]);
      const total = type === "instructors"
        ? instructorHits.total
        : type === "programs"
        ? programHits.total
        : Math.max(programHits.total, instructorHits.total);
      return c.json({
        success: true,
        results: {
          programs: programHits.hits.map((hit) => ({
            ...toProgramSummary(deps.config.appUrl, hit.row),
            snippet: hit.snippet,
          })),
          instructors: instructorHits.instructors,
        },
        totals: {
          programs: programHits.total,
          instructors: instructorHits.total,
        },
        pagination: paginate(c, page, total),
      });
    },
  );
  return app;
}
