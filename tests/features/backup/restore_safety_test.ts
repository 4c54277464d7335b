import assert from "node:assert/strict";
import { loadConfig } from "../../../server/env.ts";
import {
  createBackup,
  type Manifest,
  restoreBackup,
  verifyBackup,
} from "../../../server/features/backup/service.ts";
import {
  gunzip,
  gzip,
  packTar,
  type TarEntry,
  unpackTar,
} from "../../../server/features/backup/tar.ts";
import { AppError } from "../../../server/lib/errors.ts";
import { contentKey, sha256Hex } from "../../../server/lib/storage.ts";
import { createTestContext, type TestContext } from "../../helpers/context.ts";
import { makeUser } from "../../helpers/factories.ts";

const KEY_FILE = "credential_signing_key.jwk";
const KEY_ENTRY = `keys/${KEY_FILE}`;
const encode = (text: string) => new TextEncoder().encode(text);

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

/** Every file under `root`, relative path -> SHA-256 (empty when there is no such folder). */
async function tree(root: string, under = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  try {
    for await (const entry of Deno.readDir(`${root}/${under}`)) {
      const path = under ? `${under}/${entry.name}` : entry.name;
      if (entry.isDirectory) Object.assign(out, await tree(root, path));
      else out[path] = await sha256Hex(await Deno.readFile(`${root}/${path}`));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return out;
}

/** The names at the top of a data dir, the database's bytes, the media and the key. */
async function stateOf(dataDir: string) {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dataDir)) names.push(entry.name);
  const sha = async (path: string) =>
    await sha256Hex(await Deno.readFile(path)).catch(() => "none");
  return {
    names: names.sort(),
    db: await sha(`${dataDir}/lectern.db`),
    key: await sha(`${dataDir}/${KEY_FILE}`),
    media: await tree(`${dataDir}/media`),
  };
}

async function putMedia(ctx: TestContext, bytes: Uint8Array, ext: string) {
  const key = contentKey(await sha256Hex(bytes), ext);
  await ctx.deps.storage.put(key, bytes, "application/octet-stream");
  return key;
}

async function entriesOf(file: string): Promise<TarEntry[]> {
  return unpackTar(await gunzip(await Deno.readFile(file)));
}

const manifestOf = (entries: TarEntry[]): Manifest =>
  JSON.parse(
    new TextDecoder().decode(
      entries.find((entry) => entry.name === "manifest.json")!.data,
    ),
  );

/** The entries with manifest.json replaced by `manifest` (any JSON at all). */
const withManifest = (entries: TarEntry[], manifest: unknown): TarEntry[] =>
  entries.map((entry) =>
    entry.name === "manifest.json"
      ? { name: entry.name, data: encode(JSON.stringify(manifest, null, 2)) }
      : entry
  );

async function part(path: string, data: Uint8Array) {
  return { path, sha256: await sha256Hex(data), bytes: data.length };
}

/** A context with two media files and its signing key, and a backup of it, unpacked. */
async function setUp() {
  const ctx = await createTestContext();
  const media = [
    await putMedia(ctx, encode("first media file"), "png"),
    await putMedia(ctx, encode("second media file"), "pdf"),
  ];
  const backup = await createBackup(ctx.deps.config);
  const entries = await entriesOf(backup.file);
  return { ctx, media, backup, entries, manifest: manifestOf(entries) };
}

