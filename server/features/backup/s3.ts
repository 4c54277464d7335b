import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import type { S3Config } from "../../env.ts";

/** `s3://bucket/some/prefix` -> bucket and prefix; the rest of the settings come from BACKUP_S3_*. */
export function parseS3Url(url: string, base: S3Config | undefined): S3Config {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match) throw new Error(`not an s3:// address: ${url}`);
  return {
    region: base?.region ?? "auto",
    endpoint: base?.endpoint,
    accessKeyId: base?.accessKeyId,
    secretAccessKey: base?.secretAccessKey,
    forcePathStyle: base?.forcePathStyle ?? false,
    bucket: match[1]!,
    prefix: match[2]!.replace(/^\/+|\/+$/g, ""),
  };
}

function client(config: S3Config) {
  return new S3Client({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.forcePathStyle,
    ...(config.accessKeyId && config.secretAccessKey
      ? {
        credentials: {
          accessKeyId: config.accessKeyId,
          secretAccessKey: config.secretAccessKey,
        },
      }
      : {}),
  });
}

const BACKUP_NAME = /^lectern-\d{8}T\d{6}(\d{3})?Z-[0-9a-z]{6}\.tar\.gz$/;

const keyOf = (config: S3Config, name: string) =>
  config.prefix ? `${config.prefix}/${name}` : name;

export async function uploadBackup(config: S3Config, file: string) {
  const name = file.slice(file.lastIndexOf("/") + 1);
  const key = keyOf(config, name);
  const s3 = client(config);
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: config.bucket,
        Key: key,
        Body: await Deno.readFile(file),
        ContentType: "application/gzip",
      }),
    );
  } finally {
    s3.destroy();
  }
  return { bucket: config.bucket, key };
}

export interface RemoteBackup {
  name: string;
  key: string;
  bytes: number;
  lastModified: string | null;
}

/** Backups under the prefix, newest first (names sort by time). */
export async function listRemoteBackups(
  config: S3Config,
): Promise<RemoteBackup[]> {
  const s3 = client(config);
  const out: RemoteBackup[] = [];
  try {
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: config.bucket,
          Prefix: config.prefix ? `${config.prefix}/` : undefined,
          // Only this folder: never another deployment's backups below it.
          Delimiter: "/",
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) {
        const name = object.Key!.slice(object.Key!.lastIndexOf("/") + 1);
        if (!BACKUP_NAME.test(name)) continue;
        out.push({
          name,
          key: object.Key!,
          bytes: object.Size ?? 0,
          lastModified: object.LastModified?.toISOString() ?? null,
        });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } finally {
    s3.destroy();
  }
  return out.sort((a, b) => b.name.localeCompare(a.name));
}

export async function downloadBackup(
  config: S3Config,
  key: string,
  path: string,
): Promise<void> {
  const s3 = client(config);
  try {
    const object = await s3.send(
      new GetObjectCommand({ Bucket: config.bucket, Key: key }),
    );
    const bytes = await object.Body!.transformToByteArray();
    await Deno.writeFile(path, bytes);
  } finally {
    s3.destroy();
  }
}

export async function pruneRemoteBackups(config: S3Config, keep: number) {
  if (!Number.isInteger(keep) || keep < 1) {
    throw new Error("keep must be a whole number, at least 1");
  }
  const doomed = (await listRemoteBackups(config)).slice(keep);
  const s3 = client(config);
  try {
    for (const backup of doomed) {
      await s3.send(
        new DeleteObjectCommand({ Bucket: config.bucket, Key: backup.key }),
      );
    }
  } finally {
    s3.destroy();
  }
  return doomed.map((backup) => backup.name);
}
