/**
 * A minimal POSIX ustar reader and writer for backup archives: regular files only, names up to
 * 255 bytes (prefix + name), gzip around it. Written here because @std/tar is on JSR, which this
 * project cannot reach, and the format is small enough to own.
 */
const BLOCK = 512;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface TarEntry {
  name: string;
  data: Uint8Array;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

function header(name: string, size: number, mtime: number): Uint8Array {
  const block = new Uint8Array(BLOCK);
  const bytes = encoder.encode(name);
  let prefix = new Uint8Array();
  let base = bytes;
  if (bytes.length > 100) {
    const slash = name.lastIndexOf("/", 155);
    const head = encoder.encode(name.slice(0, slash));
    const tail = encoder.encode(name.slice(slash + 1));
    if (slash <= 0 || head.length > 155 || tail.length > 100) {
      throw new Error(`tar: the name is too long: ${name}`);
    }
    prefix = head;
    base = tail;
  }
  const put = (text: string | Uint8Array, offset: number) =>
    block.set(typeof text === "string" ? encoder.encode(text) : text, offset);
  put(base, 0);
  put(octal(0o644, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(size, 12), 124);
  put(octal(Math.floor(mtime / 1000), 12), 136);
  put("        ", 148); // the checksum field counts as spaces while summing
  put("0", 156);
  put("ustar\u000000", 257);
  put(prefix, 345);
  const sum = block.reduce((total, byte) => total + byte, 0);
  put(octal(sum, 7) + " ", 148);
  return block;
}

export function packTar(entries: TarEntry[], mtime = Date.now()): Uint8Array {
  const size = entries.reduce(
    (total, entry) =>
      total + BLOCK + Math.ceil(entry.data.length / BLOCK) * BLOCK,
    2 * BLOCK,
  );
  const out = new Uint8Array(size);
  let offset = 0;
  for (const entry of entries) {
    out.set(header(entry.name, entry.data.length, mtime), offset);
    offset += BLOCK;
    out.set(entry.data, offset);
    offset += Math.ceil(entry.data.length / BLOCK) * BLOCK;
  }
  return out; // the two zero blocks that end an archive are already there
}

const text = (bytes: Uint8Array) => decoder.decode(bytes).replace(/\0.*$/s, "");

export function unpackTar(bytes: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  while (offset + BLOCK <= bytes.length) {
    const block = bytes.subarray(offset, offset + BLOCK);
    if (block.every((byte) => byte === 0)) break;
    const stored = parseInt(text(block.subarray(148, 156)).trim(), 8);
    const copy = new Uint8Array(block);
    copy.set(encoder.encode("        "), 148);
    if (copy.reduce((total, byte) => total + byte, 0) !== stored) {
      throw new Error(`tar: a damaged header at byte ${offset}`);
    }
    const size = parseInt(text(block.subarray(124, 136)).trim(), 8);
    const prefix = text(block.subarray(345, 500));
    const name = (prefix ? `${prefix}/` : "") + text(block.subarray(0, 100));
    const type = String.fromCharCode(block[156]!);
    offset += BLOCK;
    if (offset + size > bytes.length) {
      throw new Error("tar: the archive is cut short");
    }
    if (type === "0" || type === "\0") {
      entries.push({ name, data: bytes.slice(offset, offset + size) });
    }
    offset += Math.ceil(size / BLOCK) * BLOCK;
  }
  return entries;
}

async function through(
  bytes: Uint8Array,
  stream: CompressionStream | DecompressionStream,
) {
  const piped = new Blob([bytes as BlobPart]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(piped).arrayBuffer());
}

export const gzip = (bytes: Uint8Array) =>
  through(bytes, new CompressionStream("gzip"));
export const gunzip = (bytes: Uint8Array) =>
  through(bytes, new DecompressionStream("gzip"));
