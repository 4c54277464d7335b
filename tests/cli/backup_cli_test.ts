import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import {
  createBackup,
  listBackups,
  STALE_AFTER_MS,
} from "../../server/features/backup/service.ts";
import { recordEvent } from "../../server/features/events/record.ts";
import { contentKey, sha256Hex } from "../../server/lib/storage.ts";
import { createTestContext, TEST_JWT_SECRET } from "../helpers/context.ts";
import { type CliResult, ok, REPO_ROOT, runCli } from "../helpers/cli.ts";

/** runCli, plus extra variables. */
const runCliWith = (
  dataDir: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> => runCli(dataDir, args, undefined, env);

/** The command failed with this exit code and said why on stderr, nothing on stdout. */
function failed(result: CliResult, code: number, what: string): string {
  assert.equal(result.code, code, `${what}:\n${result.stdout}${result.stderr}`);
  assert.ok(result.stderr.trim().length > 0, `${what}: nothing on stderr`);
  return result.stderr;
}

async function openAndCount(path: string) {
  const client = createClient({ url: `file:${path}` });
  try {
    const check = await client.execute("PRAGMA integrity_check");
    const events = await client.execute("SELECT id FROM events");
    return {
      integrity: String(check.rows[0]![0]),
      events: new Set(events.rows.map((row) => String(row[0]))),
    };
  } finally {
    client.close();
  }
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** An archive's name: its time to the millisecond and a random id. */
const NAME = String.raw`lectern-\d{8}T\d{9}Z-[0-9a-z]{6}\.tar\.gz`;

Deno.test("the backup CLI: create, list, verify, prune and restore, as text and as JSON", async (t) => {
  const ctx = await createTestContext();
  const cleanup: string[] = [];
  const cli = (args: string[], env?: Record<string, string>) =>
    runCliWith(ctx.dataDir, args, env);
  const tempDir = async () => {
    const dir = await Deno.makeTempDir({ prefix: "lectern-cli-backup-" });
    cleanup.push(dir);
    return dir;
  };
  try {
    const marker = await recordEvent(ctx.deps.db, "program.viewed", {});
    const media = new TextEncoder().encode("an uploaded image");
    const key = contentKey(await sha256Hex(media), "png");
    await ctx.deps.storage.put(key, media, "image/png");
    const backups = `${ctx.dataDir}/backups`;
    let textFile = "";
    let jsonFile = "";
    let jsonCreatedAt = "";

    await t.step("create, as text and as JSON, and --to a folder", async () => {
      const text = ok(await cli(["backup", "create"]), "backup create");
      const match =
        /^Backup (\S+) \(\d+\.\d\d MB, 1 media file\(s\), sha256 ([0-9a-f]{16})\)\n$/
          .exec(text);
      assert.ok(match, text);
      textFile = match[1]!;
      assert.match(
        textFile,
        new RegExp(`^${escape(backups)}/${NAME}$`),
      );
      assert.equal(
        (await sha256Hex(await Deno.readFile(textFile))).slice(0, 16),
        match[2],
      );

      const json = JSON.parse(
        ok(await cli(["backup", "create", "--json"]), "backup create --json"),
      );
      jsonFile = json.file;
      assert.match(jsonFile, new RegExp(`^${escape(backups)}/${NAME}$`));
      jsonCreatedAt = json.manifest.createdAt;
      assert.equal(json.bytes, (await Deno.stat(jsonFile)).size);
      assert.equal(json.sha256, await sha256Hex(await Deno.readFile(jsonFile)));
      assert.equal(json.manifest.format, "lectern-backup/1");
      assert.equal(json.manifest.rowCounts.events, 1);
      assert.deepEqual(
        json.manifest.media.map((m: { path: string }) => m.path),
        [key],
      );
      assert.equal(json.uploaded, undefined);

      const elsewhere = await tempDir();
      const to = JSON.parse(
        ok(
          await cli(["backup", "create", "--to", `${elsewhere}/`, "--json"]),
          "backup create --to",
        ),
      );
      assert.equal(to.file.slice(0, to.file.lastIndexOf("/")), elsewhere);
      assert.equal((await listBackups(elsewhere)).length, 1);
      assert.equal((await listBackups(backups)).length, 2);
    });

    await t.step("list, as text and as JSON", async () => {
      const [text, json, remote] = await Promise.all([
        cli(["backup", "list"]),
        cli(["backup", "list", "--json"]),
        cli(["backup", "list", "--remote"]),
      ]);
      const listed = JSON.parse(ok(json, "backup list --json")) as {
        file: string;
        name: string;
        bytes: number;
        createdAt: string;
      }[];
      assert.deepEqual(
        listed.map((b) => b.file).sort(),
        [textFile, jsonFile].sort(),
      );
      assert.deepEqual(listed, await listBackups(backups));
      // The name carries the time to the millisecond: the list shows the manifest's createdAt.
      assert.equal(
        listed.find((b) => b.file === jsonFile)!.createdAt,
        jsonCreatedAt,
      );
      const lines = ok(text, "backup list").trimEnd().split("\n");
      assert.equal(lines.length, 3);
      for (const [i, backup] of listed.entries()) {
        assert.match(
          lines[i]!,
          new RegExp(
            `^${escape(backup.file)}  ${backup.createdAt}  \\d+\\.\\d\\d MB$`,
          ),
        );
      }
      assert.equal(lines[2], `2 backup(s) in ${backups}`);
      assert.match(
        failed(remote, 2, "list --remote without S3"),
        /BACKUP_S3_BUCKET/,
      );
    });

    const corrupt = `${ctx.dataDir}/corrupt.tar.gz`;
    await t.step(
      "verify: exit 0 when sound, 1 with the problem on stderr when not",
      async () => {
        const bytes = await Deno.readFile(jsonFile);
        const header = new Uint8Array(bytes);
        header[9]! ^= 0x01; // the gzip header's OS byte
        await Deno.writeFile(`${ctx.dataDir}/header.tar.gz`, header);
        bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
        await Deno.writeFile(corrupt, bytes);
        const [good, goodJson, bad, badJson, missing, badHeader] = await Promise
          .all([
            cli(["backup", "verify", jsonFile]),
            cli(["backup", "verify", jsonFile, "--json"]),
            cli(["backup", "verify", corrupt]),
            cli(["backup", "verify", corrupt, "--json"]),
            cli(["backup", "verify", `${ctx.dataDir}/nothing.tar.gz`]),
            cli(["backup", "verify", `${ctx.dataDir}/header.tar.gz`]),
          ]);
        const manifest = JSON.parse(
          ok(goodJson, "verify --json"),
        ).manifest;
        assert.match(
          ok(good, "verify"),
          new RegExp(
            `^OK: ${escape(jsonFile)} from ${escape(manifest.createdAt)}, app ${
              escape(manifest.appVersion)
            }, ${manifest.schema.migrations} migrations, \\d+ rows, 1 media file\\(s\\)\\n$`,
          ),
        );
        assert.deepEqual(JSON.parse(goodJson.stdout).problems, []);
        assert.equal(JSON.parse(goodJson.stdout).ok, true);

        assert.match(
          failed(bad, 1, "verify of a corrupted file"),
          /^error: the archive cannot be read: .+/m,
        );
        assert.equal(bad.stdout, "");
        assert.equal(badJson.code, 1);
        const report = JSON.parse(badJson.stdout);
        assert.equal(report.ok, false);
        assert.match(report.problems.join(), /cannot be read/);

        assert.match(
          failed(missing, 1, "verify of a missing file"),
          /NOT_FOUND/,
        );
        assert.equal(
          failed(badHeader, 1, "verify of a changed gzip header"),
          "error: the archive's gzip header is not the one Lectern writes\n",
        );
      },
    );

    await t.step(
      "restore into another DATA_DIR, as text then as JSON; a corrupted archive is refused",
      async () => {
        const target = await tempDir();
        const first = await runCliWith(target, ["backup", "restore", jsonFile]);
        assert.match(
          ok(first, "restore"),
          /^Restored the backup of \d{4}-\d\d-\d\dT[\d:.]+Z\n$/,
        );
        const restored = await openAndCount(`${target}/lectern.db`);
        assert.equal(restored.integrity, "ok");
        assert.ok(restored.events.has(marker));
        assert.deepEqual(await Deno.readFile(`${target}/media/${key}`), media);

        const again = JSON.parse(
          ok(
            await runCliWith(target, ["backup", "restore", textFile, "--json"]),
            "restore --json",
          ),
        );
        const suffix = `\\.before-restore-\\d{8}T\\d{9}Z-[0-9a-z]{4}`;
        assert.ok(
          again.keptAside.some((path: string) =>
            new RegExp(`^${escape(target)}/lectern\\.db${suffix}$`).test(path)
          ),
          JSON.stringify(again.keptAside),
        );
        assert.ok(
          again.keptAside.some((path: string) =>
            new RegExp(`^${escape(target)}/media${suffix}$`).test(path)
          ),
          JSON.stringify(again.keptAside),
        );
        assert.equal(again.manifest.format, "lectern-backup/1");

        const before = await Deno.readFile(`${target}/lectern.db`);
        const refused = await runCliWith(target, [
          "backup",
          "restore",
          corrupt,
        ]);
        assert.match(
          failed(refused, 1, "restore of a corrupted file"),
          /BACKUP_INVALID/,
        );
        assert.deepEqual(await Deno.readFile(`${target}/lectern.db`), before);
      },
    );

    await t.step(
      "restore --force while a fresh server.pid names a live process",
      async () => {
        const target = await tempDir();
        const server = new Deno.Command("sleep", {
          args: ["5"],
          stdout: "null",
          stderr: "null",
        }).spawn();
        try {
          ok(
            await runCliWith(target, ["backup", "restore", jsonFile]),
            "restore",
          );
          await Deno.writeTextFile(`${target}/server.pid`, String(server.pid));
          const text = ok(
            await runCliWith(target, [
              "backup",
              "restore",
              jsonFile,
              "--force",
            ]),
            "restore --force",
          );
          const aside =
            /^Restored the backup of .+\nKept aside: (\S+\/lectern\.db\.before-restore-\d{8}T\d{9}Z-[0-9a-z]{4})\n/
              .exec(text)?.[1];
          assert.ok(aside, text);
          assert.ok(aside.startsWith(`${target}/`), aside);
          assert.equal((await openAndCount(aside)).integrity, "ok");
          assert.equal(
            await Deno.readTextFile(`${target}/server.pid`),
            String(server.pid),
          );
        } finally {
          server.kill("SIGKILL");
          await server.status;
        }
      },
    );

    await t.step(
      "restore --extract-to writes a database that opens, and nothing else",
      async () => {
        const out = await tempDir();
        const [text, json, bad] = await Promise.all([
          cli([
            "backup",
            "restore",
            jsonFile,
            "--extract-to",
            `${out}/text.db`,
          ]),
          cli([
            "backup",
            "restore",
            jsonFile,
            "--extract-to",
            `${out}/json.db`,
            "--json",
          ]),
          cli(["backup", "restore", corrupt, "--extract-to", `${out}/bad.db`]),
        ]);
        assert.match(
          ok(text, "extract"),
          new RegExp(
            `^Extracted the database of .+Z to ${escape(out)}/text\\.db\\n$`,
          ),
        );
        const result = JSON.parse(ok(json, "extract --json"));
        assert.equal(result.extractedTo, `${out}/json.db`);
        assert.equal(result.manifest.format, "lectern-backup/1");
        for (const name of ["text.db", "json.db"]) {
          const opened = await openAndCount(`${out}/${name}`);
          assert.equal(opened.integrity, "ok");
          assert.ok(opened.events.has(marker));
        }
        assert.match(
          failed(bad, 1, "extract of a corrupted file"),
          /BACKUP_INVALID/,
        );
        await assert.rejects(Deno.stat(`${out}/bad.db`), Deno.errors.NotFound);
        // The live database was never touched: no kept-aside copies beside it.
        for await (const entry of Deno.readDir(ctx.dataDir)) {
          assert.ok(!entry.name.includes("before-restore"), entry.name);
        }
      },
    );

    await t.step(
      "prune --keep N, as JSON and as text; --keep 0 is refused",
      async () => {
        const older: string[] = [];
        for (let day = 1; day <= 3; day++) {
          const backup = await createBackup(ctx.deps.config, {
            now: new Date(`2024-05-0${day}T00:00:00Z`),
          });
          older.push(backup.file.slice(backup.file.lastIndexOf("/") + 1));
        }
        assert.equal((await listBackups(backups)).length, 5);
        const [zero, junk, none] = await Promise.all([
          cli(["backup", "prune", "--keep", "0"]),
          cli(["backup", "prune", "--keep", "abc"]),
          cli(["backup", "prune"]),
        ]);
        assert.match(failed(zero, 1, "--keep 0"), /positive whole number/);
        assert.match(failed(junk, 1, "--keep abc"), /positive whole number/);
        assert.match(failed(none, 1, "no --keep"), /--keep/);
        assert.equal((await listBackups(backups)).length, 5);

        const many = JSON.parse(
          ok(
            await cli(["backup", "prune", "--keep", "9", "--json"]),
            "prune 9",
          ),
        );
        assert.deepEqual(many, { deleted: [] });

        const json = JSON.parse(
          ok(
            await cli(["backup", "prune", "--keep", "3", "--json"]),
            "prune 3",
          ),
        );
        assert.deepEqual(json.deleted.sort(), older.slice(0, 2).sort());
        const text = ok(
          await cli(["backup", "prune", "--keep", "2"]),
          "prune 2",
        );
        assert.equal(text, `Deleted ${older[2]}\n1 deleted, 2 kept at most\n`);
        assert.deepEqual(
          (await listBackups(backups)).map((b) => b.file).sort(),
          [textFile, jsonFile].sort(),
        );
      },
    );
  } finally {
    await ctx.close();
    for (const dir of cleanup) await Deno.remove(dir, { recursive: true });
  }
});

/** Sets a file's modification time to `ms` ago, as if its holder had stopped touching it. */
async function age(path: string, ms: number) {
  const then = new Date(Date.now() - ms);
  await Deno.utime(path, then, then);
}

/** Names in a folder that are kept-aside copies of a restore. */
async function keptAside(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.includes(".before-restore-")) names.push(entry.name);
  }
  return names.sort();
}