Deno.test("hand-made archives with unsafe or ambiguous entries fail verification, and restore refuses leaving database and media untouched", async (t) => {
  const cleanup: string[] = [];
  const { ctx, backup, entries, manifest } = await setUp();
  try {
    assert.equal((await verifyBackup(backup.file)).ok, true);
    const target = await secondDataDir(ctx, cleanup);
    await restoreBackup(target.config, backup.file);
    // Something of the target's own, so "untouched" means more than "same as the archive".
    await Deno.mkdir(`${target.dataDir}/media/zz`, { recursive: true });
    await Deno.writeTextFile(`${target.dataDir}/media/zz/local.txt`, "mine");
    const before = await stateOf(target.dataDir);
    assert.notEqual(before.db, "none");
    assert.ok(Object.keys(before.media).length >= 3);
    const work = await Deno.makeTempDir({ prefix: "lectern-forged-" });
    cleanup.push(work);
    let n = 0;

    /** Packs `forged`, checks verify names the problem, and restore refuses and touches nothing. */
    const refuses = async (forged: TarEntry[], problem: RegExp) => {
      const file = `${work}/forged-${++n}.tar.gz`;
      await Deno.writeFile(file, await gzip(packTar(forged)));
      const verified = await verifyBackup(file);
      assert.equal(verified.ok, false, JSON.stringify(verified.problems));
      assert.ok(
        verified.problems.some((text) => problem.test(text)),
        `${problem} in ${JSON.stringify(verified.problems)}`,
      );
      const error = await rejectsWith(
        restoreBackup(target.config, file),
        422,
        "BACKUP_INVALID",
      );
      assert.deepEqual(error.details.problems, verified.problems);
      assert.deepEqual(await stateOf(target.dataDir), before);
    };

    const db = entries.find((entry) => entry.name === "lectern.db")!;

    await t.step(
      "an entry named media/../x (in the manifest too)",
      async () => {
        const data = encode("escapes the media folder");
        await refuses(
          [
            ...withManifest(entries, {
              ...manifest,
              media: [...manifest.media, await part("../x", data)],
            }),
            { name: "media/../x", data },
          ],
          /"media\/\.\.\/x": has an empty, \. or \.\. part/,
        );
      },
    );

    await t.step("an entry with an absolute name, /abs", async () => {
      await refuses(
        [...entries, { name: "/abs", data: encode("absolute") }],
        /"\/abs": not a plain relative path/,
      );
    });

    await t.step(
      "an entry named media/a//b (in the manifest too)",
      async () => {
        const data = encode("an empty part");
        await refuses(
          [
            ...withManifest(entries, {
              ...manifest,
              media: [...manifest.media, await part("a//b", data)],
            }),
            { name: "media/a//b", data },
          ],
          /"media\/a\/\/b": has an empty, \. or \.\. part/,
        );
      },
    );

    await t.step(
      "lectern.db twice: junk first, the real one second, the manifest matching the real one",
      async () => {
        const rest = entries.filter((entry) => entry.name !== "lectern.db");
        await refuses(
          [
            rest[0]!, // manifest.json, unchanged: it describes the real database
            { name: "lectern.db", data: encode("junk that is not a database") },
            db,
            ...rest.slice(1),
          ],
          /lectern\.db is in the archive twice/,
        );
      },
    );

    await t.step(
      "a file that is also a folder: media/q and media/q/r",
      async () => {
        const q = encode("q as a file");
        const r = encode("r under q");
        await refuses(
          [
            ...withManifest(entries, {
              ...manifest,
              media: [
                ...manifest.media,
                await part("q", q),
                await part("q/r", r),
              ],
            }),
            { name: "media/q", data: q },
            { name: "media/q/r", data: r },
          ],
          /media\/q is both a file and a folder/,
        );
      },
    );

    await t.step(
      "a manifest without database: a problem, not a crash",
      async () => {
        const { database: _database, ...rest } = manifest;
        await refuses(
          withManifest(entries, rest),
          /manifest\.json does not describe the database/,
        );
      },
    );

    await t.step(
      "a manifest whose media is not a list: a problem, not a crash",
      async () => {
        await refuses(
          withManifest(entries, { ...manifest, media: { not: "a list" } }),
          /manifest\.json does not describe the database/,
        );
      },
    );

    await t.step({
      name: "a manifest that is JSON null: a problem, not a crash",
      fn: async () => {
        await refuses(withManifest(entries, null), /manifest\.json/);
      },
    });

    await t.step({
      name:
        "a manifest naming another database entry (no lectern.db in the archive) fails verification",
      fn: async () => {
        await refuses(
          [
            ...withManifest(
              entries.filter((entry) => entry.name !== "lectern.db"),
              {
                ...manifest,
                database: { ...manifest.database, path: "other.db" },
              },
            ),
            { name: "other.db", data: db.data },
          ],
          /lectern\.db/,
        );
      },
    });

    await t.step(
      "the untouched target still restores from the real archive",
      async () => {
        await restoreBackup(target.config, backup.file);
        const after = await stateOf(target.dataDir);
        assert.equal(after.db, await sha256Hex(db.data));
        assert.equal(after.media["zz/local.txt"], undefined, "replaced");
      },
    );
  } finally {
    await ctx.close();
    for (const dir of cleanup) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restore with mediaOnly replaces only the media: the database file is unchanged and the old media kept aside", async () => {
  const cleanup: string[] = [];
  const { ctx, media, backup } = await setUp();
  try {
    // The target has a database and a signing key of its own, and other media.
    const target = await secondDataDir(ctx, cleanup);
    await restoreBackup(target.config, backup.file);
    const own = await createTestContext();
    try {
      await makeUser(own, { name: "Only In The Other Database" });
      const other = await createBackup(own.deps.config);
      await restoreBackup(target.config, other.file);
    } finally {
      await own.close();
    }
    await Deno.mkdir(`${target.dataDir}/media/old`, { recursive: true });
    await Deno.writeTextFile(`${target.dataDir}/media/old/file.txt`, "old");
    const before = await stateOf(target.dataDir);
    const dbBytes = await Deno.readFile(target.db);

    const restored = await restoreBackup(target.config, backup.file, {
      mediaOnly: true,
    });
    assert.deepEqual(await Deno.readFile(target.db), dbBytes, "same database");
    const after = await stateOf(target.dataDir);
    assert.equal(after.db, before.db);
    assert.equal(after.key, before.key, "the signing key is not restored");
    assert.deepEqual(
      Object.keys(after.media).sort(),
      [...media].sort(),
      "exactly the archive's media",
    );
    for (const part of backup.manifest.media) {
      assert.equal(after.media[part.path], part.sha256, part.path);
    }
    assert.equal(restored.keptAside.length, 1, restored.keptAside.join());
    const aside = restored.keptAside[0]!;
    assert.ok(
      aside.startsWith(`${target.dataDir}/media.before-restore-`),
      aside,
    );
    assert.deepEqual(await tree(aside), before.media, "old media kept aside");
    // Nothing else beside the database moved or appeared.
    const notMediaAside = (names: string[]) =>
      names.filter((name) => !name.startsWith("media.before-restore-"));
    assert.deepEqual(notMediaAside(after.names), notMediaAside(before.names));
    assert.equal(
      after.names.length,
      before.names.length + 1,
      "one more folder: the media kept aside",
    );
  } finally {
    await ctx.close();
    for (const dir of cleanup) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a database under config.litefsDir is 409 LITEFS_RESTORE and nothing is touched; mediaOnly is allowed there", async (t) => {
  const cleanup: string[] = [];
  const { ctx, backup } = await setUp();
  try {
    const target = await secondDataDir(ctx, cleanup);
    await restoreBackup(target.config, backup.file);
    await Deno.mkdir(`${target.dataDir}/media/local`, { recursive: true });
    await Deno.writeTextFile(`${target.dataDir}/media/local/a.txt`, "a");
    const before = await stateOf(target.dataDir);
    const onLitefs = { ...target.config, litefsDir: target.dataDir };

    await t.step("a full restore is refused", async () => {
      const error = await rejectsWith(
        restoreBackup(onLitefs, backup.file),
        409,
        "LITEFS_RESTORE",
      );
      assert.match(error.message, /litefs import/);
      assert.deepEqual(await stateOf(target.dataDir), before);
    });

    await t.step(
      "a LiteFS folder that only shares a prefix with the database's is not the database's",
      async () => {
        const sibling = await Deno.makeTempDir({ prefix: "lectern-restore-" });
        cleanup.push(sibling);
        const elsewhere = `${sibling}/db`;
        await Deno.mkdir(elsewhere);
        const config = loadConfig({
          ...ctx.env,
          DATA_DIR: sibling,
          DATABASE_URL: `file:${elsewhere}/lectern.db`,
        });
        const restored = await restoreBackup(
          { ...config, litefsDir: `${sibling}/d` },
          backup.file,
        );
        assert.equal(
          restored.manifest.database.sha256,
          backup.manifest.database.sha256,
        );
        assert.equal(
          await sha256Hex(await Deno.readFile(`${elsewhere}/lectern.db`)),
          backup.manifest.database.sha256,
        );
      },
    );

    await t.step("mediaOnly under LiteFS restores the media", async () => {
      const restored = await restoreBackup(onLitefs, backup.file, {
        mediaOnly: true,
      });
      const after = await stateOf(target.dataDir);
      assert.equal(after.db, before.db);
      assert.equal(after.media["local/a.txt"], undefined);
      assert.equal(restored.keptAside.length, 1);
    });
  } finally {
    await ctx.close();
    for (const dir of cleanup) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the signing key is in the manifest and comes back with mode 0600, the old one kept aside", async (t) => {
  const cleanup: string[] = [];
  const { ctx, backup, entries, manifest } = await setUp();
  try {
    const keyPath = `${ctx.dataDir}/${KEY_FILE}`;
    const key = await Deno.readFile(keyPath);

    await t.step(
      "the manifest describes it and the archive holds it",
      async () => {
        assert.deepEqual(manifest.signingKey, {
          path: KEY_ENTRY,
          sha256: await sha256Hex(key),
          bytes: key.length,
        });
        assert.deepEqual(backup.manifest.signingKey, manifest.signingKey);
        assert.deepEqual(
          entries.find((entry) => entry.name === KEY_ENTRY)?.data,
          key,
        );
      },
    );

    await t.step(
      "restored over another key: 0600, the old one kept aside",
      async () => {
        const target = await secondDataDir(ctx, cleanup);
        const targetKey = `${target.dataDir}/${KEY_FILE}`;
        await Deno.writeTextFile(targetKey, '{"old":"key"}\n', { mode: 0o644 });
        await Deno.chmod(targetKey, 0o644);
        const restored = await restoreBackup(target.config, backup.file);
        assert.deepEqual(await Deno.readFile(targetKey), key);
        assert.equal((await Deno.stat(targetKey)).mode! & 0o777, 0o600);
        const aside = restored.keptAside.find((path) =>
          path.startsWith(`${targetKey}.before-restore-`)
        );
        assert.ok(aside, JSON.stringify(restored.keptAside));
        assert.equal(await Deno.readTextFile(aside), '{"old":"key"}\n');
      },
    );

    await t.step(
      "restored where there was none: 0600, nothing kept aside for it",
      async () => {
        const target = await secondDataDir(ctx, cleanup);
        const targetKey = `${target.dataDir}/${KEY_FILE}`;
        const restored = await restoreBackup(target.config, backup.file);
        assert.deepEqual(await Deno.readFile(targetKey), key);
        assert.equal((await Deno.stat(targetKey)).mode! & 0o777, 0o600);
        assert.equal(
          restored.keptAside.some((path) => path.startsWith(targetKey)),
          false,
        );
      },
    );

    await t.step(
      "a key that does not match its checksum fails verification",
      async () => {
        const target = await secondDataDir(ctx, cleanup);
        const file = `${target.dataDir}/tampered.tar.gz`;
        const tampered = encode('{"kty":"OKP","crv":"Ed25519","x":"forged"}');
        await Deno.writeFile(
          file,
          await gzip(
            packTar(
              entries.map((entry) =>
                entry.name === KEY_ENTRY
                  ? { name: entry.name, data: tampered }
                  : entry
              ),
            ),
          ),
        );
        const verified = await verifyBackup(file);
        assert.equal(verified.ok, false);
        assert.match(
          verified.problems.join(),
          /keys\/credential_signing_key\.jwk does not match its checksum/,
        );
        await rejectsWith(
          restoreBackup(target.config, file),
          422,
          "BACKUP_INVALID",
        );
        await assert.rejects(
          Deno.stat(`${target.dataDir}/${KEY_FILE}`),
          Deno.errors.NotFound,
        );
      },
    );

    await t.step(
      "a key in the manifest but not in the archive is missing",
      async () => {
        const target = await secondDataDir(ctx, cleanup);
        const file = `${target.dataDir}/keyless.tar.gz`;
        await Deno.writeFile(
          file,
          await gzip(
            packTar(entries.filter((entry) => entry.name !== KEY_ENTRY)),
          ),
        );
        assert.match(
          (await verifyBackup(file)).problems.join(),
          /keys\/credential_signing_key\.jwk is missing/,
        );
      },
    );

    await t.step(
      "a backup taken without a key file leaves the target's key alone",
      async () => {
        await Deno.remove(keyPath);
        const keyless = await createBackup(ctx.deps.config);
        assert.equal(keyless.manifest.signingKey, undefined);
        const target = await secondDataDir(ctx, cleanup);
        const targetKey = `${target.dataDir}/${KEY_FILE}`;
        await Deno.writeTextFile(targetKey, '{"kept":"key"}\n', {
          mode: 0o600,
        });
        const restored = await restoreBackup(target.config, keyless.file);
        assert.equal(await Deno.readTextFile(targetKey), '{"kept":"key"}\n');
        assert.equal(
          restored.keptAside.some((path) => path.startsWith(targetKey)),
          false,
        );
      },
    );
  } finally {
    await ctx.close();
    for (const dir of cleanup) await Deno.remove(dir, { recursive: true });
  }
});
