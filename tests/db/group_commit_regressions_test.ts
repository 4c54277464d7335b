import assert from "node:assert/strict";
import { createLocalClient } from "../../db/local_client.ts";
import { WriteGeneration } from "../../db/write_generation.ts";
import { serializeWrites } from "../../db/write_lock.ts";

/** Defects found in review of group commit (decision 016), each kept from coming back. */

async function onTempFile(
  test: (path: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lectern-group-regress-" });
  try {
    await test(`${dir}/t.db`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function open(path: string) {
  return serializeWrites(
    createLocalClient(path, 5000),
    new WriteGeneration(),
    createLocalClient(path, 5000),
    { maxWriters: 50, maxWaitMs: 1000 },
  );
}

/** Resolves with the promise's outcome, or "pending" if it has not settled within `ms`. */
async function within(promise: Promise<unknown>, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve("pending"), ms);
  });
  try {
    return await Promise.race([
      promise.then(() => "resolved", () => "rejected"),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("group commit regressions", async (t) => {
  await t.step(
    "close() while a writer is half way through commits none of its group",
    () =>
      onTempFile(async (path) => {
        const { client } = open(path);
        await client.execute("PRAGMA journal_mode = WAL");
        await client.execute("create table t (v text)");
        // A writer that finished first, then one that stops half way (an import yielding).
        const finished = client.execute("insert into t values ('finished')");
        const tx = await client.transaction("write");
        await tx.execute("insert into t values ('first half')");
        client.close();
        await assert.rejects(
          tx.execute("insert into t values ('second half')"),
        );
        assert.equal(await within(finished, 2000), "rejected");
        const check = createLocalClient(path, 5000);
        try {
          const rows = await check.execute("select v from t");
          assert.deepEqual(rows.rows.map((row) => row[0]), []);
        } finally {
          check.close();
        }
      }),
  );

  await t.step(
    "a readOnWriter queued behind a writer does not leave the group uncommitted",
    () =>
      onTempFile(async (path) => {
        const { client, readOnWriter } = open(path);
        await client.execute("PRAGMA journal_mode = WAL");
        await client.execute("create table t (v text)");
        // Same tick: the write takes the queue, the poll finds no group yet and waits behind it.
        const write = client.execute("insert into t values ('x')");
        const poll = readOnWriter("PRAGMA data_version");
        await poll;
        assert.equal(await within(write, 2000), "resolved");
        // The file's write lock is free again: another connection can write at once.
        const other = createLocalClient(path, 50);
        try {
          await other.execute("insert into t values ('other')");
        } finally {
          other.close();
        }
        const rows = await client.execute("select v from t order by v");
        assert.deepEqual(rows.rows.map((row) => row[0]), ["other", "x"]);
        client.close();
      }),
  );
});
