import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { createDb } from "../../../db/client.ts";
import { users } from "../../../db/schema/mod.ts";
import { WriteGeneration } from "../../../db/write_generation.ts";
import { banUser } from "../../../server/features/users/service.ts";
import { GenerationCache } from "../../../server/lib/generation_cache.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { makeUserAndLogin } from "../../helpers/factories.ts";

/** Polls until `check` passes or `ms` elapse; returns how long it took. */
async function within(ms: number, check: () => Promise<boolean>) {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`not true within ${ms} ms`);
}

Deno.test("the cached auth state follows every write", async (t) => {
  const ctx = await createTestContext();
  try {
    await t.step(
      "a write in this process takes effect on the very next request",
      async () => {
        const { user, token } = await makeUserAndLogin(ctx);
        assert.equal(
          (await api(ctx, "GET", "/api/auth/me", { token })).status,
          200,
        );
        await banUser(ctx.deps, user.id, "spam");
        const after = await api(ctx, "GET", "/api/auth/me", { token });
        assert.equal(after.status, 403);
        assert.equal(after.body.error.code, "ACCOUNT_BANNED");
      },
    );

    await t.step(
      "a write by another process (the CLI, a replica) takes effect within a second",
      async () => {
        const { user, token } = await makeUserAndLogin(ctx, { name: "Before" });
        const me = () => api(ctx, "GET", "/api/auth/me", { token });
        assert.equal((await me()).body.user.name, "Before");
        assert.equal((await me()).body.user.name, "Before");
        // A second client on the same file has its own write generation, as another process would.
        const other = await createDb(
          ctx.env.DATABASE_URL ?? `file:${ctx.dataDir}/lectern.db`,
        );
        try {
          await other.db.update(users).set({ name: "After" }).where(
            eq(users.id, user.id),
          );
        } finally {
          other.close();
        }
        await within(1000, async () => (await me()).body.user.name === "After");
      },
    );
  } finally {
    await ctx.close();
  }
});

Deno.test("GenerationCache", async (t) => {
  await t.step("drops entries once the generation moves", () => {
    const writes = new WriteGeneration();
    const cache = new GenerationCache<string>(writes, {
      ttlMs: 60_000,
      maxEntries: 10,
    });
    cache.set("a", "one", cache.generation);
    assert.equal(cache.get("a"), "one");
    writes.bump();
    assert.equal(cache.get("a"), undefined);
  });

  await t.step("refuses a value loaded while a write committed", () => {
    const writes = new WriteGeneration();
    const cache = new GenerationCache<string>(writes, {
      ttlMs: 60_000,
      maxEntries: 10,
    });
    const before = cache.generation;
    writes.bump(); // the write commits while the query is running
    cache.set("a", "stale", before);
    assert.equal(cache.get("a"), undefined);
  });

  await t.step(
    "expires entries after the TTL and keeps at most maxEntries",
    async () => {
      const writes = new WriteGeneration();
      const cache = new GenerationCache<number>(writes, {
        ttlMs: 30,
        maxEntries: 2,
      });
      cache.set("a", 1, cache.generation);
      cache.set("b", 2, cache.generation);
      cache.set("c", 3, cache.generation);
      assert.equal(cache.get("a"), undefined);
      assert.equal(cache.get("c"), 3);
      await new Promise((r) => setTimeout(r, 40));
      assert.equal(cache.get("c"), undefined);
    },
  );
});
