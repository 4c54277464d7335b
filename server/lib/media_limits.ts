import { AppError } from "./errors.ts";
import type { MediaKind } from "./sniff.ts";

const MiB = 1024 * 1024;

/** Largest upload accepted for each kind of media, in bytes. */
export const MEDIA_LIMITS: Readonly<Record<MediaKind, number>> = {
  image: 10 * MiB,
  pdf: 25 * MiB,
  audio: 100 * MiB,
  video: 500 * MiB,
};

/** Throws 413 PAYLOAD_TOO_LARGE when `size` bytes exceed the limit for `kind`. */
export function assertWithinLimit(kind: MediaKind, size: number): void {
  const maxBytes = MEDIA_LIMITS[kind];
  if (size <= maxBytes) return;
  throw new AppError(
    413,
    "PAYLOAD_TOO_LARGE",
    `This ${kind} is ${formatMiB(size)}; the limit is ${formatMiB(maxBytes)}`,
    { kind, maxBytes, size },
  );
}

function formatMiB(bytes: number): string {
  return `${Number((bytes / MiB).toFixed(1))} MiB`;
}
