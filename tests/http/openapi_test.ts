import assert from "node:assert/strict";
import { api, createTestContext } from "../helpers/context.ts";

/** Hono's path syntax (/users/:id) in OpenAPI's ({id}). */
const toOpenApiPath = (path: string) =>
  path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

Deno.test("the OpenAPI document", async (t) => {
  const ctx = await createTestContext();
  try {
    const res = await api(ctx, "GET", "/openapi.json");
    const doc = res.body;

    await t.step(
      "GET /openapi.json is OpenAPI 3.1 with the bearer scheme",
      () => {
        assert.equal(res.status, 200);
        assert.equal(doc.openapi, "3.1.0");
        assert.equal(
          doc.components.securitySchemes.bearerAuth.scheme,
          "bearer",
        );
      },
    );

    await t.step(
      "every /api route and the health checks are in the document",
      () => {
        const routes = ctx.app.routes.filter((r) =>
          (r.path.startsWith("/api/") || r.path === "/healthz" ||
            r.path === "/readyz") && r.method !== "ALL"
        );
        assert.ok(
          routes.length >= 15,
          `expected the auth and user routes, saw ${routes.length}`,
        );
        const missing = routes.filter((r) =>
          !doc.paths[toOpenApiPath(r.path)]?.[r.method.toLowerCase()]
        )
          .map((r) => `${r.method} ${r.path}`);
        assert.deepEqual(missing, []);
      },
    );

    await t.step("request bodies come from the validating schemas", () => {
      const register = doc.paths["/api/auth/register"].post;
      const schema = register.requestBody.content["application/json"].schema;
      assert.deepEqual([...schema.required].sort(), [
        "email",
        "name",
        "password",
      ]);
      assert.equal(schema.properties.email.format, "email");
      assert.ok(register.responses["409"], "documented errors");
    });

    await t.step("GET /docs serves the interactive reference", async () => {
      const docs = await ctx.app.request("/docs");
      assert.equal(docs.status, 200);
      assert.match(await docs.text(), /openapi\.json/);
    });
  } finally {
    await ctx.close();
  }
});
