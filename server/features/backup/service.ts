import { createClient } from "@libsql/client";
import { API_VERSION } from "../../version.ts";
import type { Config } from "../../env.ts";
import { AppError, conflict, notFound } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { sha256Hex } from "../../lib/storage.ts";
import { gunzip, gzip, packTar, type TarEntry, unpackTar } from "./tar.ts";

export const BACKUP_FORMAT = "lectern-backup/1";
/** What CompressionStream writes: magic, deflate, no flags, no time, no extra flags, unknown OS. */
const GZIP_HEADER = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
const DB_ENTRY = "lectern.db";
const MEDIA_PREFIX = "media/";
const NAME_PATTERN = /^lectern-(\d{8}T\d{6})(\d{3})?Z-[0-9a-z]{6}\.tar\.gz$/;

export interface ManifestPart {
  path: string;
  sha256: string;
  bytes: number;
}

export interface Manifest {
  format: string;
  appVersion: string;
  createdAt: string;
  schema: { migrations: number; last: string | null };
  database: ManifestPart;
  media: ManifestPart[];
  /** The school's signing key file, when it lived in DATA_DIR. */
  signingKey?: ManifestPart;
  rowCounts: Record<string, number>;
}

type BackupConfig = Pick<Config, "dataDir" | "databaseUrl" | "backup">;

/** The school's signing key, when it lives in DATA_DIR: credentials must keep verifying after a restore. */
const KEY_FILE = "credential_signing_key.jwk";
const KEY_ENTRY = `keys/${KEY_FILE}`;

/** Writes a file and flushes it to the disk before returning (then a rename makes it visible). */
async function writeDurably(path: string, data: Uint8Array, mode?: number) {
  const file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
    ...(mode ? { mode } : {}),
  });
  try {
    let written = 0;
    while (written < data.length) {
      written += await file.write(data.subarray(written));
    }
    await file.syncData();
  } finally {
    file.close();
  }
}

/** Flushes a folder's entries (a rename in it) to the disk; best effort where that is refused. */
async function syncFolder(path: string) {
  try {
    const folder = await Deno.open(path, { read: true });
    try {
      await folder.sync();
    } finally {
      folder.close();
    }
  } catch {
    // Some file systems do not let a folder be opened or synced.
  }
}

/** The database file behind a `file:` URL; backups and restores need one. */
export function databasePath(config: Pick<Config, "databaseUrl">): string {
  const url = config.databaseUrl;
  if (!url.startsWith("file:") || url === "file::memory:") {
    throw new AppError(
      422,
      "NOT_A_FILE_DATABASE",
      "Backups work on a local SQLite file (DATABASE_URL=file:...); back up a remote libSQL server with its own tools",
    );
  }
  return url.slice("file:".length).split("?")[0]!;
}

/** `20261121T134351123Z`: sorts as time does, to the millisecond. */
const stamp = (date: Date) => date.toISOString().replace(/[-:.]/g, "");

// ---- the lock: one backup at a time, across processes -------------------------------------------

/**
 * Whether a lock or pid file is held: its holder touches it every few seconds, so a file not
 * touched for a while was left by a process that died. (Checking the pid itself would need /proc,
 * which Deno opens only with every permission.)
 */
const HEARTBEAT_MS = 5_000;
export const STALE_AFTER_MS = 120_000;

async function isFresh(path: string): Promise<boolean> {
  try {
    const { mtime } = await Deno.stat(path);
    return mtime !== null && Date.now() - mtime.getTime() < STALE_AFTER_MS;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Keeps `path`'s modification time fresh until the returned function is called. */
export function heartbeat(path: string): () => void {
  const timer = setInterval(() => {
    const now = new Date();
    Deno.utime(path, now, now).catch(() => {});
  }, HEARTBEAT_MS);
  return () => clearInterval(timer);
}

/** Snapshots and half-written archives of a backup that was killed; only called under the lock. */
async function removeLeftovers(dir: string) {
  for await (const entry of Deno.readDir(dir)) {
    if (/^\.snapshot-.*\.db$|\.tar\.gz\.part$/.test(entry.name)) {
      await Deno.remove(`${dir}/${entry.name}`).catch(() => {});
    }
  }
}

/** Takes `<dir>/.backup.lock`, or fails with 409 while another backup holds it. */
async function takeLock(dir: string): Promise<() => Promise<void>> {
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/.backup.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const token = `${Deno.pid} ${newId()}`;
      await Deno.writeTextFile(path, token, { createNew: true });
      const stop = heartbeat(path);
      await removeLeftovers(dir);
      return async () => {
        stop();
        // Only our own lock: if we stalled past the stale time, another backup may hold it now.
        const holder = await Deno.readTextFile(path).catch(() => "");
        if (holder === token) await Deno.remove(path).catch(() => {});
      };
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      if (await isFresh(path)) {
        const holder = await Deno.readTextFile(path).catch(() => "");
        const pid = holder.split(" ")[0];
        throw conflict(
          "BACKUP_RUNNING",
          `A backup is already running${
            pid ? ` (process ${pid})` : ""
          }; try again when it has finished`,
        );
      }
      await Deno.remove(path).catch(() => {}); // left by a process that died
    }
  }
  throw conflict("BACKUP_RUNNING", "A backup is already running");
}

