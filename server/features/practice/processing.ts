import { and, eq, lt, sql } from "drizzle-orm";
import {
  media,
  type MediaVariants,
  practiceSubmissions,
} from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { processImage } from "../../lib/images.ts";
import { contentKey, sha256Hex } from "../../lib/storage.ts";
import { notify } from "../notifications/service.ts";

type ProcessDeps = Pick<
  Deps,
  "db" | "storage" | "mail" | "logger" | "background" | "config"
>;

/** Longer than any real ffprobe or first-frame grab takes. */
const TOOL_TIMEOUT_MS = 120_000;
/** A recording still processing this long after upload was interrupted (a restart): retry it. */
const STUCK_AFTER_MS = 5 * 60_000;
const MAX_ATTEMPTS = 3;

/** Recordings being processed by this process now, so the job and the upload never both do one. */
const inFlight = new Set<string>();

class ToolMissing extends Error {}

interface ToolResult {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

async function runTool(program: string, args: string[]): Promise<ToolResult> {
  try {
    const output = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(TOOL_TIMEOUT_MS),
    }).output();
    return {
      code: output.code,
      stdout: output.stdout,
      stderr: new TextDecoder().decode(output.stderr),
    };
  } catch (error) {
    // Not installed, or this process was not given --allow-run for it.
    if (
      error instanceof Deno.errors.NotFound ||
      error instanceof Deno.errors.PermissionDenied ||
      (error instanceof Error && error.name === "NotCapable")
    ) {
      throw new ToolMissing(program);
    }
    throw error;
  }
}

export interface Probe {
  durationSeconds: number | null;
  hasVideo: boolean;
}

/** Duration and streams from ffprobe; null when ffprobe could not read the file as media. */
export async function probe(
  ffprobe: string,
  path: string,
): Promise<Probe | null> {
  const result = await runTool(ffprobe, [
    "-v",
    "error",
    "-print_format",
    "json",
    "-show_format",
    "-show_streams",
    path,
  ]);
  if (result.code !== 0) return null;
  try {
    const parsed = JSON.parse(new TextDecoder().decode(result.stdout)) as {
      format?: { duration?: string };
      streams?: {
        codec_type?: string;
        disposition?: { attached_pic?: number };
      }[];
    };
    const duration = Number(parsed.format?.duration);
    const streams = parsed.streams ?? [];
    if (streams.length === 0) return null;
    return {
      durationSeconds: Number.isFinite(duration) && duration >= 0
        ? Math.round(duration * 1000) / 1000
        : null,
      // Cover art in an audio file is a video stream too; it is not a first frame.
      hasVideo: streams.some((stream) =>
        stream.codec_type === "video" && stream.disposition?.attached_pic !== 1
      ),
    };
  } catch {
    return null;
  }
}

/** The first frame as PNG bytes, or null when ffmpeg could not decode one. */
export async function firstFrame(
  ffmpeg: string,
  path: string,
): Promise<Uint8Array | null> {
  const result = await runTool(ffmpeg, [
    "-v",
    "error",
    "-i",
    path,
    "-frames:v",
    "1",
    "-f",
    "image2pipe",
    "-c:v",
    "png",
    "pipe:1",
  ]);
  return result.code === 0 && result.stdout.length > 0 ? result.stdout : null;
}

type Outcome =
  | { status: "ready"; detail: string | null; duration: number | null }
  | { status: "error"; detail: string; duration: null };

/**
 * Reads a recording's duration and first frame. Without ffmpeg the recording is still ready (it
 * plays), and the record says why it has no duration or thumbnail.
 */
async function examine(
  deps: ProcessDeps,
  mediaId: string,
): Promise<{ outcome: Outcome; thumbnail?: MediaVariants["thumbnail"] }> {
  const [file] = await deps.db.select().from(media).where(
    eq(media.id, mediaId),
  );
  if (!file) {
    return {
      outcome: {
        status: "error",
        detail: "The upload is missing",
        duration: null,
      },
    };
  }
  const { ffmpegPath, ffprobePath } = deps.config.media;
  const path = deps.storage.localPath(file.storageKey) ??
    await copyToTemp(deps, file.storageKey);
  try {
    const found = await probe(ffprobePath, path);
    if (!found) {
      return {
        outcome: {
          status: "error",
          detail:
            "This file could not be read as audio or video; upload it again or in another format",
          duration: null,
        },
      };
    }
    let thumbnail: MediaVariants["thumbnail"];
    let missingFfmpeg: string | undefined;
    if (found.hasVideo) {
      const frame = await firstFrame(ffmpegPath, path).catch((error) => {
        if (!(error instanceof ToolMissing)) throw error;
        missingFfmpeg = error.message;
        return null;
      });
      if (frame) {
        const image = await processImage(frame);
        const variant = image.variants.thumbnail;
        const key = contentKey(
          await sha256Hex(variant.bytes),
          "webp",
          "thumbnail",
        );
        await deps.storage.put(key, variant.bytes, "image/webp");
        thumbnail = {
          key,
          mime: "image/webp",
          width: variant.width,
          height: variant.height,
          size: variant.bytes.length,
        };
      }
    }
    return {
      outcome: {
        status: "ready",
        detail: missingFfmpeg
          ? `${missingFfmpeg} is not available on this server, so no thumbnail was made (install ffmpeg, or set FFMPEG_PATH)`
          : null,
        duration: found.durationSeconds,
      },
      thumbnail,
    };
  } catch (error) {
    if (!(error instanceof ToolMissing)) throw error;
    return {
      outcome: {
        status: "ready",
        detail:
          `${error.message} is not available on this server, so the duration and thumbnail were not extracted (install ffmpeg, or set FFMPEG_PATH and FFPROBE_PATH)`,
        duration: null,
      },
    };
  } finally {
    if (!deps.storage.localPath(file.storageKey)) {
      await Deno.remove(path).catch(() => {});
    }
  }
}

