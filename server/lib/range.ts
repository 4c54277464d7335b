import type { Context } from "hono";
import { AppError, notFound } from "./errors.ts";
import type { ByteRange, MediaStorage } from "./storage.ts";

export type RangeRequest =
  | { kind: "whole" }
  | { kind: "part"; range: ByteRange }
  | { kind: "unsatisfiable" };

/**
 * A `Range` header as RFC 9110 reads it, for one range of bytes (`a-b`, `a-`, `-n`). Anything
 * else (several ranges, other units, bad syntax) is ignored, which the RFC allows: the whole file
 * is sent.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): RangeRequest {
  const match = header?.trim().match(/^bytes=(\d*)-(\d*)$/i);
  if (!match) return { kind: "whole" };
  const [, first, last] = match;
  if (first === "" && last === "") return { kind: "whole" };
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    return {
      kind: "part",
      range: { start: Math.max(0, size - suffix), end: size - 1 },
    };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) return { kind: "whole" };
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "part", range: { start, end } };
}

export interface StoredFile {
  key: string;
  mime: string;
  etag: string;
  cacheControl: string;
}

/**
 * Sends a stored file with range support, so media players can seek: 206 with Content-Range for
 * a satisfiable range, 416 past the end, 200 otherwise. `If-Range` with another tag gets the whole.
 */
export async function sendStoredFile(
  c: Context,
  storage: MediaStorage,
  file: StoredFile,
): Promise<Response> {
  const size = await storage.size(file.key);
  if (size === null) throw notFound("Media file");
  const headers: Record<string, string> = {
    "Content-Type": file.mime,
    "Accept-Ranges": "bytes",
    ETag: file.etag,
    "Cache-Control": file.cacheControl,
    "Content-Disposition": "inline",
  };
  const ifRange = c.req.header("if-range");
  const request = ifRange !== undefined && ifRange.trim() !== file.etag
    ? { kind: "whole" as const }
    : parseRange(c.req.header("range"), size);
  if (request.kind === "unsatisfiable") {
    throw new AppError(
      416,
      "RANGE_NOT_SATISFIABLE",
      `The requested range is outside the file (${size} bytes)`,
      { size },
      { "Content-Range": `bytes */${size}`, "Accept-Ranges": "bytes" },
    );
  }
  const range = request.kind === "part" ? request.range : undefined;
  const stored = await storage.get(file.key, range);
  if (!stored) throw notFound("Media file");
  if (!range) {
    return c.body(stored.body, 200, {
      ...headers,
      "Content-Length": String(stored.size),
    });
  }
  return c.body(stored.body, 206, {
    ...headers,
    "Content-Length": String(range.end - range.start + 1),
    "Content-Range": `bytes ${range.start}-${range.end}/${stored.size}`,
  });
}
