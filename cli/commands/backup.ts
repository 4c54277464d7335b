import { Command } from "@commander-js/extra-typings";
import { loadConfig } from "../../server/env.ts";
import { backupNow } from "../../server/features/backup/run.ts";
import {
  downloadBackup,
  listRemoteBackups,
  parseS3Url,
  pruneRemoteBackups,
} from "../../server/features/backup/s3.ts";
import {
  extractDatabase,
  listBackups,
  pruneBackups,
  restoreBackup,
  verifyBackup,
} from "../../server/features/backup/service.ts";
import {
  positiveInt,
  printJson,
  reportError,
  withServices,
} from "../context.ts";

export const backupCommand = new Command("backup").description(
  "Backups: a consistent snapshot of the database and media while the server runs; list, verify, restore, prune",
);

const config = () => loadConfig(Deno.env.toObject());
const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(2)} MB`;

const downloaded: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const path of downloaded) {
    try {
      Deno.removeSync(path);
    } catch { /* already gone */ }
  }
});

/** A local path, or `s3://bucket/key` fetched to a temporary file (removed on exit) first. */
async function localCopy(file: string): Promise<string> {
  if (!file.startsWith("s3://")) return file;
  const target = parseS3Url(file, config().backup.s3);
  const path = await Deno.makeTempFile({ suffix: ".tar.gz" });
  downloaded.push(path);
  await downloadBackup(
    { ...target, prefix: "" },
    target.prefix,
    path,
  );
  return path;
}

backupCommand.command("create")
  .description(
    "Take a backup now (a second one while one runs is refused); uploads when BACKUP_S3_* is set",
  )
  .option(
    "--to <dir|s3://bucket/prefix>",
    "where to put it (default BACKUP_DIR)",
  )
  .option("--json", "print the result as JSON")
  .action(async (options) => {
    try {
      const run = await withServices(({ deps }) =>
        backupNow(deps, options.to ? { to: options.to } : {})
      );
      if (options.json) {
        printJson(run);
        if (run.uploadError) Deno.exit(1);
        return;
      }
      console.log(
        `Backup ${run.file} (${
          mb(run.bytes)
        }, ${run.manifest.media.length} media file(s), sha256 ${
          run.sha256.slice(0, 16)
        })`,
      );
      if (run.uploaded) {
        console.log(
          `Uploaded to s3://${run.uploaded.bucket}/${run.uploaded.key}`,
        );
      }
      if (run.uploadError) {
        console.error(
          `error: the upload failed (the local copy is kept): ${run.uploadError}`,
        );
        Deno.exit(1);
      }
    } catch (error) {
      reportError(error);
    }
  });

backupCommand.command("list")
  .description(
    "Backups in BACKUP_DIR, newest first (and in the bucket with --remote)",
  )
  .option("--remote", "list the S3 bucket instead")
  .option("--json", "print as JSON")
  .action(async (options) => {
    try {
      const settings = config();
      if (options.remote) {
        if (!settings.backup.s3) {
          throw new Error(
            "set BACKUP_S3_BUCKET (and the other BACKUP_S3_* variables) first",
          );
        }
        const remote = await listRemoteBackups(settings.backup.s3);
        if (options.json) return printJson(remote);
        for (const b of remote) console.log(`${b.key}  ${mb(b.bytes)}`);
        return console.log(
          `${remote.length} backup(s) in s3://${settings.backup.s3.bucket}`,
        );
      }
      const local = await listBackups(settings.backup.dir);
      if (options.json) return printJson(local);
      for (const b of local) {
        console.log(`${b.file}  ${b.createdAt}  ${mb(b.bytes)}`);
      }
      console.log(`${local.length} backup(s) in ${settings.backup.dir}`);
    } catch (error) {
      reportError(error);
    }
  });

backupCommand.command("verify")
  .description(
    "Check an archive: checksums, manifest, PRAGMA integrity_check; exit 1 when it fails",
  )
  .argument("<file>", "a backup archive, or s3://bucket/key")
  .option("--json", "print the report as JSON")
  .action(async (file, options) => {
    try {
      const verified = await verifyBackup(await localCopy(file));
      if (options.json) {
        printJson({
          ok: verified.ok,
          problems: verified.problems,
          manifest: verified.manifest,
        });
      } else if (verified.ok) {
        const m = verified.manifest!;
        console.log(
          `OK: ${file} from ${m.createdAt}, app ${m.appVersion}, ${m.schema.migrations} migrations, ${
            Object.values(m.rowCounts).reduce((a, b) => a + b, 0)
          } rows, ${m.media.length} media file(s)`,
        );
      } else {
        for (const problem of verified.problems) {
          console.error(`error: ${problem}`);
        }
      }
      if (!verified.ok) Deno.exit(1);
    } catch (error) {
      reportError(error);
    }
  });

backupCommand.command("restore")
  .description(
    "Verify, then put the backup's database and media in place; what was there is kept aside",
  )
  .argument("<file>", "a backup archive, or s3://bucket/key")
  .option("--force", "restore even though a server is running on this database")
  .option(
    "--media-only",
    "restore only the media files (on a LiteFS cluster, where the database goes through `litefs import`)",
  )
  .option(
    "--extract-to <path>",
    "only write the database to this path (on a LiteFS cluster: then `litefs import`)",
  )
  .option("--json", "print the result as JSON")
  .action(async (file, options) => {
    try {
      const local = await localCopy(file);
      if (options.extractTo) {
        const manifest = await extractDatabase(local, options.extractTo);
        if (options.json) {
          return printJson({ extractedTo: options.extractTo, manifest });
        }
        return console.log(
          `Extracted the database of ${manifest.createdAt} to ${options.extractTo}`,
        );
      }
      const restored = await restoreBackup(config(), local, {
        force: options.force === true,
        mediaOnly: options.mediaOnly === true,
      });
      if (options.json) return printJson(restored);
      console.log(`Restored the backup of ${restored.manifest.createdAt}`);
      for (const path of restored.keptAside) console.log(`Kept aside: ${path}`);
    } catch (error) {
      reportError(error);
    }
  });

backupCommand.command("prune")
  .description("Delete all but the newest N backups")
  .requiredOption("--keep <n>", "how many to keep", positiveInt)
  .option("--remote", "prune the S3 bucket instead")
  .option("--json", "print the deleted names as JSON")
  .action(async (options) => {
    try {
      const settings = config();
      let deleted: string[];
      if (options.remote) {
        if (!settings.backup.s3) {
          throw new Error(
            "set BACKUP_S3_BUCKET (and the other BACKUP_S3_* variables) first",
          );
        }
        deleted = await pruneRemoteBackups(settings.backup.s3, options.keep);
      } else {
        deleted = await pruneBackups(settings.backup.dir, options.keep);
      }
      if (options.json) return printJson({ deleted });
      for (const name of deleted) console.log(`Deleted ${name}`);
      console.log(`${deleted.length} deleted, ${options.keep} kept at most`);
    } catch (error) {
      reportError(error);
    }
  });
