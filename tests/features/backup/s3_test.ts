import assert from "node:assert/strict";
import { and, eq } from "drizzle-orm";
import { createClient } from "@libsql/client";
import { outboxMessages, users } from "../../../db/schema/mod.ts";
import {
  backupNow,
  scheduledBackup,
} from "../../../server/features/backup/run.ts";
import {
  listRemoteBackups,
  parseS3Url,
  pruneRemoteBackups,
  uploadBackup,
} from "../../../server/features/backup/s3.ts";
import {
  createBackup,
  listBackups,
  verifyBackup,
} from "../../../server/features/backup/service.ts";
import { recordEvent } from "../../../server/features/events/record.ts";
import type { Deps } from "../../../server/deps.ts";
import { createTestContext } from "../../helpers/context.ts";
import { makeUser } from "../../helpers/factories.ts";
import { type CliResult, runCli } from "../../helpers/cli.ts";
import { refusedUrl, startFakeS3 } from "../../helpers/fake_s3.ts";

const BUCKET = "lectern-backups";
const PREFIX = "nightly";

/** runCli with extra variables (BACKUP_S3_* here). */
const cli = (
  dataDir: string,
  args: string[],
  env: Record<string, string>,
): Promise<CliResult> => runCli(dataDir, args, undefined, env);

const base = (file: string) => file.slice(file.lastIndexOf("/") + 1);

async function eventIds(path: string): Promise<Set<string>> {
  const client = createClient({ url: `file:${path}` });
  try {
    const result = await client.execute("SELECT id FROM events");
    return new Set(result.rows.map((row) => String(row[0])));
  } finally {
    client.close();
  }
}

Deno.test("parseS3Url: bucket and prefix from the address, the rest from BACKUP_S3_*", () => {
  const settings = {
    bucket: "ignored",
    prefix: "ignored",
    region: "eu-west-3",
    endpoint: "http://minio:9000",
    accessKeyId: "id",
    secretAccessKey: "secret",
    forcePathStyle: true,
  };
  assert.deepEqual(parseS3Url("s3://other/some/prefix/", settings), {
    ...settings,
    bucket: "other",
    prefix: "some/prefix",
  });
  assert.deepEqual(parseS3Url("s3://solo", undefined), {
    region: "auto",
    endpoint: undefined,
    accessKeyId: undefined,
    secretAccessKey: undefined,
    forcePathStyle: false,
    bucket: "solo",
    prefix: "",
  });
  assert.throws(() => parseS3Url("https://bucket/x", undefined), /not an s3/);
});

