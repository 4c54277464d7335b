import { Hono } from "hono";
import { requestActor } from "../audit/service.ts";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { Category } from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { bearerAuth, MessageResponse, responses } from "../../lib/openapi.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import { requireRole } from "../../middleware/require_role.ts";
import type { AppEnv } from "../../types.ts";
import * as categories from "./service.ts";

const tags = ["Categories"];
const Name = v.object({
  name: v.pipe(
    v.string("Must be a string"),
    v.trim(),
    v.nonEmpty("Is required"),
    v.maxLength(60, "Must be at most 60 characters"),
  ),
});
const Ref = v.object({ ref: v.pipe(v.string(), v.maxLength(100)) });
const CategorySchema = v.object({
  id: v.string(),
  name: v.string(),
  slug: v.string(),
  programCount: v.number(),
});
const CategoryResponse = v.object({
  success: v.literal(true),
  category: v.object({ id: v.string(), name: v.string(), slug: v.string() }),
});
const toCategory = (category: Category) => ({
  id: category.id,
  name: category.name,
  slug: category.slug,
});

export function categoryRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const admin = [requireAuth(deps), requireRole("admin")] as const;

  app.get(
    "/",
    describeRoute({
      tags,
      summary:
        "Category names (002), plus `items` with ids, slugs and published program counts",
      responses: responses({
        description: "Categories",
        schema: v.object({
          success: v.literal(true),
          categories: v.array(v.string()),
          items: v.array(CategorySchema),
        }),
      }, []),
    }),
    async (c) => {
      const rows = await categories.listCategories(deps);
      return c.json({
        success: true,
        categories: rows.map((row) => row.name),
        items: rows.map((row) => ({
          ...toCategory(row),
          programCount: row.programCount,
        })),
      });
    },
  );

  app.post(
    "/",
    describeRoute({
      tags,
      summary: "Add a category (admin)",
      security: bearerAuth,
      responses: responses({
        status: 201,
        description: "Created",
        schema: CategoryResponse,
      }, [400, 401, 403, 409, 415, 422]),
    }),
    admin[0],
    admin[1],
    validate("json", Name),
    async (c) => {
      const created = await categories.addCategory(
        deps,
        requestActor(c, deps),
        c.req.valid("json").name,
      );
      return c.json({ success: true, category: toCategory(created) }, 201);
    },
  );

  app.put(
    "/:ref",
    describeRoute({
      tags,
      summary: "Rename a category, by id, slug or name (admin)",
      security: bearerAuth,
      responses: responses({
        description: "Renamed",
        schema: CategoryResponse,
      }, [400, 401, 403, 404, 409, 415, 422]),
    }),
    admin[0],
    admin[1],
    validate("param", Ref),
    validate("json", Name),
    async (c) => {
      const renamed = await categories.renameCategory(
        deps,
        requestActor(c, deps),
        c.req.valid("param").ref,
        c.req.valid("json").name,
      );
      return c.json({ success: true, category: toCategory(renamed) });
    },
  );

  app.delete(
    "/:ref",
    describeRoute({
      tags,
      summary: "Remove an empty category (admin); 409 while programs use it",
      security: bearerAuth,
      responses: responses(
        { description: "Removed", schema: MessageResponse },
        [
          401,
          403,
          404,
          409,
        ],
      ),
    }),
    admin[0],
    admin[1],
    validate("param", Ref),
    async (c) => {
      const removed = await categories.removeCategory(
        deps,
        requestActor(c, deps),
        c.req.valid("param").ref,
      );
      return c.json({
        success: true,
        message: `Category "${removed.name}" removed`,
      });
    },
  );

  return app;
}
