/**
 * Identifies uploaded media from its magic bytes alone: a file name or a
 * declared Content-Type is chosen by the client and never trusted.
 */
export type MediaKind = "image" | "pdf" | "audio" | "video";

export type SniffedType = { kind: MediaKind; mime: string; ext: string };

const JPEG: SniffedType = { kind: "image", mime: "image/jpeg", ext: "jpg" };
const PNG: SniffedType = { kind: "image", mime: "image/png", ext: "png" };
const GIF: SniffedType = { kind: "image", mime: "image/gif", ext: "gif" };
const WEBP: SniffedType = { kind: "image", mime: "image/webp", ext: "webp" };
const AVIF: SniffedType = { kind: "image", mime: "image/avif", ext: "avif" };
const PDF: SniffedType = { kind: "pdf", mime: "application/pdf", ext: "pdf" };
const MP3: SniffedType = { kind: "audio", mime: "audio/mpeg", ext: "mp3" };
const WAV: SniffedType = { kind: "audio", mime: "audio/wav", ext: "wav" };
const OGG: SniffedType = { kind: "audio", mime: "audio/ogg", ext: "ogg" };
const FLAC: SniffedType = { kind: "audio", mime: "audio/flac", ext: "flac" };
const M4A: SniffedType = { kind: "audio", mime: "audio/mp4", ext: "m4a" };
const MP4: SniffedType = { kind: "video", mime: "video/mp4", ext: "mp4" };
const MOV: SniffedType = { kind: "video", mime: "video/quicktime", ext: "mov" };
const WEBM: SniffedType = { kind: "video", mime: "video/webm", ext: "webm" };
const MKV: SniffedType = {
  kind: "video",
  mime: "video/x-matroska",
  ext: "mkv",
};

const AVIF_BRANDS = new Set(["avif", "avis"]);
const AUDIO_MP4_BRANDS = new Set(["M4A ", "M4B "]);
const VIDEO_MP4_BRANDS = new Set([
  "isom",
  "iso2",
  "iso3",
  "iso4",
  "iso5",
  "iso6",
  "mp41",
  "mp42",
  "avc1",
  "dash",
  "M4V ",
  "MSNV",
]);

export function sniffMedia(bytes: Uint8Array): SniffedType | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return JPEG;
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) {
    return PNG;
  }
  if (ascii(bytes, 0, 6) === "GIF87a" || ascii(bytes, 0, 6) === "GIF89a") {
    return GIF;
  }
  if (ascii(bytes, 0, 4) === "RIFF") {
    const form = ascii(bytes, 8, 4);
    if (form === "WEBP") return WEBP;
    if (form === "WAVE") return WAV;
    return null;
  }
  if (ascii(bytes, 0, 5) === "%PDF-") return PDF;
  if (ascii(bytes, 0, 4) === "OggS") return OGG;
  if (ascii(bytes, 0, 4) === "fLaC") return FLAC;
  if (ascii(bytes, 4, 4) === "ftyp") return sniffIsoMedia(bytes);
  if (startsWith(bytes, [0x1a, 0x45, 0xdf, 0xa3])) return sniffMatroska(bytes);
  if (isId3(bytes) || isMpegAudioFrame(bytes)) return MP3;
  return null;
}

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return bytes.length >= prefix.length &&
    prefix.every((byte, i) => bytes[i] === byte);
}

/** The bytes as Latin-1 text, or "" when the range runs past the end. */
function ascii(bytes: Uint8Array, offset: number, length: number): string {
  if (offset + length > bytes.length) return "";
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

/** ISO base media files (MP4, MOV, M4A, AVIF) open with an `ftyp` box of brands. */
function sniffIsoMedia(bytes: Uint8Array): SniffedType | null {
  const boxSize = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  if (boxSize < 16) return null;
  const major = ascii(bytes, 8, 4);
  const compatible: string[] = [];
  const end = Math.min(boxSize, bytes.length);
  for (let offset = 16; offset + 4 <= end; offset += 4) {
    compatible.push(ascii(bytes, offset, 4));
  }

  if (AVIF_BRANDS.has(major)) return AVIF;
  // Still-image HEIF containers carry a generic major brand and name AVIF among the compatible ones.
  if (
    (major === "mif1" || major === "msf1") &&
    compatible.some((brand) => AVIF_BRANDS.has(brand))
  ) {
    return AVIF;
  }
  if (AUDIO_MP4_BRANDS.has(major)) return M4A;
  if (major === "qt  ") return MOV;
  if (VIDEO_MP4_BRANDS.has(major)) return MP4;
  return null;
}

/**
 * Reads the DocType out of the EBML header. Only the two Matroska doctypes are
 * accepted; other EBML-based formats are not media we can play.
 */
function sniffMatroska(bytes: Uint8Array): SniffedType | null {
  const headerSize = readVint(bytes, 4);
  if (!headerSize) return null;
  const end = Math.min(4 + headerSize.length + headerSize.value, bytes.length);
  let offset = 4 + headerSize.length;
  // The EBML spec makes "matroska" the DocType when the element is absent.
  let docType = "matroska";
  while (offset < end) {
    const id = readVint(bytes, offset);
    if (!id) return null;
    const size = readVint(bytes, offset + id.length);
    if (!size) return null;
    const dataStart = offset + id.length + size.length;
    if (id.raw === 0x4282) {
      // A real DocType is a short word; a huge one would overflow `ascii`'s spread.
      if (size.value > 32) return null;
      docType = ascii(bytes, dataStart, size.value).replace(/\0+$/, "");
      break;
    }
    offset = dataStart + size.value;
  }
  if (docType === "webm") return WEBM;
  if (docType === "matroska") return MKV;
  return null;
}

type Vint = { length: number; value: number; raw: number };

/** An EBML variable-length integer: leading zero bits give its byte length. */
function readVint(bytes: Uint8Array, offset: number): Vint | null {
  const first = bytes[offset];
  if (first === undefined || first === 0) return null;
  const length = Math.clz32(first) - 23;
  if (offset + length > bytes.length) return null;
  let value = first & (0xff >> length);
  let raw = first;
  for (let i = 1; i < length; i++) {
    const byte = bytes[offset + i] ?? 0;
    value = value * 256 + byte;
    raw = raw * 256 + byte;
  }
  return { length, value, raw };
}

/** An ID3v2 tag: "ID3", a major version 2–4, then a revision below 0xFF. */
function isId3(bytes: Uint8Array): boolean {
  const version = bytes[3];
  const revision = bytes[4];
  return ascii(bytes, 0, 3) === "ID3" && version !== undefined &&
    version >= 2 && version <= 4 && revision !== undefined && revision < 0xff;
}

/**
 * A Layer III frame header with legal version, bitrate and sample-rate fields.
 * Layers I and II are left out: their two-byte sync also matches the UTF-16LE
 * byte-order mark (FF FE), which would let UTF-16 text pass as audio.
 */
function isMpegAudioFrame(bytes: Uint8Array): boolean {
  const [b0, b1, b2] = bytes;
  if (b0 !== 0xff || b1 === undefined || b2 === undefined) return false;
  if ((b1 & 0xe0) !== 0xe0) return false;
  const version = (b1 >> 3) & 0b11;
  const layer = (b1 >> 1) & 0b11;
  const bitrate = b2 >> 4;
  const sampleRate = (b2 >> 2) & 0b11;
  return version !== 0b01 && layer === 0b01 && bitrate !== 0b1111 &&
    sampleRate !== 0b11;
}
