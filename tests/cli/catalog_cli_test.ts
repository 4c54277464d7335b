import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { programs } from "../../db/schema/mod.ts";
import { api, createTestContext } from "../helpers/context.ts";
import { makeProgram, makeUser } from "../helpers/factories.ts";
import { ok, runCli } from "../helpers/cli.ts";

Deno.test("the catalog CLI: programs and categories", async (t) => {
  const ctx = await createTestContext();
  const cli = (args: string[]) => runCli(ctx.dataDir, args);
  try {
    const owner = await makeUser(ctx, {
      role: "instructor",
      name: "Ada Lovelace",
    });
    const draft = await makeProgram(ctx, owner, {
      title: "Analytical Engines",
      status: "draft",
    });

    await t.step(
      "programs list shows drafts too, as an admin sees them",
      async () => {
        const out = ok(await cli(["programs", "list"]), "programs list");
        assert.match(
          out,
          /draft\s+analytical-engines\s+"Analytical Engines"\s+by Ada Lovelace\s+USD 34\.99/,
        );
        const json = JSON.parse(
          ok(await cli(["programs", "list", "--json"]), "list --json"),
        );
        assert.equal(json.total, 1);
        assert.equal(json.programs[0].slug, "analytical-engines");
      },
    );

    await t.step(
      "publish and feature put the program in the public catalog",
      async () => {
        assert.match(
          ok(
            await cli(["programs", "publish", "analytical-engines"]),
            "publish",
          ),
          /^Published analytical-engines/,
        );
        ok(await cli(["programs", "feature", draft.id]), "feature");
        const listed = await api(ctx, "GET", "/api/programs?featured=true");
        assert.equal(listed.body.programs.length, 1);
        assert.equal(listed.body.programs[0].featured, true);
        const shown = JSON.parse(
          ok(
            await cli(["programs", "show", draft.id, "--json"]),
            "show --json",
          ),
        );
        assert.equal(shown.status, "published");
        assert.equal(shown.featured, true);
      },
    );

    await t.step(
      "unpublish, unfeature and delete; unknown programs fail with exit 1",
      async () => {
        ok(await cli(["programs", "unfeature", draft.id]), "unfeature");
        ok(await cli(["programs", "unpublish", draft.id]), "unpublish");
        let [row] = await ctx.deps.db.select().from(programs).where(
          eq(programs.id, draft.id),
        );
        assert.equal(row?.status, "draft");
        assert.equal(row?.featured, false);
        assert.match(
          ok(await cli(["programs", "delete", draft.id]), "delete"),
          /^Deleted/,
        );
        [row] = await ctx.deps.db.select().from(programs).where(
          eq(programs.id, draft.id),
        );
        assert.ok(row?.deletedAt, "soft-deleted: the row stays");
        const missing = await cli(["programs", "publish", "no-such-program"]);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /Program not found \(NOT_FOUND\)/);
      },
    );

    await t.step(
      "categories list, add, rename and remove; a used one cannot go",
      async () => {
        const listed = JSON.parse(
          ok(await cli(["categories", "list", "--json"]), "list"),
        );
        assert.deepEqual(listed.map((c: { name: string }) => c.name), [
          "Technology",
          "Development",
          "Marketing",
          "Financial",
          "Fitness Train",
          "Art & Design",
        ]);
        assert.match(
          ok(await cli(["categories", "add", "Data Science"]), "add"),
          /Added "Data Science" \(data-science\)/,
        );
        const duplicate = await cli(["categories", "add", "data science"]);
        assert.equal(duplicate.code, 1);
        assert.match(duplicate.stderr, /CATEGORY_EXISTS/);
        ok(
          await cli(["categories", "rename", "data-science", "Data & AI"]),
          "rename",
        );
        assert.match(
          ok(await cli(["categories", "remove", "Data & AI"]), "remove"),
          /Removed "Data & AI"/,
        );
        const used = await cli(["categories", "remove", "development"]);
        assert.equal(used.code, 1);
        assert.match(used.stderr, /CATEGORY_IN_USE/);
      },
    );
  } finally {
    await ctx.close();
  }
});
