import sharp, { type Metadata, type Sharp, type SharpOptions } from "sharp";
import { AppError } from "./errors.ts";

export type ImageVariant = { bytes: Uint8Array; width: number; height: number };

export type ProcessedImage = {
  /** Dimensions of the upload once its EXIF orientation is applied. */
  width: number;
  height: number;
  variants: { thumbnail: ImageVariant; display: ImageVariant };
};

/** Bounding box each variant must fit inside; images are never enlarged. */
export const IMAGE_VARIANT_BOUNDS = {
  thumbnail: 320,
  display: 1280,
} as const;

/** Decoding more pixels than this is refused, so a small file cannot expand into gigabytes. */
export const MAX_INPUT_PIXELS = 50_000_000;

// `heif` is how sharp reports AVIF.
const DECODABLE_FORMATS = new Set<string>([
  "jpeg",
  "png",
  "gif",
  "webp",
  "heif",
]);

const DECODE_OPTIONS: SharpOptions = {
  // "error" refuses truncated and corrupt pixel data; "warning" would also
  // refuse many phone photos over harmless quirks in their metadata.
  failOn: "error",
  limitInputPixels: MAX_INPUT_PIXELS,
};

/**
 * Re-encodes an uploaded image as WebP variants. Orientation from EXIF is
 * applied to the pixels, and re-encoding drops every piece of metadata
 * (EXIF, GPS, XMP, IPTC), so nothing a camera recorded reaches other users.
 */
export async function processImage(bytes: Uint8Array): Promise<ProcessedImage> {
  const { source, metadata } = await readHeader(bytes);
  // Callers sniff first, but sharp would also rasterise SVG, PDF or TIFF if handed one.
  if (!metadata.format || !DECODABLE_FORMATS.has(metadata.format)) {
    throw new AppError(
      422,
      "INVALID_MEDIA",
      `Unsupported image format: ${metadata.format ?? "unknown"}`,
    );
  }
  try {
    const [thumbnail, display] = await Promise.all([
      variant(source, IMAGE_VARIANT_BOUNDS.thumbnail),
      variant(source, IMAGE_VARIANT_BOUNDS.display),
    ]);
    return {
      width: metadata.autoOrient.width,
      height: metadata.autoOrient.height,
      variants: { thumbnail, display },
    };
  } catch (error) {
    throw invalidImage(error);
  }
}

async function readHeader(
  bytes: Uint8Array,
): Promise<{ source: Sharp; metadata: Metadata }> {
  try {
    // The constructor itself throws on empty input.
    const source = sharp(bytes, DECODE_OPTIONS).rotate();
    return { source, metadata: await source.metadata() };
  } catch (error) {
    throw invalidImage(error);
  }
}

async function variant(source: Sharp, bound: number) {
  const { data, info } = await source.clone()
    .resize(bound, bound, { fit: "inside", withoutEnlargement: true })
    .webp()
    .toBuffer({ resolveWithObject: true });
  return {
    bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
  };
}

/** sharp's own message names libvips internals, so it rides along as `cause` for logs only. */
function invalidImage(error: unknown): AppError {
  const reason = error instanceof Error ? error.message : String(error);
  const message = /pixel limit/i.test(reason)
    ? `Image has too many pixels; the limit is ${
      MAX_INPUT_PIXELS / 1_000_000
    } megapixels`
    : "Image could not be decoded; it may be truncated or corrupt";
  const appError = new AppError(422, "INVALID_MEDIA", message);
  appError.cause = error;
  return appError;
}