Deno.test("the backup CLI: restore refuses with SERVER_RUNNING (exit 1) while server.pid is fresh, and proceeds once it is stale", async () => {
  const ctx = await createTestContext();
  const target = await Deno.makeTempDir({ prefix: "lectern-cli-backup-" });
  const server = new Deno.Command("sleep", {
    args: ["5"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const backup = await createBackup(ctx.deps.config);
    ok(
      await runCliWith(target, ["backup", "restore", backup.file]),
      "restore",
    );
    const pidFile = `${target}/server.pid`;
    await Deno.writeTextFile(pidFile, String(server.pid));
    const before = await Deno.readFile(`${target}/lectern.db`);
    const refused = await runCliWith(target, [
      "backup",
      "restore",
      backup.file,
    ]);
    assert.match(
      failed(refused, 1, "restore while a server runs"),
      new RegExp(`process ${server.pid}\\).*SERVER_RUNNING`),
    );
    assert.equal(refused.stdout, "");
    assert.deepEqual(await Deno.readFile(`${target}/lectern.db`), before);
    assert.deepEqual(await keptAside(target), []);

    // A server that died without removing its pid file stops touching it: after STALE_AFTER_MS (2 min) it is stale.
    await age(pidFile, STALE_AFTER_MS + 1_000);
    const text = ok(
      await runCliWith(target, ["backup", "restore", backup.file]),
      "restore over a stale server.pid",
    );
    assert.match(text, /^Restored the backup of .+\nKept aside: /);
    const aside = (await keptAside(target)).filter((name) =>
      name.startsWith("lectern.db.before-restore-")
    );
    assert.equal(aside.length, 1, aside.join(", "));
    assert.equal(await Deno.readTextFile(pidFile), String(server.pid));
  } finally {
    server.kill("SIGKILL");
    await server.status;
    await ctx.close();
    await Deno.remove(target, { recursive: true });
  }
});

Deno.test("the backup CLI: restore refuses while a real server runs on the DATA_DIR, its heartbeat keeping server.pid fresh; after a clean stop it proceeds", async () => {
  const ctx = await createTestContext();
  const target = await Deno.makeTempDir({ prefix: "lectern-cli-backup-" });
  let child: Deno.ChildProcess | undefined;
  try {
    const marker = await recordEvent(ctx.deps.db, "program.viewed", {});
    const backup = await createBackup(ctx.deps.config);

    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-ffi",
        "--allow-sys",
        "server/main.ts",
      ],
      cwd: REPO_ROOT,
      clearEnv: true,
      env: {
        PORT: String(port),
        DATA_DIR: target,
        DATABASE_URL: `file:${target}/lectern.db`,
        LECTERN_ENV: "test",
        JWT_SECRET: TEST_JWT_SECRET,
        LOG_LEVEL: "info",
        APP_URL: "http://lectern.test",
        NO_COLOR: "1",
        DENO_NO_UPDATE_CHECK: "1",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output: string[] = [];
    const reading = (async () => {
      for await (
        const chunk of child.stdout.pipeThrough(new TextDecoderStream())
      ) output.push(chunk);
    })();
    const errors = new Response(child.stderr).text();
    const waitFor = async (done: () => Promise<boolean>, what: string) => {
      for (let i = 0; i < 300; i++) {
        if (await done()) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.fail(`gave up waiting (15 s): ${what}\n${output.join("")}`);
    };
    await waitFor(
      () => Promise.resolve(output.join("").includes("Lectern listening")),
      "the server to listen",
    );
    const pidFile = `${target}/server.pid`;
    assert.equal(await Deno.readTextFile(pidFile), String(child.pid));

    const refuse = async (what: string) => {
      const refused = await runCliWith(target, [
        "backup",
        "restore",
        backup.file,
      ]);
      assert.match(
        failed(refused, 1, what),
        new RegExp(`process ${child!.pid}\\).*SERVER_RUNNING`),
      );
      assert.deepEqual(await keptAside(target), [], what);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(ready.status, 200, `${what}: the server is unwell`);
      await ready.body?.cancel();
    };
    await refuse("restore while the server runs");

    // The server touches its pid file every 5 s: made to look 60 s old, it is fresh again soon.
    await age(pidFile, 2 * STALE_AFTER_MS);
    await waitFor(
      async () =>
        Date.now() - (await Deno.stat(pidFile)).mtime!.getTime() <
          STALE_AFTER_MS,
      "the server's heartbeat to touch server.pid",
    );
    await refuse("restore after the heartbeat");

    child.kill("SIGTERM");
    const status = await child.status;
    await reading;
    assert.equal(status.code, 0, await errors);
    child = undefined;
    await assert.rejects(Deno.stat(pidFile), Deno.errors.NotFound);

    const text = ok(
      await runCliWith(target, ["backup", "restore", backup.file]),
      "restore after the server stopped",
    );
    assert.match(text, /^Restored the backup of .+\nKept aside: /);
    const restored = await openAndCount(`${target}/lectern.db`);
    assert.equal(restored.integrity, "ok");
    assert.ok(restored.events.has(marker));
  } finally {
    if (child) {
      child.kill("SIGKILL");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    }
    await ctx.close();
    await Deno.remove(target, { recursive: true });
  }
});
