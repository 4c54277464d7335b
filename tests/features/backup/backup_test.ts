import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import { loadConfig } from "../../../server/env.ts";
import {
  createBackup,
  extractDatabase,
  heartbeat,
  listBackups,
  type Manifest,
  pruneBackups,
  restoreBackup,
  STALE_AFTER_MS,
  verifyBackup,
} from "../../../server/features/backup/service.ts";
import {
  gunzip,
  gzip,
  packTar,
  unpackTar,
} from "../../../server/features/backup/tar.ts";
import { recordEvent } from "../../../server/features/events/record.ts";
import { AppError } from "../../../server/lib/errors.ts";
import { contentKey, sha256Hex } from "../../../server/lib/storage.ts";
import { API_VERSION } from "../../../server/version.ts";
import { MIGRATIONS_FOLDER } from "../../../db/migrate.ts";
import { createTestContext, type TestContext } from "../../helpers/context.ts";
import { makeProgram, makeUser } from "../../helpers/factories.ts";
import { REPO_ROOT } from "../../helpers/cli.ts";

// ---- helpers ------------------------------------------------------------------------------------

async function rejectsWith(
  promise: Promise<unknown>,
  status: number,
  code: string,
): Promise<AppError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof AppError, `expected ${code}, got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.status, status);
  return caught;
}

/** A second DATA_DIR with the same settings as the context, for restores. */
async function secondDataDir(ctx: TestContext, cleanup: string[]) {
  const dataDir = await Deno.makeTempDir({ prefix: "lectern-restore-" });
  cleanup.push(dataDir);
  return {
    dataDir,
    config: loadConfig({ ...ctx.env, DATA_DIR: dataDir }),
    db: `${dataDir}/lectern.db`,
  };
}

/** Runs `work` with a client on a database file, closing it afterwards. */
async function withDb<T>(
  path: string,
  work: (client: ReturnType<typeof createClient>) => Promise<T>,
): Promise<T> {
  const client = createClient({ url: `file:${path}` });
  try {
    return await work(client);
  } finally {
    client.close();
  }
}

async function integrity(path: string): Promise<string> {
  return await withDb(path, async (client) => {
    const result = await client.execute("PRAGMA integrity_check");
    return result.rows.map((row) => String(row[0])).join("; ");
  });
}

async function eventIds(path: string): Promise<Set<string>> {
  return await withDb(path, async (client) => {
    const result = await client.execute("SELECT id FROM events");
    return new Set(result.rows.map((row) => String(row[0])));
  });
}

async function entriesOf(file: string) {
  const entries = unpackTar(await gunzip(await Deno.readFile(file)));
  return new Map(entries.map((entry) => [entry.name, entry.data]));
}

async function snapshotOf(dir: string) {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  let sha = "";
  try {
    sha = await sha256Hex(await Deno.readFile(`${dir}/lectern.db`));
  } catch { /* no database */ }
  return { names: names.sort(), sha };
}

/** Waits (at most 15 s) until `done()` holds; a bound against hangs, not a timing assertion. */
async function until(done: () => boolean, what: string) {
  for (let i = 0; i < 1500 && !done(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(done(), `gave up waiting: ${what}`);
}

async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
) {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop()!;
    for (const line of lines) if (line) onLine(line);
  }
  if (rest) onLine(rest);
}

/** A process of its own writing events through its own connection, printing each committed id. */
const WRITER_SCRIPT = `
import { createClient } from "@libsql/client";
const client = createClient({ url: "file:" + Deno.env.get("WRITER_DB"), timeout: 10000 });
const stop = Deno.env.get("WRITER_STOP");
const started = Date.now();
for (let i = 0; Date.now() - started < 60000; i++) {
  try { Deno.statSync(stop); break; } catch { /* keep writing */ }
  const id = "proc-" + i;
  await client.execute({
    sql: "INSERT INTO events (id, type, payload, created_at) VALUES (?, 'program.viewed', '{}', ?) RETURNING id",
    args: [id, Date.now()],
  });
  console.log(id);
}
client.close();
`;

/** Incompressible but reproducible bytes. */
function noise(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const flip = (bytes: Uint8Array, position: number, mask = 0x01) => {
  const copy = new Uint8Array(bytes);
  copy[position] = copy[position]! ^ mask;
  return copy;
};

// ---- (a) consistency under concurrent writes ----------------------------------------------------

Deno.test("a backup taken while two writers keep committing restores every row acknowledged before it began, and nothing unacknowledged", async () => {
  const ctx = await createTestContext();
  const cleanup: string[] = [];
  const stopFile = `${ctx.dataDir}/stop-writer`;
  let stopApp = false;
  let child: Deno.ChildProcess | undefined;
  try {
    // Writer 1: the app's own connection, yielding to the event loop between inserts as a
    // server's requests would.
    const appAcked: string[] = [];
    const appWriter = (async () => {
      for (let i = 0; !stopApp; i++) {
        appAcked.push(
          await recordEvent(ctx.deps.db, "program.viewed", {
            payload: { writer: "app", i },
          }),
        );
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    })();
    // Writer 2: another process (a second server or a CLI), not paused by this event loop.
    const procAcked: string[] = [];
    child = new Deno.Command(Deno.execPath(), {
      args: ["eval", WRITER_SCRIPT],
      cwd: REPO_ROOT,
      env: {
        WRITER_DB: `${ctx.dataDir}/lectern.db`,
        WRITER_STOP: stopFile,
        DENO_NO_UPDATE_CHECK: "1",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reading = readLines(child.stdout, (id) => procAcked.push(id));
    const errors = new Response(child.stderr).text();

    await until(
      () => appAcked.length >= 20 && procAcked.length >= 20,
      "both writers running",
    );
    const before = { app: appAcked.length, proc: procAcked.length };
    const backup = await createBackup(ctx.deps.config);
    const after = { app: appAcked.length, proc: procAcked.length };
    // Both keep writing after the backup too, so the snapshot really sat among writes.
    await until(
      () =>
        appAcked.length > after.app + 10 && procAcked.length > after.proc + 10,
      "writes after the backup",
    );
    stopApp = true;
    await appWriter;
    await Deno.writeTextFile(stopFile, "");
    const status = await child.status;
    await reading;
    assert.equal(status.code, 0, await errors);
    child = undefined;

    const target = await secondDataDir(ctx, cleanup);
    await restoreBackup(target.config, backup.file);
    assert.equal(await integrity(target.db), "ok");
    const restored = await eventIds(target.db);
    for (const id of appAcked.slice(0, before.app)) {
      assert.ok(restored.has(id), `acknowledged app row ${id} is missing`);
    }
    for (const id of procAcked.slice(0, before.proc)) {
      assert.ok(
        restored.has(id),
        `acknowledged row ${id} of the other process is missing`,
      );
    }
    // At most rows acknowledged later, never anything that was not written.
    const everything = new Set([...appAcked, ...procAcked]);
    for (const id of restored) {
      assert.ok(everything.has(id), `${id} was never acknowledged`);
    }
    // The archive's own copy agrees with the restore, and the live database kept every row.
    assert.equal(backup.manifest.rowCounts.events, restored.size);
    const live = await eventIds(`${ctx.dataDir}/lectern.db`);
    for (const id of everything) assert.ok(live.has(id), `${id} lost live`);
    assert.equal(await integrity(`${ctx.dataDir}/lectern.db`), "ok");
  } finally {
    stopApp = true;
    await Deno.writeTextFile(stopFile, "").catch(() => {});
    if (child) await child.status.catch(() => {});
    await ctx.close();
    for (const dir of cleanup) await Deno.remove(dir, { recursive: true });
  }
});

// ---- (b) media ------------------------------------------------------------------------------------

Deno.test("media files are in the archive and come back on restore; the media that was there is kept aside", async () => {
  const ctx = await createTestContext();
  const cleanup: string[] = [];
  try {
    const files = [
      { bytes: noise(3000, 1), ext: "png" },
      { bytes: noise(70_000, 2), ext: "pdf" },
      { bytes: new Uint8Array(0), ext: "txt" },
    ];
    const keys: string[] = [];
    for (const [i, file] of files.entries()) {
      const key = contentKey(
        await sha256Hex(file.bytes),
        file.ext,
        i === 1 ? "thumbnail" : undefined,
      );
      await ctx.deps.storage.put(key, file.bytes, "application/octet-stream");
      keys.push(key);
    }
    const backup = await createBackup(ctx.deps.config);
    assert.deepEqual(
      backup.manifest.media.map((part) => part.path),
      [...keys].sort(),
    );
    const entries = await entriesOf(backup.file);
    for (const [i, key] of keys.entries()) {
      assert.deepEqual(entries.get(`media/${key}`), files[i]!.bytes, key);
    }

    const target = await secondDataDir(ctx, cleanup);
    await Deno.mkdir(`${target.dataDir}/media/zz`, { recursive: true });
    await Deno.writeTextFile(`${target.dataDir}/media/zz/old.txt`, "old media");
    const restored = await restoreBackup(target.config, backup.file);
    for (const [i, key] of keys.entries()) {
      assert.deepEqual(
        await Deno.readFile(`${target.dataDir}/media/${key}`),
        files[i]!.bytes,
        key,
      );
    }
    await assert.rejects(
      Deno.stat(`${target.dataDir}/media/zz/old.txt`),
      Deno.errors.NotFound,
    );
    const aside = restored.keptAside.find((path) =>
      path.startsWith(`${target.dataDir}/media.before-restore-`)
    );
    assert.ok(aside, JSON.stringify(restored.keptAside));
    assert.equal(await Deno.readTextFile(`${aside}/zz/old.txt`), "old media");
  } finally {
    await ctx.close();
    for (const dir of cleanup) await Deno.remove(dir, { recursive: true });
  }
});

// ---- (c) corruption ----------------------------------------------------------------------------------

Deno.test("one flipped byte in the archive fails verification, and restore refuses without touching the current database", async (t) => {
  const ctx = await createTestContext();
  const cleanup: string[] = [];
  try {
    await ctx.deps.storage.put(
      contentKey(await sha256Hex(new Uint8Array([1, 2, 3])), "png"),
      new Uint8Array([1, 2, 3]),
      "image/png",
    );
    const backup = await createBackup(ctx.deps.config);
    assert.equal((await verifyBackup(backup.file)).ok, true);
    const bytes = await Deno.readFile(backup.file);
    const target = await secondDataDir(ctx, cleanup);
    await restoreBackup(target.config, backup.file, {
      now: new Date("2025-01-01T00:00:00Z"),
    });
    const untouched = await snapshotOf(target.dataDir);
    const corrupt = `${target.dataDir}/corrupt.tar.gz`;

    const positions = {
      "gzip magic": 0,
      "gzip method": 2,
      "gzip flags": 3,
      "gzip time": 5,
      "gzip OS": 9,
      "first byte after the gzip header": 10,
      "early in the deflate stream": 40,
      "middle": Math.floor(bytes.length / 2),
      "gzip CRC32": bytes.length - 8,
      "gzip length": bytes.length - 3,
      "last byte": bytes.length - 1,
    };
    for (const [where, position] of Object.entries(positions)) {
      await t.step(`${where} (byte ${position})`, async () => {
        for (const mask of [0x01, 0x80]) {
          await Deno.writeFile(corrupt, flip(bytes, position, mask));
          const verified = await verifyBackup(corrupt);
          assert.equal(verified.ok, false, `mask ${mask}`);
          assert.ok(verified.problems.length > 0);
          const error = await rejectsWith(
            restoreBackup(target.config, corrupt, { force: true }),
            422,
            "BACKUP_INVALID",
          );
          assert.deepEqual(error.details.problems, verified.problems);
          await rejectsWith(
            extractDatabase(corrupt, `${target.dataDir}/extracted.db`),
            422,
            "BACKUP_INVALID",
          );
          const now = await snapshotOf(target.dataDir);
          assert.equal(now.sha, untouched.sha, "the database changed");
          assert.deepEqual(
            now.names.filter((name) => name !== "corrupt.tar.gz"),
            untouched.names,
          );
        }
      });
    }

    await t.step("a cut-short archive", async () => {
      await Deno.writeFile(corrupt, bytes.slice(0, bytes.length - 100));
      assert.equal((await verifyBackup(corrupt)).ok, false);
      await Deno.writeFile(corrupt, new Uint8Array());
      assert.equal((await verifyBackup(corrupt)).ok, false);
    });

    await t.step("a missing file is 404", async () => {
      await rejectsWith(
        verifyBackup(`${target.dataDir}/nope.tar.gz`),
        404,
        "NOT_FOUND",
      );
    });

    // Well-formed gzip and tar, but the contents disagree with the manifest.
    const entries = unpackTar(await gunzip(bytes));
    const manifest = JSON.parse(
      new TextDecoder().decode(entries[0]!.data),
    ) as Manifest;
    const repack = async (
      changed: { name: string; data: Uint8Array }[],
    ) => await Deno.writeFile(corrupt, await gzip(packTar(changed)));

    await t.step("a media file that does not match its checksum", async () => {
      await repack(
        entries.map((entry) =>
          entry.name.startsWith("media/")
            ? { name: entry.name, data: flip(entry.data, 0) }
            : entry
        ),
      );
      const verified = await verifyBackup(corrupt);
      assert.equal(verified.ok, false);
      assert.match(
        verified.problems.join(),
        /media\/.* does not match its checksum/,
      );
    });

    await t.step(
      "an entry that is not in the manifest, and one missing",
      async () => {
        await repack([
          ...entries.filter((entry) => !entry.name.startsWith("media/")),
          { name: "media/extra.bin", data: new Uint8Array([9]) },
        ]);
        const verified = await verifyBackup(corrupt);
        assert.equal(verified.ok, false);
        assert.match(
          verified.problems.join(),
          /media\/extra\.bin is not in the manifest/,
        );
        assert.match(verified.problems.join(), /is missing/);
      },
    );

    await t.step(
      "a damaged database with a manifest that matches it fails integrity",
      async () => {
        const db = entries.find((entry) => entry.name === "lectern.db")!.data;
        const damaged = db.slice(0, Math.floor(db.length / 2));
        const forged = {
          ...manifest,
          database: {
            ...manifest.database,
            sha256: await sha256Hex(damaged),
            bytes: damaged.length,
          },
        };
        await repack(entries.map((entry) =>
          entry.name === "manifest.json"
            ? {
              name: entry.name,
              data: new TextEncoder().encode(JSON.stringify(forged)),
            }
            : entry.name === "lectern.db"
            ? { name: entry.name, data: damaged }
            : entry
        ));
        const verified = await verifyBackup(corrupt);
        assert.equal(verified.ok, false);
        assert.match(
          verified.problems.join(),
          /integrity_check|cannot be opened/,
        );
      },
    );

    await t.step("an unknown format", async () => {
      await repack(entries.map((entry) =>
        entry.name === "manifest.json"
          ? {
            name: entry.name,
            data: new TextEncoder().encode(
              JSON.stringify({ ...manifest, format: "other/9" }),
            ),
          }
          : entry
      ));
      assert.match(
        (await verifyBackup(corrupt)).problems.join(),
        /unknown format other\/9/,
      );
    });

    const final = await snapshotOf(target.dataDir);
    assert.equal(final.sha, untouched.sha);
  } finally {
    await ctx.close();
    for (const dir of cleanup) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a flipped bit anywhere in the gzip header (bytes 0-9) fails verification, and restore refuses", async () => {
  const ctx = await createTestContext();
  const cleanup: string[] = [];
  try {
    const backup = await createBackup(ctx.deps.config);
    const bytes = await Deno.readFile(backup.file);
    // What CompressionStream writes: magic, deflate, no flags, no time, no XFL, unknown OS.
    assert.deepEqual(
      [...bytes.slice(0, 10)],
      [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff],
    );
    assert.equal((await verifyBackup(backup.file)).ok, true);
    const target = await secondDataDir(ctx, cleanup);
    const corrupt = `${target.dataDir}/corrupt.tar.gz`;
    for (let position = 0; position < 10; position++) {
      for (const mask of [0x01, 0x80]) {
        const what = `byte ${position}, mask ${mask}`;
        await Deno.writeFile(corrupt, flip(bytes, position, mask));
        const verified = await verifyBackup(corrupt);
        assert.equal(verified.ok, false, what);
        assert.deepEqual(
          verified.problems,
          ["the archive's gzip header is not the one Lectern writes"],
          what,
        );
        await rejectsWith(
          restoreBackup(target.config, corrupt, { force: true }),
          422,
          "BACKUP_INVALID",
        );
      }
    }
    // Nothing was restored: the target still has no database.
    await assert.rejects(Deno.stat(target.db), Deno.errors.NotFound);
  } finally {
    await ctx.close();
    for (const dir of cleanup) await Deno.remove(dir, { recursive: true });
  }
});

// ---- (d) prune ----------------------------------------------------------------------------------------

Deno.test("prune keeps exactly the newest N archives and nothing else is touched", async () => {
  const ctx = await createTestContext();
  const dir = `${ctx.dataDir}/prune-here`;
  try {
    const keep = 2;
    const created: string[] = [];
    for (let day = 1; day <= keep + 3; day++) {
      const backup = await createBackup(ctx.deps.config, {
        dir,
        now: new Date(`2025-03-0${day}T04:05:06Z`),
      });
      created.push(backup.file.slice(dir.length + 1));
    }
    await Deno.writeTextFile(`${dir}/notes.txt`, "mine");
    await Deno.writeTextFile(
      `${dir}/lectern-by-hand.tar.gz`,
      "not one of ours",
    );

    const listed = await listBackups(dir);
    assert.deepEqual(listed.map((b) => b.name), [...created].reverse());
    assert.equal(listed[0]!.createdAt, "2025-03-05T04:05:06.000Z");
    assert.equal(listed[0]!.file, `${dir}/${created.at(-1)}`);
    assert.equal(listed[0]!.bytes, (await Deno.stat(listed[0]!.file)).size);

    assert.deepEqual(await pruneBackups(dir, 10), []);
    assert.deepEqual(await pruneBackups(dir, keep + 3), []);
    assert.equal((await listBackups(dir)).length, keep + 3);

    const deleted = await pruneBackups(dir, keep);
    assert.deepEqual(deleted.sort(), created.slice(0, 3).sort());
    assert.deepEqual(
      (await listBackups(dir)).map((b) => b.name),
      created.slice(3).reverse(),
    );
    assert.equal(await Deno.readTextFile(`${dir}/notes.txt`), "mine");
    await Deno.stat(`${dir}/lectern-by-hand.tar.gz`);
    assert.deepEqual(await pruneBackups(dir, keep), []);

    for (const bad of [0, -1, 1.5, Number.NaN]) {
      const error = await rejectsWith(
        pruneBackups(dir, bad),
        422,
        "VALIDATION_FAILED",
      );
      assert.ok((error.details.fields as Record<string, string>).keep);
    }
    assert.equal((await listBackups(dir)).length, keep);
    assert.deepEqual(await pruneBackups(`${dir}/missing`, 1), []);
    assert.deepEqual(await listBackups(`${dir}/missing`), []);
  } finally {
    await ctx.close();
  }
});

Deno.test("archive names carry milliseconds; listBackups and pruneBackups also take the older names without them", async () => {
  const ctx = await createTestContext();
  const dir = `${ctx.dataDir}/names`;
  try {
    const at = new Date("2025-09-10T11:12:13.456Z");
    const backup = await createBackup(ctx.deps.config, { dir, now: at });
    const name = backup.file.slice(dir.length + 1);
    assert.match(name, /^lectern-20250910T111213456Z-[0-9a-z]{6}\.tar\.gz$/);
    assert.equal(backup.manifest.createdAt, "2025-09-10T11:12:13.456Z");
    // Two backups in the same second get different names, in time order.
    const later = await createBackup(ctx.deps.config, {
      dir,
      now: new Date("2025-09-10T11:12:13.789Z"),
    });
    const laterName = later.file.slice(dir.length + 1);
    assert.notEqual(laterName, name);

    // Archives written before the names had milliseconds (a copy will do).
    const oldNames = [
      "lectern-20250910T111212Z-old001.tar.gz",
      "lectern-20240101T000000Z-old002.tar.gz",
    ];
    for (const old of oldNames) {
      await Deno.copyFile(backup.file, `${dir}/${old}`);
    }
    const listed = await listBackups(dir);
    assert.deepEqual(listed.map((b) => b.name), [
      laterName,
      name,
      ...oldNames,
    ]);
    assert.deepEqual(listed.map((b) => b.createdAt), [
      "2025-09-10T11:12:13.789Z",
      "2025-09-10T11:12:13.456Z",
      "2025-09-10T11:12:12.000Z",
      "2024-01-01T00:00:00.000Z",
    ]);
    for (const b of listed) {
      assert.equal(new Date(b.createdAt).toISOString(), b.createdAt);
    }
    assert.equal((await verifyBackup(`${dir}/${oldNames[0]}`)).ok, true);

    assert.deepEqual(await pruneBackups(dir, 2), oldNames);
    assert.deepEqual((await listBackups(dir)).map((b) => b.name), [
      laterName,
      name,
    ]);
  } finally {
    await ctx.close();
  }
});

// ---- (e) the lock -------------------------------------------------------------------------------------

/** `sleep 5`, standing in for another live process (a second CLI, a running server). */
function liveProcess() {
  const child = new Deno.Command("sleep", {
    args: ["5"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  return {
    pid: child.pid,
    async stop() {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
    },
  };
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const finished = new Deno.Command("true").spawn();
  await finished.status;
  return finished.pid;
}

/** Sets a file's access and modification times to `ms` ago, as if its holder stopped touching it. */
async function age(path: string, ms: number) {
  const then = new Date(Date.now() - ms);
  await Deno.utime(path, then, then);
}

const base = (path: string) => path.slice(path.lastIndexOf("/") + 1);

const escapeRe = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

Deno.test("heartbeat keeps a file's modification time fresh until it is stopped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lectern-heartbeat-" });
  const path = `${dir}/.backup.lock`;
  try {
    await Deno.writeTextFile(path, "123");
    await age(path, 10 * STALE_AFTER_MS);
    const stale = (await Deno.stat(path)).mtime!.getTime();
    assert.ok(Date.now() - stale > STALE_AFTER_MS);
    const stop = heartbeat(path);
    try {
      const fresh = async () =>
        Date.now() - (await Deno.stat(path)).mtime!.getTime() < 2_000;
      // The heartbeat beats every 5 s: well within 10 s, the file is touched.
      for (let i = 0; i < 100 && !await fresh(); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(await fresh(), "the heartbeat never touched the file");
      assert.equal(await Deno.readTextFile(path), "123", "content unchanged");
    } finally {
      stop(); // a timer left running fails this test (the op sanitizer)
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a fresh backup lock is 409 BACKUP_RUNNING whatever process it names, until nobody has touched it for STALE_AFTER_MS (2 min)", async () => {
  const ctx = await createTestContext();
  const dir = `${ctx.dataDir}/locked`;
  const lock = `${dir}/.backup.lock`;
  const holder = liveProcess();
  try {
    await Deno.mkdir(dir, { recursive: true });
    const contents = [
      String(holder.pid),
      String(await deadPid()),
      String(Deno.pid),
      "",
      "garbage",
    ];
    for (const content of contents) {
      await Deno.writeTextFile(lock, content);
      const error = await rejectsWith(
        createBackup(ctx.deps.config, { dir }),
        409,
        "BACKUP_RUNNING",
      );
      if (content) {
        assert.match(error.message, new RegExp(`\\(process ${content}\\)`));
      } else {
        assert.doesNotMatch(error.message, /process/);
      }
      assert.equal(await Deno.readTextFile(lock), content);
      assert.deepEqual(await listBackups(dir), []);
    }

    // Not touched for a while, but less than STALE_AFTER_MS: its holder may just be slow.
    await Deno.writeTextFile(lock, String(holder.pid));
    await age(lock, STALE_AFTER_MS - 5_000);
    await rejectsWith(
      createBackup(ctx.deps.config, { dir }),
      409,
      "BACKUP_RUNNING",
    );
    assert.equal(await Deno.readTextFile(lock), String(holder.pid));
    assert.deepEqual(await listBackups(dir), []);

    // Not touched for more than STALE_AFTER_MS: its holder is gone (even if the pid is reused).
    await age(lock, STALE_AFTER_MS + 1_000);
    const backup = await createBackup(ctx.deps.config, { dir });
    assert.equal((await verifyBackup(backup.file)).ok, true);
    await assert.rejects(Deno.stat(lock), Deno.errors.NotFound);
    assert.equal((await listBackups(dir)).length, 1);
  } finally {
    await holder.stop();
    await ctx.close();
  }
});

Deno.test("one backup at a time: a stale lock is taken over, a second backup in this process is 409 BACKUP_RUNNING", async (t) => {
  const ctx = await createTestContext();
  const dir = `${ctx.dataDir}/locked`;
  const lock = `${dir}/.backup.lock`;
  try {
    await Deno.mkdir(dir, { recursive: true });

    await t.step(
      "a lock not touched for STALE_AFTER_MS is taken over, whatever it names",
      async () => {
        const contents = [String(await deadPid()), String(Deno.pid), "", "x"];
        for (const [i, content] of contents.entries()) {
          await Deno.writeTextFile(lock, content);
          await age(lock, i % 2 ? 86_400_000 : STALE_AFTER_MS + 1_000);
          const backup = await createBackup(ctx.deps.config, { dir });
          assert.equal((await verifyBackup(backup.file)).ok, true);
          await assert.rejects(Deno.stat(lock), Deno.errors.NotFound);
        }
        assert.equal((await listBackups(dir)).length, contents.length);
      },
    );

    await t.step(
      "two at once in this process: one runs, one is refused",
      async () => {
        const before = (await listBackups(dir)).length;
        const results = await Promise.allSettled([
          createBackup(ctx.deps.config, { dir }),
          createBackup(ctx.deps.config, { dir }),
        ]);
        const refused = results.filter((r) => r.status === "rejected");
        assert.equal(refused.length, 1, JSON.stringify(results));
        const reason = (refused[0] as PromiseRejectedResult).reason;
        assert.ok(
          reason instanceof AppError && reason.code === "BACKUP_RUNNING",
          String(reason),
        );
        assert.match(reason.message, new RegExp(`process ${Deno.pid}\\b`));
        assert.equal((await listBackups(dir)).length, before + 1);
        await assert.rejects(Deno.stat(lock), Deno.errors.NotFound);
        await createBackup(ctx.deps.config, { dir });
        assert.equal((await listBackups(dir)).length, before + 2);
      },
    );

    await t.step(
      "a failed backup releases the lock and leaves no snapshot behind",
      async () => {
        const config = {
          ...ctx.deps.config,
          databaseUrl: `file:${dir}/nope/none.db`,
        };
        await assert.rejects(createBackup(config, { dir }));
        for await (const entry of Deno.readDir(dir)) {
          assert.ok(!entry.name.startsWith("."), entry.name);
        }
        // Released: the next backup is not refused.
        await createBackup(ctx.deps.config, { dir });
      },
    );

    await t.step(
      "a killed backup's snapshot and half-written archive are removed by the next one, once it holds the lock",
      async () => {
        const leftovers = [
          ".snapshot-zzzzzz.db",
          "lectern-20250101T000000000Z-zzzzzz.tar.gz.part",
        ];
        for (const name of leftovers) {
          await Deno.writeTextFile(`${dir}/${name}`, "left by a killed backup");
        }
        await Deno.writeTextFile(`${dir}/notes.txt`, "mine");
        // While another backup holds the lock, they may be its own: left alone.
        await Deno.writeTextFile(lock, "another");
        await rejectsWith(
          createBackup(ctx.deps.config, { dir }),
          409,
          "BACKUP_RUNNING",
        );
        for (const name of leftovers) await Deno.stat(`${dir}/${name}`);
        await Deno.remove(lock);
        await createBackup(ctx.deps.config, { dir });
        for (const name of leftovers) {
          await assert.rejects(
            Deno.stat(`${dir}/${name}`),
            Deno.errors.NotFound,
            name,
          );
        }
        assert.equal(await Deno.readTextFile(`${dir}/notes.txt`), "mine");
      },
    );

    await t.step("only a local file database can be backed up", async () => {
      for (const databaseUrl of ["libsql://db.example.com", "file::memory:"]) {
        await rejectsWith(
          createBackup({ ...ctx.deps.config, databaseUrl }, { dir }),
          422,
          "NOT_A_FILE_DATABASE",
        );
      }
    });
  } finally {
    await ctx.close();
  }
});

// ---- (f) restore while a server runs ----------------------------------------------------------------

/** A backup of a database with one event, restored into a second DATA_DIR that then gets a row of its own. */
async function restoreTarget(ctx: TestContext, cleanup: string[]) {
  const inBackup = await recordEvent(ctx.deps.db, "program.viewed", {});
  const backup = await createBackup(ctx.deps.config);
  const target = await secondDataDir(ctx, cleanup);
  await restoreBackup(target.config, backup.file, {
    now: new Date("2025-01-01T00:00:00Z"),
  });
  await withDb(target.db, (client) =>
    client.execute(
      "INSERT INTO events (id, type, payload, created_at) VALUES ('only-in-old', 'program.viewed', '{}', 0)",
    ));
  return { backup, target, inBackup, onlyOld: "only-in-old" };
}

/** The kept-aside database of a restore at `time` (`20250203T040506000Z`): the stamp and a random id. */
const asidePattern = (db: string, time: string) =>
  new RegExp(`^${escapeRe(db)}\\.before-restore-${time}-[0-9a-z]{4}$`);

Deno.test("restore refuses with 409 SERVER_RUNNING while server.pid is fresh, whatever process it names (this one too); a stale one does not block", async () => {
  const ctx = await createTestContext();
  const cleanup: string[] = [];
  const server = liveProcess();
  try {
    const { backup, target, inBackup, onlyOld } = await restoreTarget(
      ctx,
      cleanup,
    );
    const pidFile = `${target.dataDir}/server.pid`;
    const before = await snapshotOf(target.dataDir);
    // The pid means nothing (pids are reused, and every container has its own): only the heartbeat.
    const contents = [
      String(server.pid),
      String(await deadPid()),
      String(Deno.pid),
      "",
      "x",
    ];
    for (const content of contents) {
      await Deno.writeTextFile(pidFile, content);
      const error = await rejectsWith(
        restoreBackup(target.config, backup.file),
        409,
        "SERVER_RUNNING",
      );
      assert.match(
        error.message,
        new RegExp(`\\(process ${content || "unknown"}\\)`),
      );
      assert.deepEqual(await snapshotOf(target.dataDir), {
        ...before,
        names: [...before.names, "server.pid"].sort(),
      });
      assert.ok((await eventIds(target.db)).has(onlyOld));
    }

    // 25 s without a heartbeat: the server may just be busy.
    await Deno.writeTextFile(pidFile, String(server.pid));
    await age(pidFile, STALE_AFTER_MS - 5_000);
    await rejectsWith(
      restoreBackup(target.config, backup.file),
      409,
      "SERVER_RUNNING",
    );
    assert.ok((await eventIds(target.db)).has(onlyOld));

    // More than 30 s: the server that wrote it is gone.
    await age(pidFile, STALE_AFTER_MS + 1_000);
    const restored = await restoreBackup(target.config, backup.file, {
      now: new Date("2025-02-03T04:05:06.007Z"),
    });
    const aside = restored.keptAside.find((path) =>
      asidePattern(target.db, "20250203T040506007Z").test(path)
    );
    assert.ok(aside, JSON.stringify(restored.keptAside));
    assert.ok((await eventIds(aside)).has(onlyOld));
    const now = await eventIds(target.db);
    assert.ok(now.has(inBackup) && !now.has(onlyOld));
    // The pid file is the server's, not the restore's business.
    assert.equal(await Deno.readTextFile(pidFile), String(server.pid));
  } finally {
    await server.stop();
    await ctx.close();
    for (const dir of cleanup) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restore with force while server.pid is fresh: restored, and the old database kept aside and readable", async (t) => {
  const ctx = await createTestContext();
  const cleanup: string[] = [];
  const server = liveProcess();
  try {
    const { backup, target, inBackup, onlyOld } = await restoreTarget(
      ctx,
      cleanup,
    );
    const pidFile = `${target.dataDir}/server.pid`;
    await Deno.writeTextFile(pidFile, String(server.pid));

    await t.step("with force", async () => {
      const restored = await restoreBackup(target.config, backup.file, {
        force: true,
        now: new Date("2025-02-03T04:05:06Z"),
      });
      const aside = restored.keptAside.find((path) =>
        asidePattern(target.db, "20250203T040506000Z").test(path)
      );
      assert.ok(aside, JSON.stringify(restored.keptAside));
      assert.deepEqual(restored.manifest, backup.manifest);
      const old = await eventIds(aside);
      assert.ok(old.has(onlyOld) && old.has(inBackup));
      assert.equal(await integrity(aside), "ok");
      const now = await eventIds(target.db);
      assert.ok(now.has(inBackup) && !now.has(onlyOld));
      assert.equal(await integrity(target.db), "ok");
      // The pid file is the server's, not the restore's business.
      assert.equal(await Deno.readTextFile(pidFile), String(server.pid));
    });

    await t.step(
      "a stale server.pid, whatever it names, or none at all",
      async () => {
        const cases: { content: string | null; stale: boolean }[] = [
          { content: String(Deno.pid), stale: true },
          { content: String(server.pid), stale: true },
          { content: String(await deadPid()), stale: true },
          { content: "", stale: true },
          { content: "x", stale: true },
          { content: null, stale: false },
        ];
        for (const [i, { content, stale }] of cases.entries()) {
          if (content === null) {
            await Deno.remove(pidFile);
          } else {
            await Deno.writeTextFile(pidFile, content);
            if (stale) await age(pidFile, STALE_AFTER_MS + 1_000);
          }
          const restored = await restoreBackup(target.config, backup.file, {
            now: new Date(`2025-04-0${i + 1}T00:00:00Z`),
          });
          assert.ok(
            restored.keptAside.some((path) =>
              asidePattern(target.db, `2025040${i + 1}T000000000Z`).test(path)
            ),
            `${JSON.stringify(content)}: ${JSON.stringify(restored.keptAside)}`,
          );
        }
      },
    );
  } finally {
    await server.stop();
    await ctx.close();
    for (const dir of cleanup) await Deno.remove(dir, { recursive: true });
  }
});

/** A database in WAL mode whose commits are not checkpointed: `marker` holds 'a'. */
async function walDatabase(path: string) {
  const client = createClient({ url: `file:${path}` });
  await client.execute("PRAGMA journal_mode = WAL");
  await client.execute("PRAGMA wal_autocheckpoint = 0");
  await client.execute("CREATE TABLE marker (v TEXT)");
  await client.execute("INSERT INTO marker VALUES ('a')");
  return client;
}

const markers = (path: string) =>
  withDb(
    path,
    async (client) =>
      (await client.execute("SELECT v FROM marker ORDER BY v")).rows.map((
        row,
      ) => String(row[0])),
  );

/** The restored database must not have picked up the old WAL, and none may sit beside it. */
async function noOldWal(db: string) {
  for (const suffix of ["-wal", "-shm", "-journal"]) {
    await assert.rejects(Deno.stat(`${db}${suffix}`), Deno.errors.NotFound);
  }
  assert.equal(await integrity(db), "ok");
  const tables = await withDb(db, async (client) =>
    (await client.execute(
      "SELECT name FROM sqlite_master WHERE name = 'marker'",
    )).rows);
  assert.equal(tables.length, 0, "the restored database got the old WAL");
}

Deno.test("a crashed server's WAL: the kept-aside database has its commits, even as a lone file, and the restored one none", async () => {
  const ctx = await createTestContext();
  const cleanup: string[] = [];
  try {
    const backup = await createBackup(ctx.deps.config);
    const target = await secondDataDir(ctx, cleanup);
    // A database whose last commits are only in its WAL, as a crashed server leaves it.
    const crashed = await Deno.makeTempDir();
    cleanup.push(crashed);
    const client = await walDatabase(`${crashed}/lectern.db`);
    for (const name of ["lectern.db", "lectern.db-wal", "lectern.db-shm"]) {
      await Deno.copyFile(`${crashed}/${name}`, `${target.dataDir}/${name}`);
    }
    client.close();
    assert.ok((await Deno.stat(`${target.db}-wal`)).size > 0);

    const restored = await restoreBackup(target.config, backup.file, {
      now: new Date("2025-05-06T07:08:09.010Z"),
    });
    const aside = restored.keptAside.find((path) =>
      asidePattern(target.db, "20250506T070809010Z").test(path)
    );
    assert.ok(aside, JSON.stringify(restored.keptAside));
    // Whatever of the WAL and shared memory is kept, it is under SQLite's names for the copy.
    for (const path of restored.keptAside) {
      if (!path.startsWith(target.db)) continue;
      assert.ok(
        [aside, `${aside}-wal`, `${aside}-shm`].includes(path),
        `${path} is not where SQLite looks`,
      );
    }
    // Nothing holds the old database, so its WAL is folded in first: the copy is whole on its own
    // (the file alone, copied elsewhere, has the commits).
    const alone = await Deno.makeTempDir();
    cleanup.push(alone);
    await Deno.copyFile(aside, `${alone}/old.db`);
    assert.deepEqual(await markers(`${alone}/old.db`), ["a"]);
    assert.deepEqual(await markers(aside), ["a"]);
    assert.equal(await integrity(aside), "ok");
    await noOldWal(target.db);
  } finally {
    await ctx.close();
    for (const dir of cleanup) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restore --force under a connection still reading: the WAL it cannot fold in is kept beside the copy as <copy>-wal, and opening the copy shows its commits", async () => {
  const ctx = await createTestContext();
  const cleanup: string[] = [];
  let writer: ReturnType<typeof createClient> | undefined;
  let reader: ReturnType<typeof createClient> | undefined;
  try {
    const backup = await createBackup(ctx.deps.config);
    const target = await secondDataDir(ctx, cleanup);
    // A server's connections: one in a read transaction (so no checkpoint can pass it), one
    // committing after it began, so that commit is only in the WAL.
    writer = await walDatabase(target.db);
    reader = createClient({ url: `file:${target.db}` });
    const reading = await reader.transaction("read");
    assert.equal(
      (await reading.execute("SELECT count(*) FROM marker"))
        .rows[0]![0],
      1,
    );
    await writer.execute("INSERT INTO marker VALUES ('b')");

    const restored = await restoreBackup(target.config, backup.file, {
      force: true,
      now: new Date("2025-05-06T07:08:09.011Z"),
    });
    const aside = restored.keptAside.find((path) =>
      asidePattern(target.db, "20250506T070809011Z").test(path)
    );
    assert.ok(aside, JSON.stringify(restored.keptAside));
    assert.ok(
      restored.keptAside.includes(`${aside}-wal`),
      JSON.stringify(restored.keptAside),
    );
    assert.ok((await Deno.stat(`${aside}-wal`)).size > 0);
    // Read while the old connections are still open: nothing has folded the WAL in yet.
    assert.deepEqual(await markers(aside), ["a", "b"]);
    await noOldWal(target.db);
    reading.close();
  } finally {
    reader?.close();
    writer?.close();
    await ctx.close();
    for (const dir of cleanup) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two restores in the same millisecond keep both previous databases", async () => {
  const ctx = await createTestContext();
  const cleanup: string[] = [];
  try {
    const backup = await createBackup(ctx.deps.config);
    const target = await secondDataDir(ctx, cleanup);
    await restoreBackup(target.config, backup.file, {
      now: new Date("2025-01-01T00:00:00Z"),
    });
    const mark = (id: string) =>
      withDb(target.db, (client) =>
        client.execute({
          sql:
            "INSERT INTO events (id, type, payload, created_at) VALUES (?, 'program.viewed', '{}', 0)",
          args: [id],
        }));
    await mark("original");
    await Deno.mkdir(`${target.dataDir}/media/aa`, { recursive: true });
    await Deno.writeTextFile(`${target.dataDir}/media/aa/first.txt`, "first");
    const same = new Date("2025-06-01T12:00:00.100Z");
    const second = await restoreBackup(target.config, backup.file, {
      now: same,
    });
    await mark("between");
    await Deno.mkdir(`${target.dataDir}/media/aa`, { recursive: true });
    await Deno.writeTextFile(`${target.dataDir}/media/aa/second.txt`, "2nd");
    const third = await restoreBackup(target.config, backup.file, {
      now: same,
    });

    const secondAside = second.keptAside.find((path) =>
      asidePattern(target.db, "20250601T120000100Z").test(path)
    );
    const thirdAside = third.keptAside.find((path) =>
      asidePattern(target.db, "20250601T120000100Z").test(path)
    );
    assert.ok(secondAside && thirdAside, JSON.stringify([second, third]));
    assert.notEqual(secondAside, thirdAside);
    const first = await eventIds(secondAside);
    assert.ok(first.has("original") && !first.has("between"));
    assert.ok((await eventIds(thirdAside)).has("between"));

    const asides: string[] = [];
    for await (const entry of Deno.readDir(target.dataDir)) {
      if (/^lectern\.db\.before-restore-[^-]+-[0-9a-z]{4}$/.test(entry.name)) {
        asides.push(entry.name);
      }
    }
    // The first restore found nothing to keep aside; the next two, one each.
    assert.deepEqual(
      asides.sort(),
      [secondAside, thirdAside].map((path) => base(path)).sort(),
    );

    // The media folders were kept apart the same way.
    const media = [second, third].map((r) =>
      r.keptAside.find((path) =>
        path.startsWith(`${target.dataDir}/media.before-restore-`)
      )!
    );
    assert.notEqual(media[0], media[1]);
    assert.equal(await Deno.readTextFile(`${media[0]}/aa/first.txt`), "first");
    assert.equal(await Deno.readTextFile(`${media[1]}/aa/second.txt`), "2nd");
  } finally {
    await ctx.close();
    for (const dir of cleanup) await Deno.remove(dir, { recursive: true });
  }
});

// ---- (g) the manifest ------------------------------------------------------------------------------

Deno.test("the manifest: row counts equal the real counts, the schema matches the migrations, checksums match", async () => {
  const ctx = await createTestContext();
  try {
    const admin = await makeUser(ctx, { role: "admin" });
    const instructor = await makeUser(ctx, { role: "instructor" });
    for (let i = 0; i < 3; i++) await makeUser(ctx);
    await makeProgram(ctx, instructor);
    await makeProgram(ctx, admin, { status: "draft" });
    for (let i = 0; i < 7; i++) {
      await recordEvent(ctx.deps.db, "program.viewed", { userId: admin.id });
    }
    const media = new TextEncoder().encode("a certificate, say");
    const key = contentKey(await sha256Hex(media), "pdf");
    await ctx.deps.storage.put(key, media, "application/pdf");
    const now = new Date("2025-07-08T09:10:11.123Z");

    const backup = await createBackup(ctx.deps.config, { now });
    const { manifest } = backup;

    const real = await withDb(`${ctx.dataDir}/lectern.db`, async (client) => {
      const tables = await client.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      );
      const counts: Record<string, number> = {};
      for (const row of tables.rows) {
        const name = String(row[0]);
        const counted = await client.execute(`SELECT count(*) FROM "${name}"`);
        counts[name] = Number(counted.rows[0]![0]);
      }
      const last = await client.execute(
        "SELECT hash FROM __drizzle_migrations ORDER BY created_at DESC LIMIT 1",
      );
      return { counts, last: String(last.rows[0]![0]) };
    });
    assert.deepEqual(manifest.rowCounts, real.counts);
    assert.equal(manifest.rowCounts.users, 5);
    assert.equal(manifest.rowCounts.events, 7);
    assert.ok(manifest.rowCounts.programs! >= 2);

    const journal = JSON.parse(
      await Deno.readTextFile(`${MIGRATIONS_FOLDER}/meta/_journal.json`),
    ) as { entries: unknown[] };
    assert.equal(manifest.schema.migrations, journal.entries.length);
    assert.equal(manifest.schema.last, real.last);

    assert.equal(manifest.format, "lectern-backup/1");
    assert.equal(manifest.appVersion, API_VERSION);
    assert.equal(manifest.createdAt, now.toISOString());
    assert.match(
      backup.file,
      /\/backups\/lectern-20250708T091011123Z-[0-9a-z]{6}\.tar\.gz$/,
    );

    const bytes = await Deno.readFile(backup.file);
    assert.equal(backup.bytes, bytes.length);
    assert.equal(backup.sha256, await sha256Hex(bytes));

    const entries = await entriesOf(backup.file);
    assert.deepEqual([...entries.keys()], [
      "manifest.json",
      "lectern.db",
      `media/${key}`,
      "keys/credential_signing_key.jwk",
    ]);
    // The school's signing key in DATA_DIR goes along, so credentials verify after a restore.
    const signingKey = await Deno.readFile(
      `${ctx.dataDir}/credential_signing_key.jwk`,
    );
    assert.deepEqual(
      entries.get("keys/credential_signing_key.jwk"),
      signingKey,
    );
    assert.deepEqual(manifest.signingKey, {
      path: "keys/credential_signing_key.jwk",
      sha256: await sha256Hex(signingKey),
      bytes: signingKey.length,
    });
    assert.deepEqual(
      JSON.parse(new TextDecoder().decode(entries.get("manifest.json"))),
      manifest,
    );
    const db = entries.get("lectern.db")!;
    assert.deepEqual(manifest.database, {
      path: "lectern.db",
      sha256: await sha256Hex(db),
      bytes: db.length,
    });
    assert.deepEqual(manifest.media, [{
      path: key,
      sha256: await sha256Hex(media),
      bytes: media.length,
    }]);

    const verified = await verifyBackup(backup.file);
    assert.deepEqual(verified.problems, []);
    assert.deepEqual(verified.manifest, manifest);

    // The extracted database is the one the manifest describes.
    const extracted = `${ctx.dataDir}/extracted.db`;
    assert.deepEqual(await extractDatabase(backup.file, extracted), manifest);
    assert.equal(
      await sha256Hex(await Deno.readFile(extracted)),
      manifest.database.sha256,
    );
    assert.equal(await integrity(extracted), "ok");
  } finally {
    await ctx.close();
  }
});