async function copyToTemp(deps: ProcessDeps, key: string): Promise<string> {
  const stored = await deps.storage.get(key);
  if (!stored) throw new Error("the recording's bytes are missing");
  const path = await Deno.makeTempFile({ prefix: "lectern-recording-" });
  using file = await Deno.open(path, { write: true, truncate: true });
  await stored.body.pipeTo(file.writable, { preventClose: true });
  return path;
}

/**
 * Moves one recording out of `processing`: to `ready` (with duration and thumbnail when ffmpeg is
 * there) or `error`, then tells the owner. Safe to call twice: only a processing row is changed.
 */
export async function processSubmission(
  deps: ProcessDeps,
  id: string,
): Promise<void> {
  if (inFlight.has(id)) return;
  inFlight.add(id);
  try {
    const [submission] = await deps.db.update(practiceSubmissions).set({
      processingAttempts: sqlIncrement(),
    }).where(and(
      eq(practiceSubmissions.id, id),
      eq(practiceSubmissions.status, "processing"),
    )).returning();
    if (!submission) return;
    let result: Awaited<ReturnType<typeof examine>>;
    try {
      result = await examine(deps, submission.mediaId);
    } catch (error) {
      deps.logger.error("recording processing failed", {
        submissionId: id,
        error: error instanceof Error ? error.message : String(error),
      });
      if (submission.processingAttempts < MAX_ATTEMPTS) return;
      result = {
        outcome: {
          status: "error",
          detail: "Processing failed on the server; upload the recording again",
          duration: null,
        },
      };
    }
    const { outcome, thumbnail } = result;
    const changed = await deps.db.transaction(async (tx) => {
      if (thumbnail) {
        const [file] = await tx.select({ variants: media.variants }).from(media)
          .where(eq(media.id, submission.mediaId));
        await tx.update(media).set({
          variants: { ...file?.variants, thumbnail },
        }).where(eq(media.id, submission.mediaId));
      }
      return await tx.update(practiceSubmissions).set({
        status: outcome.status,
        statusDetail: outcome.detail,
        durationSeconds: outcome.duration,
        updatedAt: new Date(),
      }).where(and(
        eq(practiceSubmissions.id, id),
        eq(practiceSubmissions.status, "processing"),
      )).returning();
    });
    if (changed.length === 0) return;
    deps.logger.info("recording processed", {
      submissionId: id,
      status: outcome.status,
    });
    await notify(deps, {
      userId: submission.ownerId,
      type: "submission_ready",
      title: outcome.status === "ready"
        ? "Your recording is ready"
        : "Your recording could not be processed",
      message: outcome.status === "ready"
        ? `"${submission.title}" is ready to share and review.`
        : `"${submission.title}": ${outcome.detail}`,
      link: `/api/videos/${id}`,
      relatedId: id,
    });
  } finally {
    inFlight.delete(id);
  }
}

function sqlIncrement() {
  return sql`${practiceSubmissions.processingAttempts} + 1`;
}

/** The scheduler's pass: recordings left processing by a restart, a few attempts each. */
export async function processStuckSubmissions(
  deps: ProcessDeps,
  now = Date.now(),
): Promise<number> {
  const stuck = await deps.db.select({ id: practiceSubmissions.id }).from(
    practiceSubmissions,
  ).where(and(
    eq(practiceSubmissions.status, "processing"),
    lt(practiceSubmissions.updatedAt, new Date(now - STUCK_AFTER_MS)),
    lt(practiceSubmissions.processingAttempts, MAX_ATTEMPTS + 1),
  )).limit(20);
  for (const { id } of stuck) await processSubmission(deps, id);
  return stuck.length;
}
