import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import { eq, sql } from "drizzle-orm";
import { createDb } from "../../../db/client.ts";
import { users } from "../../../db/schema/mod.ts";
import { WriteGeneration } from "../../../db/write_generation.ts";
import { serializeWrites } from "../../../db/write_lock.ts";
import { recordEvent } from "../../../server/features/events/record.ts";
import { banUser } from "../../../server/features/users/service.ts";
import { AUTH_TABLES } from "../../../server/middleware/auth.ts";
import { GenerationCache } from "../../../server/lib/generation_cache.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { ADMIN_ACTOR, makeUserAndLogin } from "../../helpers/factories.ts";

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
        await banUser(ctx.deps, ADMIN_ACTOR, user.id, "spam");
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

Deno.test("the auth state cache is dropped by writes to users and sessions only, and by every other process", async (t) => {
  await t.step(
    "a scoped generation moves with the statements that may touch its tables",
    () => {
      const writes = new WriteGeneration();
      const auth = writes.scope(AUTH_TABLES);
      const moved = (written?: string[]) => {
        const before = auth.value;
        const all = writes.value;
        writes.bump(written);
        assert.equal(
          writes.value,
          all + 1,
          "the whole generation always moves",
        );
        return auth.value !== before;
      };
      assert.equal(moved(['insert into "events" ("id") values (?)']), false);
      assert.equal(
        moved([
          'insert into "quiz_attempt_answers" ("attempt_id", "user_id") select ?, ? from json_each(?) where true on conflict do nothing',
          'update "quiz_attempts" set "status" = ? where "id" = ?',
        ]),
        false,
        "user_id is not users",
      );
      assert.equal(moved([]), false, "a transaction that wrote nothing");
      assert.equal(
        moved(['update "users" set "status" = ? where "id" = ?']),
        true,
      );
      assert.equal(moved(["DELETE FROM sessions WHERE user_id = ?"]), true);
      assert.equal(
        moved(['insert into "events" ("id") select "id" from `Users`']),
        true,
        "named anywhere, in any case or quoting",
      );
      assert.equal(moved(["PRAGMA foreign_keys = OFF"]), true, "not DML");
      assert.equal(moved(["ALTER TABLE x ADD COLUMN y"]), true, "schema");
      assert.equal(moved(undefined), true, "unknown: another process");
      assert.equal(
        writes.scope(["sessions", "users"]),
        auth,
        "one per table set",
      );
    },
  );

  const ctx = await createTestContext();
  try {
    await t.step(
      "nothing but users and sessions reaches those tables: no trigger writes them, and only users cascades into sessions",
      async () => {
        const triggers = await ctx.deps.db.all<{ name: string; sql: string }>(
          sql`select "name", "sql" from "sqlite_master" where "type" = 'trigger'`,
        );
        assert.ok(triggers.length > 0);
        for (const trigger of triggers) {
          const body = trigger.sql.slice(trigger.sql.search(/\bbegin\b/i));
          assert.doesNotMatch(
            body,
            /\b(insert|replace)\b[^;]*?\binto\s+[`"[]?(users|sessions)\b|\bupdate\s+(or\s+\w+\s+)?[`"[]?(users|sessions)\b|\bdelete\s+from\s+[`"[]?(users|sessions)\b/i,
            `trigger ${trigger.name} writes ${AUTH_TABLES.join(" or ")}`,
          );
        }
        const parents = async (table: string) =>
          (await ctx.deps.db.all<{ table: string }>(
            sql`select "table" from pragma_foreign_key_list(${table})`,
          )).map((row) => row.table);
        assert.deepEqual(await parents("users"), []);
        assert.deepEqual(await parents("sessions"), ["users"]);
      },
    );

    await t.step(
      "writes to other tables keep the cached state; a ban in this process is refused on the very next request",
      async () => {
        const { user, token } = await makeUserAndLogin(ctx);
        const auth = ctx.deps.writes.scope(AUTH_TABLES);
        assert.equal(
          (await api(ctx, "GET", "/api/auth/me", { token })).status,
          200,
        );
        const before = auth.value;
        await recordEvent(ctx.deps.db, "quiz.attempted", { userId: user.id });
        await ctx.deps.db.transaction((tx) =>
          recordEvent(tx, "quiz.attempted", { userId: user.id })
        );
        assert.equal(auth.value, before, "events do not touch the auth state");
        assert.equal(
          (await api(ctx, "GET", "/api/auth/me", { token })).status,
          200,
        );
        await banUser(ctx.deps, ADMIN_ACTOR, user.id, "spam");
        assert.notEqual(auth.value, before);
        const after = await api(ctx, "GET", "/api/auth/me", { token });
        assert.equal(after.status, 403);
        assert.equal(after.body.error.code, "ACCOUNT_BANNED");
      },
    );

    await t.step(
      "a ban by another process (the CLI) is refused within a second, after this process's own writes",
      async () => {
        const { user, token } = await makeUserAndLogin(ctx);
        const me = () => api(ctx, "GET", "/api/auth/me", { token });
        assert.equal((await me()).status, 200);
        await recordEvent(ctx.deps.db, "quiz.attempted", { userId: user.id });
        assert.equal((await me()).status, 200);
        const other = await createDb(`file:${ctx.dataDir}/lectern.db`);
        try {
          await banUser(
            { ...ctx.deps, db: other.db },
            ADMIN_ACTOR,
            user.id,
            "spam",
          );
        } finally {
          other.close();
        }
        await within(1000, async () => (await me()).status === 403);
        assert.equal((await me()).body.error.code, "ACCOUNT_BANNED");
      },
    );
  } finally {
    await ctx.close();
  }

  await t.step(
    "data_version on the writer connection moves for other connections' commits, never for its own",
    async () => {
      const dir = await Deno.makeTempDir({ prefix: "lectern-writer-test-" });
      const url = `file:${dir}/x.db`;
      const generation = new WriteGeneration();
      const { client, readOnWriter } = serializeWrites(
        createClient({ url }),
        generation,
        createClient({ url, concurrency: 1 }),
      );
      const outsider = createClient({ url });
      try {
        const version = async () =>
          (await readOnWriter("PRAGMA data_version")).rows[0]?.[0];
        await client.execute("PRAGMA journal_mode = WAL");
        await client.execute("create table t (v text)");
        const start = await version();
        await client.execute("insert into t values ('ours')");
        const tx = await client.transaction("write");
        await tx.execute("insert into t values ('ours again')");
        await tx.commit();
        assert.equal(await version(), start, "our own commits");
        assert.equal(
          (await client.execute("select count(*) as n from t")).rows[0]?.n,
          2,
          "reads see them",
        );
        await outsider.execute("insert into t values ('theirs')");
        const theirs = await version();
        assert.notEqual(theirs, start, "another connection's commit");
        // While a transaction holds the writer's connection, it is read inside that transaction
        // instead of waiting for it to end: a long import does not hide another process's ban.
        const long = await client.transaction("write");
        await long.execute("insert into t values ('ours, not committed yet')");
        assert.equal(await version(), theirs);
        await long.commit();
        assert.equal(await version(), theirs);
      } finally {
        outsider.close();
        client.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
});
