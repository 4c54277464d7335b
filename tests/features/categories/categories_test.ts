import assert from "node:assert/strict";
import { api, createTestContext } from "../../helpers/context.ts";
import { makeProgram, makeUserAndLogin } from "../../helpers/factories.ts";
import { deleteProgram } from "../../../server/features/programs/service.ts";

const DEFAULTS = [
  "Technology",
  "Development",
  "Marketing",
  "Financial",
  "Fitness Train",
  "Art & Design",
];

interface Item {
  id: string;
  name: string;
  slug: string;
  programCount: number;
}

Deno.test("categories: the default set and admin management", async (t) => {
  const ctx = await createTestContext();
  try {
    const admin = await makeUserAndLogin(ctx, { role: "admin" });
    const instructor = await makeUserAndLogin(ctx, { role: "instructor" });
    const student = await makeUserAndLogin(ctx, { role: "student" });
    const list = async () => {
      const res = await api(ctx, "GET", "/api/categories");
      assert.equal(res.status, 200);
      return res.body as { categories: string[]; items: Item[] };
    };
    const itemNamed = async (name: string) =>
      (await list()).items.find((i) => i.name === name);

    await t.step(
      "anonymous GET /api/categories lists 002's six in order, with items",
      async () => {
        const res = await api(ctx, "GET", "/api/categories");
        assert.equal(res.status, 200);
        assert.equal(res.body.success, true);
        assert.deepEqual(res.body.categories, DEFAULTS);
        assert.deepEqual(
          res.body.items.map((i: Item) => i.name),
          DEFAULTS,
        );
        for (const item of res.body.items) {
          assert.deepEqual(Object.keys(item).sort(), [
            "id",
            "name",
            "programCount",
            "slug",
          ]);
          assert.equal(item.programCount, 0);
        }
        assert.deepEqual(
          res.body.items.map((i: Item) => i.slug).slice(0, 5),
          [
            "technology",
            "development",
            "marketing",
            "financial",
            "fitness-train",
          ],
        );
      },
    );

    await t.step(
      "programCount counts published, undeleted programs only",
      async () => {
        await makeProgram(ctx, instructor.user, { category: "Financial" });
        await makeProgram(ctx, instructor.user, { category: "Financial" });
        await makeProgram(ctx, instructor.user, {
          category: "Financial",
          status: "draft",
        });
        const gone = await makeProgram(ctx, instructor.user, {
          category: "Financial",
        });
        await deleteProgram(ctx.deps, instructor.user, gone.id);
        assert.equal((await itemNamed("Financial"))!.programCount, 2);
      },
    );

    await t.step(
      "an admin adds a category: 201, trimmed, slugged, appended last",
      async () => {
        const res = await api(ctx, "POST", "/api/categories", {
          token: admin.token,
          body: { name: "  Data Science  " },
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        assert.deepEqual(Object.keys(res.body.category).sort(), [
          "id",
          "name",
          "slug",
        ]);
        assert.equal(res.body.category.name, "Data Science");
        assert.equal(res.body.category.slug, "data-science");
        const after = await list();
        assert.deepEqual(after.categories, [...DEFAULTS, "Data Science"]);
        const program = await api(ctx, "POST", "/api/programs", {
          token: instructor.token,
          body: { title: "Pandas 101", category: "data science" },
        });
        assert.equal(program.status, 201, "the new category is usable");
        assert.equal(program.body.program.category, "Data Science");
      },
    );

    await t.step(
      "a duplicate name is 409 CATEGORY_EXISTS, whatever the case or punctuation",
      async () => {
        for (
          const name of [
            "Data Science",
            "data science",
            "DATA SCIENCE",
            "  technology ",
            "Data-Science",
            "fitness train",
          ]
        ) {
          const res = await api(ctx, "POST", "/api/categories", {
            token: admin.token,
            body: { name },
          });
          assert.equal(res.status, 409, name);
          assert.equal(res.body.error.code, "CATEGORY_EXISTS", name);
        }
        assert.equal((await list()).items.length, 7, "nothing was added");
      },
    );

    await t.step("an empty or overlong name is 422", async () => {
      for (const name of ["", "   ", "x".repeat(61)]) {
        const res = await api(ctx, "POST", "/api/categories", {
          token: admin.token,
          body: { name },
        });
        assert.equal(res.status, 422, JSON.stringify(name));
        assert.ok(res.body.error.details.fields.name);
      }
      const missing = await api(ctx, "POST", "/api/categories", {
        token: admin.token,
        body: {},
      });
      assert.equal(missing.status, 422);
    });

    await t.step(
      "an admin renames a category by id, by slug or by name",
      async () => {
        const item = (await itemNamed("Data Science"))!;
        const byId = await api(ctx, "PUT", `/api/categories/${item.id}`, {
          token: admin.token,
          body: { name: "Data Analysis" },
        });
        assert.equal(byId.status, 200, JSON.stringify(byId.body));
        assert.deepEqual(byId.body.category, {
          id: item.id,
          name: "Data Analysis",
          slug: "data-analysis",
        });
        const bySlug = await api(ctx, "PUT", "/api/categories/data-analysis", {
          token: admin.token,
          body: { name: "Data Engineering" },
        });
        assert.equal(bySlug.status, 200);
        assert.equal(bySlug.body.category.id, item.id);
        const byName = await api(
          ctx,
          "PUT",
          `/api/categories/${encodeURIComponent("data engineering")}`,
          { token: admin.token, body: { name: "Data Science" } },
        );
        assert.equal(byName.status, 200);
        assert.equal(byName.body.category.name, "Data Science");
        const sameWithCase = await api(
          ctx,
          "PUT",
          "/api/categories/data-science",
          { token: admin.token, body: { name: "DATA science" } },
        );
        assert.equal(
          sameWithCase.status,
          200,
          "a category may change the case of its own name",
        );
        assert.equal(sameWithCase.body.category.name, "DATA science");
        const programs = await api(
          ctx,
          "GET",
          "/api/programs?category=data-science",
        );
        assert.equal(programs.body.programs.length, 0, "Pandas 101 is a draft");
        const adminView = await api(
          ctx,
          "GET",
          "/api/programs?category=data-science",
          { token: admin.token },
        );
        assert.deepEqual(
          adminView.body.programs.map((p: { category: string }) => p.category),
          ["DATA science"],
          "programs show the new name",
        );
        const position = (await list()).categories.indexOf("DATA science");
        assert.equal(position, 6, "a rename keeps the position");
      },
    );

    await t.step(
      "renaming onto another category's name is 409; an unknown ref is 404",
      async () => {
        const clash = await api(ctx, "PUT", "/api/categories/data-science", {
          token: admin.token,
          body: { name: "marketing" },
        });
        assert.equal(clash.status, 409);
        assert.equal(clash.body.error.code, "CATEGORY_EXISTS");
        const unknown = await api(ctx, "PUT", "/api/categories/no-such-thing", {
          token: admin.token,
          body: { name: "Whatever" },
        });
        assert.equal(unknown.status, 404);
        assert.equal(unknown.body.error.code, "NOT_FOUND");
        assert.ok(await itemNamed("Marketing"));
      },
    );

    await t.step(
      "removing a category in use is 409 CATEGORY_IN_USE, deleted programs included",
      async () => {
        const res = await api(ctx, "DELETE", "/api/categories/Financial", {
          token: admin.token,
        });
        assert.equal(res.status, 409);
        assert.equal(res.body.error.code, "CATEGORY_IN_USE");
        const onlyDeleted = await api(ctx, "POST", "/api/categories", {
          token: admin.token,
          body: { name: "Retired Topics" },
        });
        const p = await makeProgram(ctx, instructor.user, {
          category: "Retired Topics",
        });
        await deleteProgram(ctx.deps, admin.user, p.id);
        const held = await api(
          ctx,
          "DELETE",
          `/api/categories/${onlyDeleted.body.category.id}`,
          { token: admin.token },
        );
        assert.equal(held.status, 409);
        assert.equal(held.body.error.code, "CATEGORY_IN_USE");
        assert.ok(await itemNamed("Financial"));
        assert.ok(await itemNamed("Retired Topics"));
      },
    );

    await t.step(
      "an admin removes empty categories by id, slug or name",
      async () => {
        const add = async (name: string) =>
          (await api(ctx, "POST", "/api/categories", {
            token: admin.token,
            body: { name },
          })).body.category as Item;
        const one = await add("Remove By Id");
        const two = await add("Remove By Slug");
        await add("Remove By Name");
        for (
          const ref of [
            one.id,
            two.slug,
            encodeURIComponent("remove by NAME"),
          ]
        ) {
          const res = await api(ctx, "DELETE", `/api/categories/${ref}`, {
            token: admin.token,
          });
          assert.equal(res.status, 200, `${ref}: ${JSON.stringify(res.body)}`);
          assert.equal(res.body.success, true);
          assert.match(res.body.message, /Remove By/);
        }
        const names = (await list()).categories;
        assert.ok(!names.some((n) => n.startsWith("Remove By")));
        const again = await api(ctx, "DELETE", `/api/categories/${one.id}`, {
          token: admin.token,
        });
        assert.equal(again.status, 404);
        const defaultOne = await api(
          ctx,
          "DELETE",
          "/api/categories/art-design",
          {
            token: admin.token,
          },
        );
        assert.equal(defaultOne.status, 200, "an unused default can go too");
        assert.ok(!(await list()).categories.includes("Art & Design"));
        const readd = await api(ctx, "POST", "/api/categories", {
          token: admin.token,
          body: { name: "Remove By Id" },
        });
        assert.equal(readd.status, 201, "a removed name can be used again");
      },
    );

    await t.step(
      "students and instructors get 403 and anonymous callers 401 on every write",
      async () => {
        const before = await list();
        const writes: [string, string, unknown][] = [
          ["POST", "/api/categories", { name: "Sneaky" }],
          ["PUT", "/api/categories/technology", { name: "Tech" }],
          ["DELETE", "/api/categories/marketing", undefined],
        ];
        for (const [method, path, body] of writes) {
          for (const token of [student.token, instructor.token]) {
            const res = await api(ctx, method, path, { token, body });
            assert.equal(res.status, 403, `${method} ${path}`);
            assert.equal(res.body.error.code, "FORBIDDEN");
          }
          const anonymous = await api(ctx, method, path, { body });
          assert.equal(anonymous.status, 401, `${method} ${path}`);
          assert.equal(anonymous.body.error.code, "UNAUTHENTICATED");
        }
        assert.deepEqual(await list(), before, "nothing changed");
      },
    );
  } finally {
    await ctx.close();
  }
});
