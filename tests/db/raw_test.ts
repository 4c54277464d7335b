import assert from "node:assert/strict";
import { sql } from "drizzle-orm";
import { createDb } from "../../db/client.ts";
import { executeRaw } from "../../db/raw.ts";

Deno.test("executeRaw runs a statement on the database or in its transaction", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "lectern-raw-" });
  const { db, generation, close } = await createDb(`file:${dir}/raw.db`);
  const names = async () =>
    (await executeRaw(db, "select name from items order by id")).rows.map((
      row,
    ) => row.name);
  try {
    await db.run(
      sql`create table items (id integer primary key, name text not null unique, qty integer)`,
    );

    await t.step("writes and reads with positional arguments", async () => {
      const before = generation.value;
      const inserted = await executeRaw(
        db,
        "insert into items (name, qty) values (?, ?), (?, ?)",
        ["a", 1, "b", null],
      );
      assert.equal(inserted.rowsAffected, 2);
      assert.ok(generation.value > before, "the write moved the generation");
      const selected = await executeRaw(
        db,
        "select name, qty from items where qty is ? or name = ? order by id",
        [null, "a"],
      );
      assert.deepEqual(selected.columns, ["name", "qty"]);
      assert.deepEqual(selected.rows.map((row) => ({ ...row })), [
        { name: "a", qty: 1 },
        { name: "b", qty: null },
      ]);
      const updated = await executeRaw(
        db,
        "update items set qty = qty + ? where name = ?",
        [10, "a"],
      );
      assert.equal(updated.rowsAffected, 1);
      assert.deepEqual(
        await db.all(sql`select qty from items where name = 'a'`),
        [{ qty: 11 }],
        "drizzle reads what it wrote",
      );
    });

    await t.step(
      "inside a transaction it is part of the transaction",
      async () => {
        await assert.rejects(
          db.transaction(async (tx) => {
            await executeRaw(tx, "insert into items (name) values (?)", ["c"]);
            const inside = await executeRaw(
              tx,
              "select count(*) as n from items where name = 'c'",
            );
            assert.equal(inside.rows[0]?.n, 1, "visible inside");
            // The database (its reader) does not see it before the commit.
            assert.deepEqual(await names(), ["a", "b"]);
            throw new Error("undo");
          }),
          /undo/,
        );
        assert.deepEqual(await names(), ["a", "b"], "rolled back with it");

        await db.transaction(async (tx) => {
          await executeRaw(tx, "insert into items (name) values (?)", ["d"]);
          await tx.transaction(async (inner) => {
            await executeRaw(inner, "insert into items (name) values (?)", [
              "nested, undone",
            ]);
            throw new Error("inner");
          }).catch(() => {});
        });
        assert.deepEqual(await names(), ["a", "b", "d"], "committed with it");

        await assert.rejects(
          db.transaction(async (tx) => {
            await executeRaw(tx, "insert into items (name) values (?)", ["e"]);
            await executeRaw(tx, "insert into items (name) values (?)", ["a"]);
          }),
          /UNIQUE/,
        );
        assert.deepEqual(await names(), ["a", "b", "d"]);
      },
    );
  } finally {
    close();
    await Deno.remove(dir, { recursive: true });
  }
});
