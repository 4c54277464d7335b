import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import { pendingMigrations } from "../../../db/migrate.ts";
import type { Deps } from "../../deps.ts";
import { responses } from "../../lib/openapi.ts";
import type { AppEnv } from "../../types.ts";

const tags = ["Health"];
const Status = v.object({ status: v.string() });

export function healthRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();

  app.get(
    "/healthz",
    describeRoute({
      tags,
      summary: "The process is alive",
      responses: responses({ description: "Alive", schema: Status }, []),
    }),
    (c) => c.json({ status: "ok" }),
  );

  app.get(
    "/readyz",
    describeRoute({
      tags,
      summary: "The database answers and every migration is applied",
      responses: {
        200: { description: "Ready" },
        503: { description: "Not ready: the body says why" },
      },
    }),
    async (c) => {
      try {
        await deps.db.run(sql`SELECT 1`);
        const pending = await pendingMigrations(deps.db);
        if (pending.length > 0) {
          return c.json({ status: "migrations pending", pending }, 503);
        }
        return c.json({ status: "ready" });
      } catch (error) {
        deps.logger.error("readiness check failed", { error: String(error) });
        return c.json({ status: "database unavailable" }, 503);
      }
    },
  );
  return app;
}
