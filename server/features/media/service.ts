import { and, desc, eq, isNull } from "drizzle-orm";
import type { Db } from "../../../db/client.ts";
import {
  lessons,
  type Media,
  media,
  type MediaVariants,
  type MediaVisibility,
  type Program,
} from "../../../db/schema/mod.ts";
import { AppError, notFound } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { processImage } from "../../lib/images.ts";
import { assertWithinLimit } from "../../lib/media_limits.ts";
import { sniffMedia } from "../../lib/sniff.ts";
import { contentKey, type MediaStorage, sha256Hex } from "../../lib/storage.ts";
import { canUseFeature } from "../access/service.ts";
import { type Actor, getEditableProgram } from "../programs/service.ts";
import { mediaUrl } from "./urls.ts";

interface MediaDeps {
  db: Db;
  storage: MediaStorage;
}

export interface Upload {
  bytes: Uint8Array;
  name?: string | undefined;
}

export interface UploadOptions {
  visibility: MediaVisibility;
  programId?: string | undefined;
  title?: string | undefined;
  /** Thumbnails and avatars must be images. */
  imagesOnly?: boolean;
  /** Practice recordings must be audio or video. */
  recordingsOnly?: boolean;
}

const unsupported = (message: string) =>
  new AppError(415, "UNSUPPORTED_MEDIA_TYPE", message, {
    accepted: [
      "image/jpeg",
      "image/png",
      "image/gif",
      "image/webp",
      "image/avif",
      "application/pdf",
      "audio/*",
      "video/mp4",
      "video/webm",
    ],
  });

/**
 * Stores one upload: the type comes from the bytes alone, the size is checked per kind, images are
 * re-encoded (EXIF gone) into WebP variants. Files are content-addressed, so the same bytes are
 * stored once however often they are uploaded.
 */
export async function storeUpload(
  deps: MediaDeps,
  owner: Actor,
  file: Upload,
  options: UploadOptions,
): Promise<Media> {
  const type = sniffMedia(file.bytes);
  if (!type) {
    throw unsupported(
      "This file is not an image, PDF, audio or video file this server accepts",
    );
  }
  if (options.imagesOnly && type.kind !== "image") {
    throw unsupported("This must be an image (JPEG, PNG, GIF, WebP or AVIF)");
  }
  if (
    options.recordingsOnly && type.kind !== "audio" && type.kind !== "video"
  ) {
    throw unsupported(
      "This must be an audio or video recording (MP3, WAV, OGG, FLAC, M4A, MP4, MOV, WebM or MKV)",
    );
  }
  assertWithinLimit(type.kind, file.bytes.length);
  const sha256 = await sha256Hex(file.bytes);
  const variants: MediaVariants = {};
  let width: number | null = null;
  let height: number | null = null;
  if (type.kind === "image") {
    const processed = await processImage(file.bytes);
    width = processed.width;
    height = processed.height;
    for (const name of ["thumbnail", "display"] as const) {
      const variant = processed.variants[name];
      const key = contentKey(sha256, "webp", name);
      if (!(await deps.storage.exists(key))) {
        await deps.storage.put(key, variant.bytes, "image/webp");
      }
      variants[name] = {
        key,
        mime: "image/webp",
        width: variant.width,
        height: variant.height,
        size: variant.bytes.length,
      };
    }
  }
  // The original of an image keeps its EXIF, so only the re-encoded variants are ever served;
  // it is not stored at all.
  const storageKey = type.kind === "image"
    ? variants.display!.key
    : contentKey(sha256, type.ext);
  if (type.kind !== "image" && !(await deps.storage.exists(storageKey))) {
    await deps.storage.put(storageKey, file.bytes, type.mime);
  }
  const [created] = await deps.db.insert(media).values({
    id: newId(),
    ownerId: owner.id,
    programId: options.programId ?? null,
    kind: type.kind,
    mime: type.kind === "image" ? "image/webp" : type.mime,
    sizeBytes: file.bytes.length,
    sha256,
    storageKey,
    variants,
    width,
    height,
    visibility: options.visibility,
    originalName: file.name?.slice(0, 255) ?? null,
    title: options.title ?? null,
    createdAt: new Date(),
  }).returning();
  return created!;
}

export function toMediaResponse(appUrl: string, item: Media) {
  return {
    id: item.id,
    kind: item.kind,
    mime: item.mime,
    size: item.sizeBytes,
    title: item.title,
    originalName: item.originalName,
    visibility: item.visibility,
    width: item.width,
    height: item.height,
    url: mediaUrl(appUrl, item.id),
    variants: Object.fromEntries(
      Object.entries(item.variants).map(([name, v]) => [name, {
        url: mediaUrl(appUrl, item.id, name as "thumbnail" | "display"),
        width: v.width,
        height: v.height,
      }]),
    ),
    createdAt: item.createdAt.toISOString(),
  };
}

export async function uploadProgramMedia(
  deps: MediaDeps,
  actor: Actor,
  programRef: string,
  file: Upload,
  options: { visibility: MediaVisibility; title?: string | undefined },
): Promise<Media> {
  const program = await getEditableProgram(deps, actor, programRef);
  return await storeUpload(deps, actor, file, {
    ...options,
    programId: program.id,
  });
}

export async function listProgramMedia(
  deps: MediaDeps,
  actor: Actor,
  programRef: string,
): Promise<Media[]> {
  const program = await getEditableProgram(deps, actor, programRef);
  return await deps.db.select().from(media).where(
    and(eq(media.programId, program.id), isNull(media.deletedAt)),
  ).orderBy(desc(media.createdAt));
}

/** Takes the file out of the program; lessons that showed it lose the attachment. */
export async function deleteProgramMedia(
  deps: MediaDeps,
  actor: Actor,
  programRef: string,
  mediaId: string,
): Promise<void> {
  const program = await getEditableProgram(deps, actor, programRef);
  await deps.db.transaction(async (tx) => {
    const [found] = await tx.select({ id: media.id }).from(media).where(and(
      eq(media.id, mediaId),
      eq(media.programId, program.id),
      isNull(media.deletedAt),
    ));
    if (!found) throw notFound("Media");
    await tx.update(lessons).set({ mediaId: null }).where(
      eq(lessons.mediaId, mediaId),
    );
    await tx.update(media).set({ deletedAt: new Date() }).where(
      eq(media.id, mediaId),
    );
  });
}

/**
 * Which stored file to send: public media to anyone; private (program) media to the owner, admins and anyone
 * with `documentation` access to its program.
 */
export async function openMedia(
  deps: MediaDeps,
  viewer: Actor | undefined,
  mediaId: string,
  variant: "thumbnail" | "display" | undefined,
  programOf: (id: string) => Promise<Program | undefined>,
) {
  const [item] = await deps.db.select().from(media).where(
    and(eq(media.id, mediaId), isNull(media.deletedAt)),
  );
  if (!item) throw notFound("Media");
  if (item.visibility === "private") {
    const program = item.programId
      ? await programOf(item.programId)
      : undefined;
    const allowed = viewer &&
      (viewer.id === item.ownerId || viewer.role === "admin" ||
        (program &&
          await canUseFeature(deps, viewer, program, "documentation")));
    // Not found rather than forbidden: a private file's existence is not public either.
    if (!allowed) throw notFound("Media");
  }
  const chosen = variant ? item.variants[variant] : undefined;
  if (variant && !chosen) throw notFound("Media variant");
  const key = chosen?.key ?? item.storageKey;
  return {
    item,
    key,
    mime: chosen?.mime ?? item.mime,
    etag: `"${chosen ? key.split("/").pop() : item.sha256}"`,
  };
}
