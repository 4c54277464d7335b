import { and, eq } from "drizzle-orm";
import { clusterRole } from "../../lib/cluster.ts";
import { users } from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { queueEmail } from "../email/service.ts";
import {
  createBackup,
  type CreatedBackup,
  listBackups,
  pruneBackups,
} from "./service.ts";
import { parseS3Url, pruneRemoteBackups, uploadBackup } from "./s3.ts";

type RunDeps = Pick<Deps, "db" | "mail" | "logger" | "background" | "config">;

export interface BackupRun extends CreatedBackup {
  uploaded?: { bucket: string; key: string };
  uploadError?: string;
}

/**
 * `backup create` and the scheduled backup: the archive is always written locally first; then, with
 * `s3://bucket/prefix` as `to` or BACKUP_S3_* set, uploaded. A failed upload keeps the local copy,
 * is reported in the result and the log, and is emailed to every administrator.
 */
export async function backupNow(
  deps: RunDeps,
  options: { to?: string } = {},
): Promise<BackupRun> {
  const toS3 = options.to?.startsWith("s3://");
  const created = await createBackup(deps.config, {
    ...(options.to && !toS3 ? { dir: options.to } : {}),
  });
  const remote = toS3
    ? parseS3Url(options.to!, deps.config.backup.s3)
    : deps.config.backup.s3;
  if (!remote) return created;
  try {
    return { ...created, uploaded: await uploadBackup(remote, created.file) };
  } catch (error) {
    const uploadError = error instanceof Error
      ? `${error.name}: ${error.message}`.slice(0, 500)
      : String(error);
    deps.logger.error("backup upload failed; the local copy is kept", {
      file: created.file,
      bucket: remote.bucket,
      error: uploadError,
    });
    // On a replica (backups may run there) the outbox is read-only: the log and the result say it.
    if (clusterRole(deps.config.litefsDir).primary) {
      await tellAdmins(
        deps,
        created.file,
        `s3://${remote.bucket}/${remote.prefix}`,
        uploadError,
      ).catch((failure) =>
        deps.logger.error("could not email the administrators", {
          error: String(failure),
        })
      );
    }
    return { ...created, uploadError };
  }
}

async function tellAdmins(
  deps: RunDeps,
  file: string,
  destination: string,
  error: string,
) {
  const admins = await deps.db.select({ email: users.email, name: users.name })
    .from(users).where(
      and(eq(users.role, "admin"), eq(users.status, "active")),
    );
  for (const admin of admins) {
    await queueEmail(deps, admin.email, "backup_upload_failed", {
      name: admin.name,
      file,
      destination,
      error,
    });
  }
}

/**
 * The scheduled job, checked every few minutes: a backup when the newest one is older than
 * BACKUP_SCHEDULE (so restarts and deploys never push it back), then only the newest BACKUP_KEEP
 * kept, locally and remotely.
 */
export async function scheduledBackup(
  deps: RunDeps,
  now = Date.now(),
): Promise<string> {
  const [newest] = await listBackups(deps.config.backup.dir);
  if (
    newest && now - Date.parse(newest.createdAt) < deps.config.backup.everyMs
  ) {
    return `not due (newest ${newest.createdAt})`;
  }
  const run = await backupNow(deps);
  const keep = deps.config.backup.keep;
  const pruned = await pruneBackups(deps.config.backup.dir, keep);
  if (deps.config.backup.s3 && run.uploaded) {
    pruned.push(...await pruneRemoteBackups(deps.config.backup.s3, keep));
  }
  return `${run.file}${run.uploaded ? " (uploaded)" : ""}${
    run.uploadError ? " (upload failed)" : ""
  }; pruned ${pruned.length}`;
}
