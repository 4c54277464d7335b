import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import {
  type Client,
  LibsqlError,
  type Transaction,
  type TransactionMode,
} from "@libsql/client";
import { sql } from "drizzle-orm";
import { createDb } from "../../db/client.ts";
import { createLocalClient } from "../../db/local_client.ts";
import { WriteGeneration } from "../../db/write_generation.ts";
import {
  type GroupCommit,
  NO_GROUPING,
  type SerializedClient,
  serializeWrites,
} from "../../db/write_lock.ts";

const GROUPED: GroupCommit = { maxWriters: 50, maxWaitMs: 1000 };

/** One turn of the event loop: the group commit's setImmediate flush gets its chance. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Follows a promise without awaiting it: whether it settled yet, and how. */
function track(promise: Promise<unknown>) {
  const state: { settled?: "resolved" | "rejected"; error?: unknown } = {};
  const done = promise.then(
    () => void (state.settled = "resolved"),
    (error) => {
      state.settled = "rejected";
      state.error = error;
    },
  );
  return { state, done };
}

function assertClosedError(error: unknown) {
  assert.ok(error instanceof LibsqlError, `a LibsqlError, not ${error}`);
  assert.equal(error.code, "TRANSACTION_CLOSED");
}

/**
 * A temp file with table `t`, a reader and a writer client on it, serialized with `grouping`; the
 * writer's `transaction` counts the shared transactions opened.
 */