Deno.test("S3 backups end to end against a fake S3: upload, list, verify, restore, prune, other destinations, failures", async (t) => {
  const s3 = startFakeS3();
  const s3Env = { ...s3.env(BUCKET, PREFIX), BACKUP_KEEP: "2" };
  const ctx = await createTestContext(s3Env);
  const cleanup: string[] = [];
  try {
    const remote = ctx.deps.config.backup.s3!;
    assert.equal(remote.forcePathStyle, true);
    assert.equal(remote.endpoint, s3.url);
    const marker = await recordEvent(ctx.deps.db, "program.viewed", {});
    let first: { file: string; key: string } | undefined;

    await t.step(
      "backupNow writes the archive locally, then uploads the same bytes",
      async () => {
        const run = await backupNow(ctx.deps);
        assert.equal(run.uploadError, undefined);
        const key = `${PREFIX}/${base(run.file)}`;
        assert.match(
          base(run.file),
          /^lectern-\d{8}T\d{9}Z-[0-9a-z]{6}\.tar\.gz$/,
        );
        assert.deepEqual(run.uploaded, { bucket: BUCKET, key });
        assert.ok(run.file.startsWith(`${ctx.dataDir}/backups/`));
        const local = await Deno.readFile(run.file);
        assert.deepEqual(s3.get(BUCKET, key), local);
        assert.equal(
          s3.objects.get(`${BUCKET}/${key}`)!.contentType,
          "application/gzip",
        );
        const put = s3.requests.filter((r) => r.method === "PUT");
        assert.equal(put.length, 1);
        assert.match(
          put[0]!.authorization!,
          /^AWS4-HMAC-SHA256 Credential=test-access-key\//,
        );
        first = { file: run.file, key };
      },
    );

    await t.step("the fake refuses unsigned requests", async () => {
      const response = await fetch(`${s3.url}/${BUCKET}/${first!.key}`);
      assert.equal(response.status, 403);
      assert.match(await response.text(), /AccessDenied/);
    });

    await t.step(
      "listRemoteBackups lists backups under the prefix only",
      async () => {
        s3.put(BUCKET, `${PREFIX}/notes.txt`, new Uint8Array([1]));
        s3.put(
          BUCKET,
          `other/lectern-20240101T000000Z-aaaaaa.tar.gz`,
          new Uint8Array([1]),
        );
        s3.put(
          BUCKET,
          `${PREFIX}-old/lectern-20240101T000000Z-bbbbbb.tar.gz`,
          new Uint8Array([1]),
        );
        s3.put(
          "another-bucket",
          `${PREFIX}/lectern-20240101T000000Z-cccccc.tar.gz`,
          new Uint8Array([1]),
        );
        // Another deployment's backups in a folder below the prefix, and a name not of ours.
        s3.put(
          BUCKET,
          `${PREFIX}/staging/lectern-20240101T000000Z-ffffff.tar.gz`,
          new Uint8Array([1]),
        );
        s3.put(BUCKET, `${PREFIX}/lectern-by-hand.tar.gz`, new Uint8Array([1]));
        const listed = await listRemoteBackups(remote);
        assert.equal(listed.length, 1);
        assert.equal(listed[0]!.key, first!.key);
        assert.equal(listed[0]!.name, base(first!.file));
        assert.equal(listed[0]!.bytes, (await Deno.stat(first!.file)).size);
        assert.ok(
          listed[0]!.lastModified &&
            !Number.isNaN(Date.parse(listed[0]!.lastModified)),
        );
        const list = s3.requests.findLast((r) => r.query["list-type"] === "2")!;
        assert.equal(list.query.prefix, `${PREFIX}/`);
        assert.equal(list.query.delimiter, "/");
      },
    );

    await t.step(
      "the CLI lists, verifies and restores from s3://",
      async () => {
        const url = `s3://${BUCKET}/${first!.key}`;
        const target = await Deno.makeTempDir({
          prefix: "lectern-s3-restore-",
        });
        cleanup.push(target);
        const [list, verify, verifyJson, missing] = await Promise.all([
          cli(ctx.dataDir, ["backup", "list", "--remote", "--json"], s3Env),
          cli(ctx.dataDir, ["backup", "verify", url], s3Env),
          cli(ctx.dataDir, ["backup", "verify", url, "--json"], s3Env),
          cli(ctx.dataDir, [
            "backup",
            "verify",
            `s3://${BUCKET}/${PREFIX}/lectern-nope.tar.gz`,
          ], s3Env),
        ]);
        assert.equal(list.code, 0, list.stderr);
        assert.deepEqual(
          (JSON.parse(list.stdout) as { key: string }[]).map((b) => b.key),
          [first!.key],
        );
        assert.equal(verify.code, 0, verify.stderr);
        assert.match(
          verify.stdout,
          new RegExp(`^OK: ${url.replace(/[.]/g, "\\.")} from `),
        );
        assert.equal(verifyJson.code, 0, verifyJson.stderr);
        const report = JSON.parse(verifyJson.stdout);
        assert.equal(report.ok, true);
        assert.deepEqual(report.problems, []);
        assert.notEqual(missing.code, 0);
        assert.match(missing.stderr, /^error: .*(NoSuchKey|does not exist)/m);

        const restore = await cli(
          target,
          ["backup", "restore", url, "--json"],
          s3Env,
        );
        assert.equal(restore.code, 0, restore.stderr);
        assert.equal(
          JSON.parse(restore.stdout).manifest.createdAt,
          (await verifyBackup(first!.file)).manifest!.createdAt,
        );
        assert.ok((await eventIds(`${target}/lectern.db`)).has(marker));

        // A damaged object fails verification and is not restored.
        const damaged = new Uint8Array(s3.get(BUCKET, first!.key)!);
        damaged[Math.floor(damaged.length / 2)]! ^= 0xff;
        s3.put(
          BUCKET,
          `${PREFIX}/lectern-20240101T000000Z-dddddd.tar.gz`,
          damaged,
        );
        const bad =
          `s3://${BUCKET}/${PREFIX}/lectern-20240101T000000Z-dddddd.tar.gz`;
        const other = await Deno.makeTempDir({ prefix: "lectern-s3-restore-" });
        cleanup.push(other);
        const [badVerify, badRestore] = await Promise.all([
          cli(ctx.dataDir, ["backup", "verify", bad], s3Env),
          cli(other, ["backup", "restore", bad], s3Env),
        ]);
        assert.equal(badVerify.code, 1);
        assert.match(badVerify.stderr, /^error: the archive cannot be read/m);
        assert.equal(badRestore.code, 1);
        assert.match(badRestore.stderr, /BACKUP_INVALID/);
        await assert.rejects(
          Deno.stat(`${other}/lectern.db`),
          Deno.errors.NotFound,
        );
        s3.objects.delete(
          `${BUCKET}/${PREFIX}/lectern-20240101T000000Z-dddddd.tar.gz`,
        );
      },
    );

    await t.step(
      "the CLI removes the copy it downloaded from s3:// when it exits, whether it succeeded or not",
      async () => {
        const tmp = await Deno.makeTempDir({ prefix: "lectern-s3-tmp-" });
        cleanup.push(tmp);
        const env = { ...s3Env, TMPDIR: tmp };
        const good = `s3://${BUCKET}/${first!.key}`;
        const damaged = new Uint8Array(s3.get(BUCKET, first!.key)!);
        damaged[Math.floor(damaged.length / 2)]! ^= 0xff;
        const badKey = `${PREFIX}/lectern-20240101T000000Z-eeeeee.tar.gz`;
        s3.put(BUCKET, badKey, damaged);
        const bad = `s3://${BUCKET}/${badKey}`;
        const missing = `s3://${BUCKET}/${PREFIX}/lectern-nope.tar.gz`;
        const targets: string[] = [];
        for (let i = 0; i < 3; i++) {
          const dir = await Deno.makeTempDir({ prefix: "lectern-s3-restore-" });
          cleanup.push(dir);
          targets.push(dir);
        }
        const runs: [string, string, string[], number][] = [
          ["verify", ctx.dataDir, ["backup", "verify", good], 0],
          ["verify --json", ctx.dataDir, [
            "backup",
            "verify",
            good,
            "--json",
          ], 0],
          ["verify of a damaged object", ctx.dataDir, [
            "backup",
            "verify",
            bad,
          ], 1],
          ["verify of a missing object", ctx.dataDir, [
            "backup",
            "verify",
            missing,
          ], 2],
          ["restore", targets[0]!, ["backup", "restore", good], 0],
          ["restore of a damaged object", targets[1]!, [
            "backup",
            "restore",
            bad,
          ], 1],
          ["restore --extract-to", ctx.dataDir, [
            "backup",
            "restore",
            good,
            "--extract-to",
            `${targets[2]}/extracted.db`,
          ], 0],
        ];
        for (const [what, dataDir, args, code] of runs) {
          const result = await cli(dataDir, args, env);
          assert.equal(result.code, code, `${what}: ${result.stderr}`);
          const left: string[] = [];
          for await (const entry of Deno.readDir(tmp)) left.push(entry.name);
          assert.deepEqual(left, [], `${what} left its download behind`);
        }
        // The runs did download: the restores and the extract have their database.
        assert.ok((await eventIds(`${targets[0]}/lectern.db`)).has(marker));
        assert.ok((await eventIds(`${targets[2]}/extracted.db`)).has(marker));
        await assert.rejects(
          Deno.stat(`${targets[1]}/lectern.db`),
          Deno.errors.NotFound,
        );
        s3.objects.delete(`${BUCKET}/${badKey}`);
      },
    );

    await t.step(
      "pruneRemoteBackups refuses to keep fewer than one, and deletes nothing",
      async () => {
        const before = s3.keys(BUCKET);
        const deletes = s3.requests.filter((r) => r.method === "DELETE").length;
        for (const keep of [0, -1, 1.5, Number.NaN]) {
          await assert.rejects(
            pruneRemoteBackups(remote, keep),
            /keep must be a whole number, at least 1/,
            String(keep),
          );
        }
        assert.deepEqual(s3.keys(BUCKET), before);
        assert.equal(
          s3.requests.filter((r) => r.method === "DELETE").length,
          deletes,
        );
        // Keeping at least as many as there are deletes nothing either.
        const count = (await listRemoteBackups(remote)).length;
        assert.ok(count >= 1);
        assert.deepEqual(await pruneRemoteBackups(remote, count), []);
        assert.deepEqual(s3.keys(BUCKET), before);
      },
    );

    await t.step(
      "scheduledBackup keeps BACKUP_KEEP archives, locally and in the bucket",
      async () => {
        const old: string[] = [];
        for (let day = 1; day <= 3; day++) {
          const backup = await createBackup(ctx.deps.config, {
            now: new Date(`2024-02-0${day}T00:00:00Z`),
          });
          await uploadBackup(remote, backup.file);
          old.push(base(backup.file));
        }
        assert.equal((await listRemoteBackups(remote)).length, 4);
        assert.equal((await listBackups(ctx.deps.config.backup.dir)).length, 4);
        const deletes = s3.requests.filter((r) => r.method === "DELETE").length;

        // Due: the newest backup is older than BACKUP_SCHEDULE by then.
        const due = Date.now() + ctx.deps.config.backup.everyMs + 1;
        const summary = await scheduledBackup(ctx.deps, due);
        assert.match(summary, /\(uploaded\); pruned 6$/);
        const kept = (await listBackups(ctx.deps.config.backup.dir)).map((b) =>
          b.name
        );
        assert.equal(kept.length, 2);
        assert.ok(kept.includes(base(first!.file)));
        assert.ok(!kept.some((name) => old.includes(name)));
        assert.deepEqual(
          (await listRemoteBackups(remote)).map((b) => b.name),
          kept,
        );
        const deleted = s3.requests.filter((r) => r.method === "DELETE").slice(
          deletes,
        );
        assert.deepEqual(
          deleted.map((r) => r.key).sort(),
          old.map((name) => `${PREFIX}/${name}`).sort(),
        );
        // What is not a backup of ours is left alone.
        assert.ok(s3.get(BUCKET, `${PREFIX}/notes.txt`));
        assert.ok(s3.get(BUCKET, `${PREFIX}/lectern-by-hand.tar.gz`));
        assert.ok(
          s3.get(
            BUCKET,
            `${PREFIX}/staging/lectern-20240101T000000Z-ffffff.tar.gz`,
          ),
        );
        assert.ok(
          s3.get(BUCKET, `other/lectern-20240101T000000Z-aaaaaa.tar.gz`),
        );
      },
    );

    await t.step(
      "--to s3://other/prefix uploads there instead, with the BACKUP_S3_* endpoint and keys",
      async () => {
        const before = s3.keys(BUCKET).length;
        const run = await backupNow(ctx.deps, {
          to: "s3://other-bucket/some/where/",
        });
        const key = `some/where/${base(run.file)}`;
        assert.deepEqual(run.uploaded, { bucket: "other-bucket", key });
        assert.deepEqual(
          s3.get("other-bucket", key),
          await Deno.readFile(run.file),
        );
        assert.ok(run.file.startsWith(`${ctx.dataDir}/backups/`));
        assert.equal(s3.keys(BUCKET).length, before);

        const created = await cli(ctx.dataDir, [
          "backup",
          "create",
          "--to",
          "s3://other-bucket/cli",
          "--json",
        ], s3Env);
        assert.equal(created.code, 0, created.stderr);
        const result = JSON.parse(created.stdout);
        assert.equal(result.uploaded.bucket, "other-bucket");
        assert.equal(result.uploaded.key, `cli/${base(result.file)}`);
        assert.deepEqual(
          s3.get("other-bucket", result.uploaded.key),
          await Deno.readFile(result.file),
        );
        assert.equal(s3.keys(BUCKET).length, before);
      },
    );

    await t.step(
      "a failed upload keeps the local file, reports it, logs it, and emails every active admin",
      async () => {
        const admins = [
          await makeUser(ctx, { role: "admin", name: "Ada Admin" }),
          await makeUser(ctx, { role: "admin", name: "Grace Admin" }),
        ];
        const banned = await makeUser(ctx, { role: "admin" });
        await ctx.deps.db.update(users).set({ status: "banned" }).where(
          eq(users.id, banned.id),
        );
        const student = await makeUser(ctx);
        const remoteBefore = s3.keys(BUCKET);

        s3.failPuts(500);
        const run = await backupNow(ctx.deps);
        assert.equal(run.uploaded, undefined);
        assert.match(run.uploadError!, /InternalError|fake is failing/);
        assert.equal((await verifyBackup(run.file)).ok, true);
        assert.deepEqual(s3.keys(BUCKET), remoteBefore);

        const logged = ctx.logger.lines.find((line) =>
          line.msg === "backup upload failed; the local copy is kept"
        );
        assert.ok(logged, JSON.stringify(ctx.logger.lines.slice(-3)));
        assert.equal(logged.level, "error");
        assert.equal(logged.file, run.file);
        assert.equal(logged.bucket, BUCKET);

        const emails = await ctx.deps.db.select().from(outboxMessages).where(
          eq(outboxMessages.template, "backup_upload_failed"),
        );
        assert.deepEqual(
          emails.map((m) => m.to).sort(),
          admins.map((a) => a.email).sort(),
        );
        for (const email of emails) {
          assert.ok(email.text.includes(run.file), email.text);
          assert.ok(
            email.text.includes(`s3://${BUCKET}/${PREFIX}`),
            email.text,
          );
          assert.ok(email.text.includes(run.uploadError!), email.text);
        }
        for (const nobody of [banned, student]) {
          const got = await ctx.deps.db.select().from(outboxMessages).where(and(
            eq(outboxMessages.to, nobody.email),
            eq(outboxMessages.template, "backup_upload_failed"),
          ));
          assert.equal(got.length, 0);
        }

        // The scheduled job: the local copy stays, and the bucket is not pruned on a failed upload.
        const summary = await scheduledBackup(
          ctx.deps,
          Date.now() + ctx.deps.config.backup.everyMs + 1,
        );
        assert.match(summary, /\(upload failed\)/);
        assert.deepEqual(s3.keys(BUCKET), remoteBefore);
        assert.equal((await listBackups(ctx.deps.config.backup.dir)).length, 2);
      },
    );

    await t.step("a refused connection is an upload failure too", async () => {
      const deps: Deps = {
        ...ctx.deps,
        config: {
          ...ctx.deps.config,
          backup: {
            ...ctx.deps.config.backup,
            s3: { ...remote, endpoint: await refusedUrl() },
          },
        },
      };
      const run = await backupNow(deps);
      assert.ok(run.uploadError, JSON.stringify(run));
      await Deno.stat(run.file);
    });

    await t.step(
      "the CLI: backup create exits 1 with the error on stderr, and keeps the local file",
      async () => {
        s3.failPuts(503);
        const created = await cli(ctx.dataDir, ["backup", "create"], s3Env);
        assert.equal(created.code, 1, created.stdout + created.stderr);
        assert.match(
          created.stderr,
          /^error: the upload failed \(the local copy is kept\): .+/m,
        );
        const file = /^Backup (\S+) /m.exec(created.stdout)?.[1];
        assert.ok(file, created.stdout);
        assert.equal((await verifyBackup(file)).ok, true);
      },
    );
  } finally {
    s3.failPuts(null);
    await ctx.close();
    await s3.close();
    for (const dir of cleanup) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the CLI: backup create --json exits 1 when the upload fails, after printing the result", async () => {
  const s3 = startFakeS3();
  const dataDir = await Deno.makeTempDir({ prefix: "lectern-s3-" });
  try {
    const env = s3.env(BUCKET, PREFIX);
    s3.failPuts(500);
    const failed = await cli(dataDir, ["backup", "create", "--json"], env);
    assert.equal(failed.code, 1, failed.stdout + failed.stderr);
    const result = JSON.parse(failed.stdout);
    assert.match(result.uploadError, /InternalError|fake is failing/);
    assert.equal(result.uploaded, undefined);
    // The local copy is kept, and sound.
    assert.ok(result.file.startsWith(`${dataDir}/backups/`), result.file);
    assert.equal((await verifyBackup(result.file)).ok, true);
    assert.deepEqual(s3.keys(BUCKET), []);

    // The same command with a working bucket exits 0.
    s3.failPuts(null);
    const uploaded = await cli(dataDir, ["backup", "create", "--json"], env);
    assert.equal(uploaded.code, 0, uploaded.stderr);
    const ok = JSON.parse(uploaded.stdout);
    assert.equal(ok.uploadError, undefined);
    assert.deepEqual(s3.keys(BUCKET), [`${PREFIX}/${base(ok.file)}`]);
  } finally {
    await s3.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
