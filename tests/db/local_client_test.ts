import assert from "node:assert/strict";
import {
  type Client,
  type InStatement,
  LibsqlError,
  type Transaction,
} from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { integer, sqliteTable } from "drizzle-orm/sqlite-core";
import { filePath } from "../../db/client.ts";
import { createLocalClient } from "../../db/local_client.ts";

/** A client or a transaction. */
type Executor = Pick<Transaction, "execute">;

/** The first row of `stmt`'s result. */
async function first(on: Executor, stmt: InStatement) {
  const row = (await on.execute(stmt)).rows[0];
  assert.ok(row, "a row");
  return row;
}

/** Asserts `promise` rejects with a LibsqlError of `code`, and returns the error. */
async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
): Promise<LibsqlError> {
  let caught: unknown;
  await assert.rejects(promise, (error) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof LibsqlError, `a LibsqlError, not ${caught}`);
  assert.equal(caught.code, code);
  return caught;
}

Deno.test("the local SQLite client", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "lectern-local-client-" });
  const path = `${dir}/local.db`;
  const client = createLocalClient(path, 5000);
  const others: Client[] = [];
  const another = () => {
    const other = createLocalClient(path, 5000);
    others.push(other);
    return other;
  };
  const count = async (on: Executor, table: string) =>
    (await first(on, `select count(*) as n from ${table}`)).n;
  try {
    await client.execute("PRAGMA journal_mode = WAL");

    await t.step("rows read by index and by column name", async () => {
      const result = await client.execute("select 1 as a, 'x' as b, null as c");
      assert.deepEqual(result.columns, ["a", "b", "c"]);
      const row = result.rows[0]!;
      assert.equal(row[0], 1);
      assert.equal(row[1], "x");
      assert.equal(row[2], null);
      assert.equal(row.length, 3);
      assert.deepEqual(Array.prototype.slice.call(row), [1, "x", null]);
      assert.deepEqual(Object.keys(row), ["a", "b", "c"], "only the names");
      assert.equal(JSON.stringify(row), '{"a":1,"b":"x","c":null}');
      assert.equal(row.a, 1);
      assert.equal(row.b, "x");

      const twice = await client.execute("select 1 as a, 2 as a");
      const dup = twice.rows[0]!;
      assert.deepEqual(twice.columns, ["a", "a"]);
      assert.equal(dup.a, 1, "the first column of a name wins");
      assert.deepEqual(Object.keys(dup), ["a"]);
      assert.deepEqual(Array.prototype.slice.call(dup), [1, 2]);

      const odd = await first(
        client,
        `select 'x' as x, 'by name' as length, 'zero' as "0"`,
      );
      // As in @libsql/client, an index or `length` keeps its meaning over a column of that name.
      assert.equal(odd["length"], 3);
      assert.equal(odd["0"], "x");
      assert.equal(odd.x, "x");
      assert.deepEqual(Object.keys(odd), ["x"]);
    });

    await t.step({
      name: "drizzle reads every field of a table with a column named `length`",
      fn: async () => {
        const clips = sqliteTable("clips", {
          id: integer("id").primaryKey(),
          length: integer("length").notNull(),
        });
        await client.executeMultiple(
          "create table clips (id integer primary key, length integer not null)",
        );
        const db = drizzle(client);
        await db.insert(clips).values([
          { id: 1, length: 0 },
          { id: 2, length: 1 },
          { id: 3, length: 90 },
        ]);
        assert.deepEqual(await db.select().from(clips).orderBy(clips.id), [
          { id: 1, length: 0 },
          { id: 2, length: 1 },
          { id: 3, length: 90 },
        ]);
      },
    });

    await t.step({
      name:
        "a cached statement whose column is named like an index keeps working after wider results",
      fn: async () => {
        // A name far past any index used so far, so the getter does not exist yet.
        const narrow = `select 'seven' as "999"`;
        assert.equal((await first(client, narrow))["999"], "seven");
        const wide = Array.from({ length: 1000 }, (_, i) => `${i}`).join(", ");
        assert.equal((await first(client, `select ${wide}`)).length, 1000);
        const again = await first(client, narrow);
        assert.equal(again["999"], "seven");
        assert.equal(again[0], "seven");
      },
    });

    await t.step(
      "arguments are bound as @libsql/client binds them",
      async () => {
        await client.execute(
          "create table args (b integer, f integer, d integer, n text)",
        );
        const when = new Date(1_700_000_000_123);
        await client.execute({
          sql: "insert into args values (?, ?, ?, ?)",
          args: [true, false, when, null],
        });
        const row = await first(
          client,
          "select b, f, d, n, typeof(d) as td from args",
        );
        assert.equal(row.b, 1);
        assert.equal(row.f, 0);
        assert.equal(row.d, when.getTime());
        assert.equal(row.n, null);
        assert.equal(row.td, "integer");
        const blob = await first(client, {
          sql: "select typeof(?) as t",
          args: [new Uint8Array([1, 2, 3]).buffer],
        });
        assert.equal(blob.t, "blob");

        await assert.rejects(
          client.execute({ sql: "select ?", args: [undefined as never] }),
          TypeError,
        );
        for (const bad of [NaN, Infinity, -Infinity]) {
          await assert.rejects(
            client.execute({ sql: "select ?", args: [bad] }),
            RangeError,
            String(bad),
          );
        }

        const named = await first(client, {
          sql: "select :a as a, :b as b, @c as c, $d as d",
          args: { a: 1, ":b": 2, "@c": 3, "$d": 4 },
        });
        assert.deepEqual({ ...named }, { a: 1, b: 2, c: 3, d: 4 });
        const positional = await client.execute("select ? as x, ? as y", [
          "one",
          2,
        ]);
        assert.deepEqual({ ...positional.rows[0] }, { x: "one", y: 2 });
      },
    );

    await t.step(
      "results: rows affected, last rowid, columns, returning",
      async () => {
        await client.execute(
          "create table results (id integer primary key, v text)",
        );
        const inserted = await client.execute(
          "insert into results (v) values ('a')",
        );
        assert.equal(inserted.rowsAffected, 1);
        assert.equal(inserted.lastInsertRowid, 1n);
        assert.equal(typeof inserted.lastInsertRowid, "bigint");
        assert.deepEqual(inserted.columns, []);
        await client.execute("insert into results (v) values ('b'), ('c')");
        const updated = await client.execute(
          "update results set v = v || '!' where id >= 2",
        );
        assert.equal(updated.rowsAffected, 2);
        const deleted = await client.execute(
          "delete from results where id = 1",
        );
        assert.equal(deleted.rowsAffected, 1);
        const selected = await client.execute(
          "select id, v from results order by id",
        );
        assert.deepEqual(selected.columns, ["id", "v"]);
        assert.deepEqual(selected.rows.map((row) => ({ ...row })), [
          { id: 2, v: "b!" },
          { id: 3, v: "c!" },
        ]);
        const returned = await client.execute(
          "insert into results (v) values ('d') returning id, v",
        );
        assert.deepEqual(returned.columns, ["id", "v"]);
        assert.deepEqual(returned.rows.map((row) => ({ ...row })), [
          { id: 4, v: "d" },
        ]);
        assert.equal(await count(client, "results"), 3);
      },
    );

    await t.step("cached statements give fresh results", async () => {
      await client.execute("create table cached (id integer primary key, v)");
      for (let i = 0; i < 30; i++) {
        assert.equal(await count(client, "cached"), i);
        await client.execute({
          sql: "insert into cached (v) values (?)",
          args: [i],
        });
      }
      const before = await client.execute("select * from cached limit 1");
      assert.deepEqual(before.columns, ["id", "v"]);
      await client.executeMultiple("alter table cached add column c text");
      const after = await client.execute("select * from cached limit 1");
      assert.deepEqual(after.columns, ["id", "v", "c"]);
      assert.deepEqual({ ...after.rows[0] }, { id: 1, v: 0, c: null });
    });

    await t.step(
      "a second connection sees each commit, and only commits",
      async () => {
        const reader = another();
        await client.execute("create table shared (v)");
        for (let i = 1; i <= 5; i++) {
          await client.execute({
            sql: "insert into shared values (?)",
            args: [i],
          });
          assert.equal(await count(reader, "shared"), i, "after an autocommit");
        }
        const tx = await client.transaction("write");
        await tx.execute("insert into shared values (6)");
        assert.equal(await count(tx, "shared"), 6, "inside it");
        assert.equal(await count(reader, "shared"), 5, "not while it is open");
        await tx.commit();
        assert.equal(
          await count(reader, "shared"),
          6,
          "right after its commit",
        );
        const undone = await client.transaction("write");
        await undone.execute("insert into shared values (7)");
        await undone.rollback();
        assert.equal(await count(reader, "shared"), 6);
        await client.execute("insert into shared values (8)");
        assert.equal(await count(reader, "shared"), 7);
      },
    );

    await t.step({
      name:
        "a schema change made on another connection reaches this one's cached statements",
      fn: async () => {
        const reader = another();
        await client.execute("create table widening (a)");
        await client.execute("insert into widening values (1)");
        assert.deepEqual(
          (await reader.execute("select * from widening")).columns,
          ["a"],
        );
        await client.executeMultiple("alter table widening add column b");
        const after = await reader.execute("select * from widening");
        assert.deepEqual(after.columns, ["a", "b"]);
        assert.deepEqual({ ...after.rows[0] }, { a: 1, b: null });
      },
    });

    await t.step("errors are LibsqlErrors with SQLite's codes", async () => {
      await client.execute(
        "create table uniq (id integer primary key, email text unique)",
      );
      await client.execute("insert into uniq (email) values ('a@x')");
      const unique = await rejectsWith(
        client.execute("insert into uniq (email) values ('a@x')"),
        "SQLITE_CONSTRAINT",
      );
      assert.equal(unique.extendedCode, "SQLITE_CONSTRAINT_UNIQUE");
      assert.equal(unique.rawCode, 2067);
      assert.match(unique.message, /UNIQUE/);
      const syntax = await rejectsWith(
        client.execute("selec 1"),
        "SQLITE_ERROR",
      );
      assert.match(syntax.message, /syntax error/);
      await rejectsWith(
        client.execute("select * from no_such_table"),
        "SQLITE_ERROR",
      );

      const tx = await client.transaction("write");
      await tx.execute("insert into uniq (email) values ('b@x')");
      await rejectsWith(
        tx.execute("insert into uniq (email) values ('a@x')"),
        "SQLITE_CONSTRAINT",
      );
      assert.equal(tx.closed, false, "still open after a failed statement");
      await tx.execute("insert into uniq (email) values ('c@x')");
      await tx.commit();
      const emails = await client.execute("select email from uniq order by id");
      assert.deepEqual(emails.rows.map((row) => row.email), [
        "a@x",
        "b@x",
        "c@x",
      ]);
    });

    await t.step(
      "transactions commit, roll back and then are closed",
      async () => {
        const reader = another();
        await client.execute("create table txs (v)");
        const tx = await client.transaction("write");
        assert.equal(tx.closed, false);
        await tx.execute("insert into txs values ('kept')");
        await tx.commit();
        assert.equal(tx.closed, true);
        assert.equal(await count(reader, "txs"), 1);
        await rejectsWith(
          tx.execute("insert into txs values ('late')"),
          "TRANSACTION_CLOSED",
        );

        const undone = await client.transaction("write");
        await undone.execute("insert into txs values ('dropped')");
        assert.equal(undone.closed, false);
        await undone.rollback();
        assert.equal(undone.closed, true);
        await rejectsWith(undone.commit(), "TRANSACTION_CLOSED");
        assert.deepEqual(
          (await client.execute("select v from txs")).rows.map((row) => row.v),
          ["kept"],
        );

        const closedEarly = await client.transaction("write");
        await closedEarly.execute("insert into txs values ('closed')");
        closedEarly.close();
        assert.equal(closedEarly.closed, true);
        assert.equal(await count(client, "txs"), 1);
      },
    );

    await t.step("batch is all or nothing", async () => {
      await client.execute("create table batched (v text unique)");
      const results = await client.batch([
        "insert into batched values ('a')",
        { sql: "insert into batched values (?)", args: ["b"] },
        "select count(*) as n from batched",
      ], "write");
      assert.equal(results.length, 3);
      assert.equal(results[2]!.rows[0]!.n, 2);
      await rejectsWith(
        client.batch([
          "insert into batched values ('c')",
          "insert into batched values ('d')",
          "insert into batched values ('a')",
        ], "write"),
        "SQLITE_CONSTRAINT",
      );
      assert.deepEqual(
        (await client.execute("select v from batched order by v")).rows.map((
          row,
        ) => row.v),
        ["a", "b"],
      );
      // The connection is not left inside the failed batch's transaction.
      const tx = await client.transaction("write");
      await tx.rollback();
    });

    await t.step(
      "migrate runs with foreign keys off, then turns them on",
      async () => {
        await client.execute("PRAGMA foreign_keys = ON");
        await client.executeMultiple(`
        create table parents (id integer primary key);
        create table children (id integer primary key, parent integer references parents(id));
      `);
        await rejectsWith(
          client.execute("insert into children (parent) values (41)"),
          "SQLITE_CONSTRAINT",
        );
        const results = await client.migrate([
          "insert into children (parent) values (42)",
          "insert into parents (id) values (1)",
        ]);
        assert.equal(results.length, 2);
        assert.equal(await count(client, "children"), 1, "the orphan got in");
        assert.equal((await first(client, "PRAGMA foreign_keys"))[0], 1);
        await rejectsWith(
          client.execute("insert into children (parent) values (43)"),
          "SQLITE_CONSTRAINT",
        );
        await client.execute("insert into children (parent) values (1)");

        await rejectsWith(
          client.migrate([
            "insert into parents (id) values (2)",
            "insert into no_such_table values (1)",
          ]),
          "SQLITE_ERROR",
        );
        assert.equal(await count(client, "parents"), 1, "a failed migration");
        assert.equal((await first(client, "PRAGMA foreign_keys"))[0], 1);
      },
    );

    await t.step("a closed client is closed", async () => {
      const other = createLocalClient(path, 5000);
      assert.equal(other.closed, false);
      assert.equal(await count(other, "txs"), 1);
      other.close();
      assert.equal(other.closed, true);
      await rejectsWith(other.execute("select 1"), "CLIENT_CLOSED");
      await rejectsWith(
        other.execute("insert into txs values ('x')"),
        "CLIENT_CLOSED",
      );
      other.close();
      assert.equal(await count(client, "txs"), 1, "the file is still there");
    });
  } finally {
    for (const other of others) other.close();
    client.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("filePath reads the file a file: URL names", () => {
  assert.equal(filePath("file:data/x.db"), "data/x.db");
  assert.equal(filePath("file:/abs/x.db"), "/abs/x.db");
  assert.equal(filePath("file:///abs/x.db"), "/abs/x.db");
  assert.equal(filePath("file://localhost/abs/x.db"), "/abs/x.db");
  assert.equal(filePath("file:data/x.db?mode=ro"), "data/x.db");
  assert.equal(filePath("file:///abs/x.db?mode=ro&cache=shared"), "/abs/x.db");
  assert.equal(filePath("file:/abs/with%20space.db"), "/abs/with space.db");
  assert.equal(filePath("file::memory:"), null);
  assert.equal(filePath("file::memory:?cache=shared"), null);
  assert.equal(filePath("libsql://x.turso.io"), null);
  assert.equal(filePath("https://x.turso.io"), null);
  assert.throws(() => filePath("file://otherhost/x.db"), /otherhost/);
});