async function withGrouped(
  grouping: GroupCommit,
  test: (db: {
    client: Client;
    readOnWriter: SerializedClient["readOnWriter"];
    generation: WriteGeneration;
    path: string;
    opened: () => number;
    values: () => Promise<unknown[]>;
  }) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "lectern-group-commit-" });
  const path = `${dir}/group.db`;
  const reader = createLocalClient(path, 5000);
  const writer = createLocalClient(path, 5000);
  await writer.execute("PRAGMA journal_mode = WAL");
  await writer.execute(
    "create table t (id integer primary key, v text unique)",
  );
  let opened = 0;
  const begin: (mode?: TransactionMode) => Promise<Transaction> =
    writer.transaction;
  writer.transaction = function (this: Client, mode?: TransactionMode) {
    opened++;
    return begin.call(this, mode);
  };
  const generation = new WriteGeneration();
  const { client, readOnWriter } = serializeWrites(
    reader,
    generation,
    writer,
    grouping,
  );
  const values = async () =>
    (await client.execute("select v from t order by id")).rows.map((row) =>
      row.v
    );
  try {
    await test({
      client,
      readOnWriter,
      generation,
      path,
      opened: () => opened,
      values,
    });
  } finally {
    client.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A writer inserting `rows` into `t` in a transaction of its own, and committing. */
async function write(client: Client, ...rows: string[]) {
  const tx = await client.transaction("write");
  for (const v of rows) {
    await tx.execute({ sql: "insert into t (v) values (?)", args: [v] });
  }
  await tx.commit();
}

const names = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`);

Deno.test("group commit: writers share SQLite transactions", async (t) => {
  await t.step("concurrent writers share commits", async () => {
    await withGrouped(
      GROUPED,
      async ({ client, opened, values, generation }) => {
        const before = generation.value;
        await Promise.all(names(20).map((v) => write(client, v)));
        assert.deepEqual(await values(), names(20));
        assert.ok(opened() >= 1 && opened() < 20, `${opened()} transactions`);
        assert.ok(generation.value > before);
      },
    );
  });

  await t.step("without grouping each writer commits on its own", async () => {
    await withGrouped(NO_GROUPING, async ({ client, opened, values }) => {
      await Promise.all(names(20).map((v) => write(client, v)));
      assert.deepEqual(await values(), names(20));
      assert.equal(opened(), 20);
    });
  });

  await t.step("a full group commits at once", async () => {
    const grouping = { maxWriters: 3, maxWaitMs: 1000 };
    await withGrouped(grouping, async ({ client, opened, values }) => {
      await Promise.all(names(10).map((v) => write(client, v)));
      assert.deepEqual(await values(), names(10));
      assert.ok(opened() >= 4, `${opened()} transactions for 10 writers`);
    });
  });

  await t.step("a writer's rollback undoes only its own rows", async () => {
    await withGrouped(GROUPED, async ({ client, opened, values }) => {
      const undone = async () => {
        const tx = await client.transaction("write");
        await tx.execute("insert into t (v) values ('undone 1')");
        await tx.execute("insert into t (v) values ('undone 2')");
        await tx.rollback();
        assert.equal(tx.closed, true);
      };
      await Promise.all([
        write(client, "a"),
        write(client, "b1", "b2"),
        undone(),
        write(client, "c"),
      ]);
      assert.equal(opened(), 1, "all four in one shared transaction");
      assert.deepEqual(await values(), ["a", "b1", "b2", "c"]);
    });
  });

  await t.step(
    "a caught constraint error spoils neither its writer nor the group",
    async () => {
      await withGrouped(GROUPED, async ({ client, opened, values }) => {
        const clashing = async () => {
          const tx = await client.transaction("write");
          await tx.execute("insert into t (v) values ('b1')");
          // 'a' is in the shared transaction already, not yet committed.
          await assert.rejects(
            tx.execute("insert into t (v) values ('a')"),
            (error) =>
              error instanceof LibsqlError &&
              error.code === "SQLITE_CONSTRAINT",
          );
          await tx.execute("insert into t (v) values ('b2')");
          await tx.commit();
        };
        // Writers take the queue in the order they start.
        await Promise.all([
          write(client, "a"),
          clashing(),
          assert.rejects(
            client.execute("insert into t (v) values ('b2')"),
            (error) =>
              error instanceof LibsqlError &&
              error.code === "SQLITE_CONSTRAINT",
          ),
          client.execute("insert into t (v) values ('single')"),
          write(client, "c"),
        ]);
        assert.equal(opened(), 1, "one shared transaction");
        assert.deepEqual(await values(), ["a", "b1", "b2", "single", "c"]);
      });
    },
  );

  await t.step(
    "a commit settles only once the shared transaction has committed",
    async () => {
      await withGrouped(GROUPED, async ({ client, values, generation }) => {
        const tx = await client.transaction("write");
        await tx.execute("insert into t (v) values ('early')");
        const before = generation.value;
        const commit = track(tx.commit());
        for (let i = 0; i < 5; i++) await Promise.resolve();
        assert.deepEqual(await values(), [], "the reader sees nothing yet");
        assert.equal(generation.value, before, "nor has the generation moved");
        assert.equal(commit.state.settled, undefined);
        await commit.done;
        assert.equal(commit.state.settled, "resolved");
        assert.deepEqual(await values(), ["early"]);
        assert.ok(generation.value > before);

        // A single statement outside a transaction waits for the commit the same way.
        const between = generation.value;
        const single = track(
          client.execute("insert into t (v) values ('alone')"),
        );
        for (let i = 0; i < 5; i++) await Promise.resolve();
        assert.deepEqual(await values(), ["early"]);
        assert.equal(generation.value, between);
        assert.equal(single.state.settled, undefined);
        await single.done;
        assert.equal(single.state.settled, "resolved");
        assert.deepEqual(await values(), ["early", "alone"]);
        assert.ok(generation.value > between);
      });
    },
  );

  await t.step(
    "a shared transaction rolled back underneath rejects every writer in it",
    async () => {
      await withGrouped(GROUPED, async ({ client, values, generation }) => {
        for (const end of ["commit", "rollback"] as const) {
          const first = client.transaction("write");
          const second = client.transaction("write");
          const a = await first;
          await a.execute({
            sql: "insert into t (v) values (?)",
            args: [`lost with ${end}`],
          });
          // The second writer is waiting: the group stays open for it.
          const committed = track(a.commit());
          const b = await second;
          await b.execute("ROLLBACK");
          assert.equal(b.closed, true);
          const before = generation.value;
          if (end === "commit") {
            await assert.rejects(b.commit(), (error) => {
              assertClosedError(error);
              return true;
            });
          } else {
            await b.rollback();
          }
          await committed.done;
          assert.equal(committed.state.settled, "rejected", `after ${end}`);
          assertClosedError(committed.state.error);
          assert.ok(generation.value > before);
          assert.deepEqual(await values(), []);
        }
        // Writing goes on as usual afterwards.
        await client.execute("insert into t (v) values ('after')");
        await write(client, "after, in a transaction");
        assert.deepEqual(await values(), ["after", "after, in a transaction"]);
      });
    },
  );

  await t.step(
    "statements that run alone commit the pending group first",
    async () => {
      await withGrouped(GROUPED, async ({ client, values }) => {
        const alone: [string, () => Promise<unknown>][] = [
          ["create table", () => client.execute("create table other (x)")],
          ["PRAGMA", () => client.execute("PRAGMA user_version = 7")],
          ["VACUUM", () => client.execute("VACUUM")],
          [
            "batch",
            () =>
              client.batch([
                "insert into other values (1)",
                "delete from other",
              ]),
          ],
          [
            "executeMultiple",
            () => client.executeMultiple("create index other_x on other (x)"),
          ],
          [
            "migrate",
            () => client.migrate(["alter table other add column y text"]),
          ],
        ];
        const expected: string[] = [];
        for (const [label, work] of alone) {
          const tx = await client.transaction("write");
          await tx.execute({
            sql: "insert into t (v) values (?)",
            args: [`before ${label}`],
          });
          expected.push(`before ${label}`);
          // Nobody else is waiting: the commit would happen on the next turn of the event loop.
          const committed = track(tx.commit());
          await work();
          // No turn of the event loop has passed: the statement itself committed the group.
          assert.deepEqual(await values(), expected, label);
          await committed.done;
          assert.equal(committed.state.settled, "resolved", label);
        }
        assert.equal(
          (await client.execute("PRAGMA user_version")).rows[0]?.[0],
          7,
        );
        assert.deepEqual(
          (await client.execute("select * from other")).columns,
          ["x", "y"],
        );
      });
    },
  );

  await t.step("readOnWriter reads with or without an open group", async () => {
    await withGrouped(GROUPED, async ({ client, readOnWriter, path }) => {
      const version = async () => {
        const value = (await readOnWriter("PRAGMA data_version")).rows[0]?.[0];
        assert.equal(typeof value, "number");
        return value;
      };
      const start = await version();

      const tx = await client.transaction("write");
      await tx.execute("insert into t (v) values ('open')");
      // The writer holds the queue: the read must not wait for it.
      const during = track(version());
      await nextTurn();
      assert.equal(
        during.state.settled,
        "resolved",
        String(during.state.error),
      );
      assert.equal(await version(), start);
      const committed = track(tx.commit());
      assert.equal(await version(), start, "while the commit is pending");
      await committed.done;
      assert.equal(committed.state.settled, "resolved");
      assert.equal(await version(), start, "our own commits do not move it");

      const outsider = createLocalClient(path, 5000);
      try {
        await outsider.execute("insert into t (v) values ('theirs')");
      } finally {
        outsider.close();
      }
      assert.notEqual(await version(), start, "another connection's commit");
    });
  });

  await t.step("close commits a pending group", async () => {
    const dir = await Deno.makeTempDir({ prefix: "lectern-group-close-" });
    const path = `${dir}/close.db`;
    try {
      const reader = createLocalClient(path, 5000);
      const writer = createLocalClient(path, 5000);
      await writer.execute("PRAGMA journal_mode = WAL");
      await writer.execute("create table t (v text)");
      const { client } = serializeWrites(
        reader,
        new WriteGeneration(),
        writer,
        GROUPED,
      );
      const tx = await client.transaction("write");
      await tx.execute("insert into t (v) values ('at close')");
      const committed = track(tx.commit());
      // Its savepoint released, it waits in the group for the next turn of the event loop.
      for (let i = 0; i < 5; i++) await Promise.resolve();
      assert.equal(committed.state.settled, undefined);
      client.close();
      assert.equal(writer.closed, true);
      await committed.done;
      assert.equal(committed.state.settled, "resolved");

      const reopened = createLocalClient(path, 5000);
      try {
        const rows = (await reopened.execute("select v from t")).rows;
        assert.deepEqual(rows.map((row) => row.v), ["at close"]);
      } finally {
        reopened.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step({
    name:
      "a finished writer's execute returns a rejected promise, as a Transaction's does",
    fn: async () => {
      await withGrouped(GROUPED, async ({ client }) => {
        const tx = await client.transaction("write");
        await tx.execute("insert into t (v) values ('done')");
        await tx.commit();
        let late: Promise<unknown> | undefined;
        assert.doesNotThrow(() => {
          late = tx.execute("insert into t (v) values ('late')");
        });
        await assert.rejects(late!, (error) => {
          assertClosedError(error);
          return true;
        });
      });
    },
  });
});

Deno.test("group commit through createDb and drizzle", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "lectern-group-drizzle-" });
  const { db, generation, close } = await createDb(`file:${dir}/drizzle.db`);
  const values = async () =>
    (await db.all<{ v: string }>(sql`select v from t order by id`)).map((
      row,
    ) => row.v);
  try {
    await db.run(sql`create table t (id integer primary key, v text unique)`);

    await t.step(
      "a transaction callback that throws loses only its own rows",
      async () => {
        const before = generation.value;
        const failing = db.transaction(async (tx) => {
          await tx.run(sql`insert into t (v) values ('thrown 1')`);
          await tx.run(sql`insert into t (v) values ('thrown 2')`);
          throw new Error("changed my mind");
        });
        const writer = (v: string) =>
          db.transaction(async (tx) => {
            await tx.run(sql`insert into t (v) values (${v})`);
          });
        const [a, thrown, b, single] = await Promise.allSettled([
          writer("a"),
          failing,
          writer("b"),
          db.run(sql`insert into t (v) values ('single')`),
        ]);
        assert.equal(a.status, "fulfilled");
        assert.equal(b.status, "fulfilled");
        assert.equal(single.status, "fulfilled");
        assert.equal(thrown.status, "rejected");
        assert.match(String(thrown.reason), /changed my mind/);
        assert.deepEqual(await values(), ["a", "b", "single"]);
        assert.ok(generation.value > before);
      },
    );

    await t.step(
      "a nested transaction's failure drops only the inner writes",
      async () => {
        await db.run(sql`delete from t`);
        const nested = db.transaction(async (tx) => {
          await tx.run(sql`insert into t (v) values ('outer')`);
          await tx.transaction(async (inner) => {
            await inner.run(sql`insert into t (v) values ('inner')`);
            throw new Error("inner fails");
          }).catch(() => {});
          await tx.transaction(async (inner) => {
            await inner.run(sql`insert into t (v) values ('inner kept')`);
          });
        });
        await Promise.all([
          db.transaction(async (tx) => {
            await tx.run(sql`insert into t (v) values ('before')`);
          }),
          nested,
          db.transaction(async (tx) => {
            await tx.run(sql`insert into t (v) values ('after')`);
          }),
        ]);
        // drizzle starts its transactions a few microtasks apart: compare without order.
        assert.deepEqual((await values()).sort(), [
          "after",
          "before",
          "inner kept",
          "outer",
        ]);
      },
    );
  } finally {
    close();
    await Deno.remove(dir, { recursive: true });
  }
});
