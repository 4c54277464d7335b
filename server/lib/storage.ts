import { badRequest } from "./errors.ts";

/** Where uploaded media bytes live; local disk today, an S3-compatible store later. */
export interface MediaStorage {
  put(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /**
   * The bytes of `key` (or of `range`, both ends inclusive, already checked against the size) and
   * the whole file's size; null when there is no such file.
   */
  get(
    key: string,
    range?: ByteRange,
  ): Promise<{ body: ReadableStream<Uint8Array>; size: number } | null>;
  /** The file's size in bytes without opening it for reading; null when there is none. */
  size(key: string): Promise<number | null>;
  /** A path on this machine's disk for tools that need one (ffmpeg); null when there is none. */
  localPath(key: string): string | null;
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
}

export interface ByteRange {
  start: number;
  end: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const EXT = /^[a-z0-9]{1,8}$/;
const VARIANT = /^[a-z0-9]{1,32}$/;
// The two folder levels must repeat the hash's first four characters.
const CONTENT_KEY =
  /^([0-9a-f]{2})\/([0-9a-f]{2})\/\1\2[0-9a-f]{60}(-[a-z0-9]{1,32})?\.[a-z0-9]{1,8}$/;

/** Lowercase hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    bytes as Uint8Array<ArrayBuffer>,
  );
  return Array.from(
    new Uint8Array(digest),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("");
}

/**
 * Content-addressed key, e.g. `ab/cd/abcd…(64 hex)-thumbnail.webp`. The two
 * folder levels keep any one directory from holding too many files.
 */
export function contentKey(
  sha256: string,
  ext: string,
  variant?: string,
): string {
  if (!SHA256_HEX.test(sha256)) {
    throw new TypeError("contentKey needs a lowercase hex SHA-256");
  }
  if (!EXT.test(ext)) throw new TypeError(`Invalid extension: ${ext}`);
  if (variant !== undefined && !VARIANT.test(variant)) {
    throw new TypeError(`Invalid variant: ${variant}`);
  }
  const folders = `${sha256.slice(0, 2)}/${sha256.slice(2, 4)}`;
  const suffix = variant === undefined ? "" : `-${variant}`;
  return `${folders}/${sha256}${suffix}.${ext}`;
}

export function isContentKey(key: string): boolean {
  return CONTENT_KEY.test(key);
}

/** Stores each key as a file under `root`; only keys shaped like `contentKey` output are accepted. */
export class LocalMediaStorage implements MediaStorage {
  constructor(private readonly root: string) {
    if (root === "") throw new TypeError("LocalMediaStorage needs a root");
  }

  async put(key: string, bytes: Uint8Array, _contentType: string) {
    const path = this.pathOf(key);
    await Deno.mkdir(dirname(path), { recursive: true });
    // Written beside the target then renamed, so readers never see a partial file.
    const temp = `${path}.${crypto.randomUUID()}.tmp`;
    try {
      await writeDurably(temp, bytes);
      await Deno.rename(temp, path);
    } catch (error) {
      await Deno.remove(temp).catch(() => {});
      throw error;
    }
  }

  async get(key: string, range?: ByteRange) {
    const path = this.pathOf(key);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
    try {
      const info = await file.stat();
      if (!info.isFile) {
        file.close();
        return null;
      }
      if (!range) return { body: file.readable, size: info.size };
      await file.seek(range.start, Deno.SeekMode.Start);
      return {
        body: limitStream(file, range.end - range.start + 1),
        size: info.size,
      };
    } catch (error) {
      file.close();
      throw error;
    }
  }

  async delete(key: string) {
    try {
      await Deno.remove(this.pathOf(key));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  async size(key: string) {
    try {
      const info = await Deno.stat(this.pathOf(key));
      return info.isFile ? info.size : null;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
  }

  localPath(key: string): string {
    return this.pathOf(key);
  }

  async exists(key: string) {
    try {
      return (await Deno.stat(this.pathOf(key))).isFile;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
  }

  private pathOf(key: string): string {
    if (!isContentKey(key)) {
      throw badRequest("INVALID_MEDIA_KEY", "Not a valid media key", { key });
    }
    return `${this.root}/${key}`;
  }
}

function dirname(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}

/** Writes every byte and flushes it to disk before the caller renames the file into place. */
async function writeDurably(path: string, bytes: Uint8Array) {
  using file = await Deno.open(path, { write: true, createNew: true });
  let written = 0;
  while (written < bytes.length) {
    written += await file.write(bytes.subarray(written));
  }
  await file.sync();
}

/** Reads at most `length` bytes from the file's current position, then closes it. */
function limitStream(
  file: Deno.FsFile,
  length: number,
): ReadableStream<Uint8Array> {
  let left = length;
  const CHUNK = 64 * 1024;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (left <= 0) {
        file.close();
        controller.close();
        return;
      }
      const buffer = new Uint8Array(Math.min(CHUNK, left));
      const read = await file.read(buffer);
      if (read === null || read === 0) {
        file.close();
        controller.close();
        return;
      }
      left -= read;
      controller.enqueue(buffer.subarray(0, read));
    },
    cancel() {
      file.close();
    },
  }, { highWaterMark: 1 });
}