// ---- snapshot -------------------------------------------------------------------------------------

/** Table name -> rows, and the migrations applied, read from a database file. */
async function describeDatabase(path: string) {
  const client = createClient({ url: `file:${path}` });
  try {
    const tables = await client.execute(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    );
    const rowCounts: Record<string, number> = {};
    for (const row of tables.rows) {
      const name = String(row[0]);
      const counted = await client.execute(
        `SELECT count(*) FROM "${name.replace(/"/g, '""')}"`,
      );
      rowCounts[name] = Number(counted.rows[0]![0]);
    }
    let schema: Manifest["schema"] = { migrations: 0, last: null };
    if (rowCounts.__drizzle_migrations !== undefined) {
      const last = await client.execute(
        "SELECT hash FROM __drizzle_migrations ORDER BY created_at DESC LIMIT 1",
      );
      schema = {
        migrations: rowCounts.__drizzle_migrations,
        last: last.rows[0] ? String(last.rows[0][0]) : null,
      };
    }
    const integrity = await client.execute("PRAGMA integrity_check");
    return {
      rowCounts,
      schema,
      integrity: integrity.rows.map((row) => String(row[0])),
    };
  } finally {
    client.close();
  }
}

async function mediaFiles(root: string, under = ""): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${root}/${under}`)) {
      const path = under ? `${under}/${entry.name}` : entry.name;
      if (entry.isDirectory) out.push(...await mediaFiles(root, path));
      // `*.tmp` are uploads being written; they become real files by a rename.
      else if (entry.isFile && !entry.name.endsWith(".tmp")) out.push(path);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return out.sort();
}

export interface CreatedBackup {
  file: string;
  bytes: number;
  sha256: string;
  manifest: Manifest;
}

/**
 * A consistent online snapshot: `VACUUM INTO` on a connection of its own (a read transaction, so
 * the server keeps writing meanwhile and nothing committed after it starts is half in), plus the
 * media files, packed with a manifest into `lectern-<time>-<id>.tar.gz` in `dir`.
 */
export async function createBackup(
  config: BackupConfig,
  options: { dir?: string; now?: Date } = {},
): Promise<CreatedBackup> {
  const dir = (options.dir ?? config.backup.dir).replace(/\/+$/, "");
  const source = databasePath(config);
  const release = await takeLock(dir);
  const id = newId().slice(-6).toLowerCase();
  const snapshot = `${dir}/.snapshot-${id}.db`;
  try {
    const client = createClient({ url: `file:${source}` });
    try {
      await client.execute({ sql: "VACUUM INTO ?", args: [snapshot] });
    } finally {
      client.close();
    }
    const described = await describeDatabase(snapshot);
    if (described.integrity.join() !== "ok") {
      throw new Error(
        `the snapshot failed integrity_check: ${
          described.integrity.join("; ")
        }`,
      );
    }
    const database = await Deno.readFile(snapshot);
    const entries: TarEntry[] = [{ name: DB_ENTRY, data: database }];
    const media: ManifestPart[] = [];
    const mediaRoot = `${config.dataDir}/media`;
    for (const path of await mediaFiles(mediaRoot)) {
      let data: Uint8Array;
      try {
        data = await Deno.readFile(`${mediaRoot}/${path}`);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue; // deleted meanwhile
        throw error;
      }
      media.push({ path, sha256: await sha256Hex(data), bytes: data.length });
      entries.push({ name: `${MEDIA_PREFIX}${path}`, data });
    }
    const key = await Deno.readFile(`${config.dataDir}/${KEY_FILE}`).catch(
      () => undefined,
    );
    if (key) entries.push({ name: KEY_ENTRY, data: key });
    const createdAt = options.now ?? new Date();
    const manifest: Manifest = {
      format: BACKUP_FORMAT,
      appVersion: API_VERSION,
      createdAt: createdAt.toISOString(),
      schema: described.schema,
      database: {
        path: DB_ENTRY,
        sha256: await sha256Hex(database),
        bytes: database.length,
      },
      media,
      ...(key
        ? {
          signingKey: {
            path: KEY_ENTRY,
            sha256: await sha256Hex(key),
            bytes: key.length,
          },
        }
        : {}),
      rowCounts: described.rowCounts,
    };
    entries.unshift({
      name: "manifest.json",
      data: new TextEncoder().encode(JSON.stringify(manifest, null, 2)),
    });
    const archive = await gzip(packTar(entries, createdAt.getTime()));
    const file = `${dir}/lectern-${stamp(createdAt)}-${id}.tar.gz`;
    try {
      await writeDurably(`${file}.part`, archive);
      await Deno.rename(`${file}.part`, file);
      await syncFolder(dir);
    } catch (error) {
      await Deno.remove(`${file}.part`).catch(() => {});
      throw error;
    }
    return {
      file,
      bytes: archive.length,
      sha256: await sha256Hex(archive),
      manifest,
    };
  } finally {
    await Deno.remove(snapshot).catch(() => {});
    await release();
  }
}

/** Why an archive entry's name could write outside where it belongs, or nothing when it is safe. */
function unsafeName(name: string): string | undefined {
  if (
    !name || name.startsWith("/") || name.includes("\\") || name.includes("\0")
  ) {
    return "not a plain relative path";
  }
  if (
    name.split("/").some((part) => part === "" || part === "." || part === "..")
  ) {
    return "has an empty, . or .. part";
  }
  return undefined;
}

// ---- list, verify, prune ----------------------------------------------------------------------------

export interface BackupFile {
  name: string;
  file: string;
  bytes: number;
  createdAt: string;
}

/** The archives in `dir`, newest first. */
export async function listBackups(dir: string): Promise<BackupFile[]> {
  const out: BackupFile[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const match = entry.isFile ? NAME_PATTERN.exec(entry.name) : null;
      if (!match) continue;
      const stat = await Deno.stat(`${dir}/${entry.name}`);
      const t = match[1]!;
      out.push({
        name: entry.name,
        file: `${dir}/${entry.name}`,
        bytes: stat.size,
        createdAt: `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${
          t.slice(9, 11)
        }:${t.slice(11, 13)}:${t.slice(13, 15)}.${match[2] ?? "000"}Z`,
      });
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return out.sort((a, b) => b.name.localeCompare(a.name));
}

/** Deletes all but the newest `keep` archives in `dir`; returns the deleted names. */
export async function pruneBackups(dir: string, keep: number) {
  if (!Number.isInteger(keep) || keep < 1) {
    throw new AppError(422, "VALIDATION_FAILED", "keep must be at least 1", {
      fields: { keep: "Must be a whole number, at least 1" },
    });
  }
  const doomed = (await listBackups(dir)).slice(keep);
  for (const backup of doomed) await Deno.remove(backup.file);
  return doomed.map((backup) => backup.name);
}

export interface Verified {
  ok: boolean;
  problems: string[];
  manifest?: Manifest;
  entries: TarEntry[];
}

/**
 * Checks an archive without touching anything: it unpacks, it has a manifest of this format,
 * every part's SHA-256 matches, nothing is missing or extra, and the database passes
 * `PRAGMA integrity_check`.
 */
export async function verifyBackup(file: string): Promise<Verified> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw notFound("Backup file");
    throw error;
  }
  const problems: string[] = [];
  // Every archive is written by createBackup, whose gzip header never varies; gzip's own CRC
  // covers only the content, so a changed header byte is caught here.
  if (!GZIP_HEADER.every((byte, i) => bytes[i] === byte)) {
    return {
      ok: false,
      problems: ["the archive's gzip header is not the one Lectern writes"],
      entries: [],
    };
  }
  let entries: TarEntry[];
  try {
    entries = unpackTar(await gunzip(bytes));
  } catch (error) {
    return {
      ok: false,
      problems: [`the archive cannot be read: ${(error as Error).message}`],
      entries: [],
    };
  }
  const names = new Set<string>();
  for (const entry of entries) {
    const problem = unsafeName(entry.name);
    if (problem) problems.push(`${JSON.stringify(entry.name)}: ${problem}`);
    if (names.has(entry.name)) {
      problems.push(`${entry.name} is in the archive twice`);
    }
    names.add(entry.name);
  }
  for (const name of names) {
    // A file whose path is also a folder of another file could not be restored.
    if ([...names].some((other) => other.startsWith(`${name}/`))) {
      problems.push(`${name} is both a file and a folder`);
    }
  }
  if (problems.length > 0) return { ok: false, problems, entries: [] };
  const byName = new Map(entries.map((entry) => [entry.name, entry]));
  const manifestEntry = byName.get("manifest.json");
  if (!manifestEntry) {
    return { ok: false, problems: ["manifest.json is missing"], entries };
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(manifestEntry.data));
  } catch {
    return { ok: false, problems: ["manifest.json is not JSON"], entries };
  }
  if (typeof manifest !== "object" || manifest === null) {
    return { ok: false, problems: ["manifest.json is not an object"], entries };
  }
  if (manifest.format !== BACKUP_FORMAT) {
    problems.push(`unknown format ${String(manifest.format)}`);
  }
  if (
    manifest.database?.path !== DB_ENTRY ||
    !Array.isArray(manifest.media ?? [])
  ) {
    return {
      ok: false,
      problems: [`manifest.json does not describe the database ${DB_ENTRY}`],
      entries,
    };
  }
  const parts = [
    manifest.database,
    ...(manifest.media ?? []).map((part) => ({
      ...part,
      path: `${MEDIA_PREFIX}${part.path}`,
    })),
    ...(manifest.signingKey ? [manifest.signingKey] : []),
  ];
  for (const part of parts) {
    const entry = byName.get(part.path);
    if (!entry) {
      problems.push(`${part.path} is missing`);
    } else if (
      entry.data.length !== part.bytes ||
      await sha256Hex(entry.data) !== part.sha256
    ) {
      problems.push(`${part.path} does not match its checksum`);
    }
  }
  const listed = new Set(["manifest.json", ...parts.map((part) => part.path)]);
  for (const entry of entries) {
    if (!listed.has(entry.name)) {
      problems.push(`${entry.name} is not in the manifest`);
    }
  }
  const database = byName.get(DB_ENTRY);
  if (database && problems.length === 0) {
    const temp = await Deno.makeTempFile({ suffix: ".db" });
    try {
      await Deno.writeFile(temp, database.data);
      const described = await describeDatabase(temp);
      if (described.integrity.join() !== "ok") {
        problems.push(
          `integrity_check: ${described.integrity.slice(0, 5).join("; ")}`,
        );
      }
    } catch (error) {
      problems.push(
        `the database cannot be opened: ${(error as Error).message}`,
      );
    } finally {
      await Deno.remove(temp).catch(() => {});
    }
  }
  return { ok: problems.length === 0, problems, manifest, entries };
}

// ---- restore ----------------------------------------------------------------------------------------

/** `DATA_DIR/server.pid`, written by a running server: restore refuses while it is alive. */
export const serverPidFile = (config: Pick<Config, "dataDir">) =>
  `${config.dataDir}/server.pid`;

async function runningServer(
  config: Pick<Config, "dataDir">,
): Promise<string | undefined> {
  const path = serverPidFile(config);
  if (!(await isFresh(path))) return undefined;
  const pid = (await Deno.readTextFile(path).catch(() => "")).trim();
  return pid || "unknown";
}

export interface Restored {
  manifest: Manifest;
  /** Where the database (and media) that were there before now are. */
  keptAside: string[];
}

/**
 * Verifies the archive first, then puts its database, media and signing key in place. What was
 * there is moved aside (`*.before-restore-<time>-<id>`), never deleted, so a bad restore can be
 * undone by moving it back. The new database is written and flushed before the old one moves, and
 * replaces it with one rename, so there is never a moment without a database. Refuses while a
 * server runs on this database, unless `force`, and on a LiteFS mount (use `--extract-to` and
 * `litefs import` there).
 */
export async function restoreBackup(
  config: BackupConfig & Pick<Config, "litefsDir">,
  file: string,
  options: { force?: boolean; now?: Date; mediaOnly?: boolean } = {},
): Promise<Restored> {
  const verified = await verifyBackup(file);
  if (!verified.ok || !verified.manifest) {
    throw new AppError(
      422,
      "BACKUP_INVALID",
      `The backup failed verification: ${verified.problems.join("; ")}`,
      { problems: verified.problems },
    );
  }
  const target = databasePath(config);
  if (
    !options.mediaOnly && config.litefsDir &&
    target.startsWith(`${config.litefsDir}/`)
  ) {
    throw conflict(
      "LITEFS_RESTORE",
      "The database lives on a LiteFS mount: restore it with `backup restore FILE --extract-to PATH` and `litefs import`, and the media with `--media-only`",
    );
  }
  const pid = await runningServer(config);
  if (pid && !options.force) {
    throw conflict(
      "SERVER_RUNNING",
      `A Lectern server (process ${pid}) is using this database: stop it first, or pass --force`,
    );
  }
  const suffix = `.before-restore-${stamp(options.now ?? new Date())}-${
    newId().slice(-4).toLowerCase()
  }`;
  const keptAside: string[] = [];
  const moveAside = async (from: string, to: string) => {
    try {
      await Deno.rename(from, to);
      keptAside.push(to);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  };
  const entry = (name: string) =>
    verified.entries.find((candidate) => candidate.name === name);

  // Media first, into a folder of their own, swapped in whole at the end.
  const mediaRoot = `${config.dataDir}/media`;
  const incoming = `${mediaRoot}.restoring-${newId().slice(-6).toLowerCase()}`;
  await Deno.mkdir(incoming, { recursive: true });
  try {
    for (const { name, data } of verified.entries) {
      if (!name.startsWith(MEDIA_PREFIX)) continue;
      const path = `${incoming}/${name.slice(MEDIA_PREFIX.length)}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), {
        recursive: true,
      });
      await Deno.writeFile(path, data);
    }
  } catch (error) {
    await Deno.remove(incoming, { recursive: true }).catch(() => {});
    throw error;
  }

  if (!options.mediaOnly) {
    const folder = target.slice(0, Math.max(target.lastIndexOf("/"), 0)) || ".";
    await Deno.mkdir(folder, { recursive: true });
    await writeDurably(`${target}.restoring`, entry(DB_ENTRY)!.data);
    // Fold the old WAL into the old file, so the copy kept aside is whole on its own.
    await checkpoint(target);
    try {
      await Deno.link(target, `${target}${suffix}`);
      keptAside.push(`${target}${suffix}`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    await moveAside(`${target}-wal`, `${target}${suffix}-wal`);
    await moveAside(`${target}-shm`, `${target}${suffix}-shm`);
    await moveAside(`${target}-journal`, `${target}${suffix}-journal`);
    await Deno.rename(`${target}.restoring`, target);
    await syncFolder(folder);
    const key = entry(KEY_ENTRY);
    if (key) {
      const keyPath = `${config.dataDir}/${KEY_FILE}`;
      await moveAside(keyPath, `${keyPath}${suffix}`);
      await writeDurably(keyPath, key.data, 0o600);
    }
  }
  await moveAside(mediaRoot, `${mediaRoot}${suffix}`);
  await Deno.rename(incoming, mediaRoot);
  return { manifest: verified.manifest, keptAside };
}

/** `PRAGMA wal_checkpoint(TRUNCATE)` on a database file, if there is one. */
async function checkpoint(path: string) {
  try {
    await Deno.stat(path);
  } catch {
    return;
  }
  const client = createClient({ url: `file:${path}` });
  try {
    await client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
  } catch {
    // A damaged old database is still moved aside as it is.
  } finally {
    client.close();
  }
}

/** Writes only the archive's database to `path` (for `litefs import` on a cluster). */
export async function extractDatabase(file: string, path: string) {
  const verified = await verifyBackup(file);
  if (!verified.ok) {
    throw new AppError(
      422,
      "BACKUP_INVALID",
      `The backup failed verification: ${verified.problems.join("; ")}`,
      { problems: verified.problems },
    );
  }
  const database = verified.entries.find((entry) => entry.name === DB_ENTRY)!;
  await writeDurably(path, database.data);
  return verified.manifest!;
}
