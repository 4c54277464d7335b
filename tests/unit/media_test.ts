import assert from "node:assert/strict";
import sharp, { type Sharp } from "sharp";
import { AppError } from "../../server/lib/errors.ts";
import { processImage } from "../../server/lib/images.ts";
import {
  assertWithinLimit,
  MEDIA_LIMITS,
} from "../../server/lib/media_limits.ts";
import { sniffMedia } from "../../server/lib/sniff.ts";
import {
  contentKey,
  LocalMediaStorage,
  sha256Hex,
} from "../../server/lib/storage.ts";

const text = (s: string) => new TextEncoder().encode(s);
const concat = (...parts: (Uint8Array | number[] | string)[]) =>
  new Uint8Array(
    parts.flatMap((part) =>
      typeof part === "string" ? [...text(part)] : [...part]
    ),
  );

function noise(width: number, height: number) {
  return sharp({
    create: {
      width,
      height,
      channels: 3,
      background: "#000",
      noise: { type: "gaussian", mean: 128, sigma: 40 },
    },
  });
}

function solid(width: number, height: number) {
  return sharp({
    create: { width, height, channels: 3, background: "#3a7" },
  });
}

const asBytes = (buffer: Uint8Array) => new Uint8Array(buffer);

/** True when the EXIF block holds the GPSInfo pointer tag (0x8825), in either byte order. */
function hasGpsTag(exif: Uint8Array): boolean {
  for (let i = 0; i + 1 < exif.length; i++) {
    const pair = (exif[i]! << 8) | exif[i + 1]!;
    if (pair === 0x8825 || pair === 0x2588) return true;
  }
  return false;
}

async function rejectsWith(promise: Promise<unknown>, code: string) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, code);
    return true;
  });
}

Deno.test("sniffMedia", async (t) => {
  await t.step("recognises images sharp encodes", async () => {
    const cases = [
      [await solid(8, 8).jpeg().toBuffer(), "image/jpeg", "jpg"],
      [await solid(8, 8).png().toBuffer(), "image/png", "png"],
      [await solid(8, 8).gif().toBuffer(), "image/gif", "gif"],
      [await solid(8, 8).webp().toBuffer(), "image/webp", "webp"],
      [await solid(8, 8).avif().toBuffer(), "image/avif", "avif"],
    ] as const;
    for (const [bytes, mime, ext] of cases) {
      assert.deepEqual(sniffMedia(asBytes(bytes)), {
        kind: "image",
        mime,
        ext,
      });
    }
  });

  await t.step("recognises documents, audio and video by header", () => {
    const u32 = (
      n: number,
    ) => [n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255];
    const ebmlChildren = (docType: string) =>
      concat(
        [0x42, 0x86, 0x81, 0x01, 0x42, 0xf7, 0x81, 0x01],
        [0x42, 0xf2, 0x81, 0x04, 0x42, 0xf3, 0x81, 0x08],
        [0x42, 0x82, 0x80 | docType.length],
        docType,
        [0x42, 0x87, 0x81, 0x04, 0x42, 0x85, 0x81, 0x02],
      );
    const ebml = (docType: string) => {
      const children = ebmlChildren(docType);
      return concat([0x1a, 0x45, 0xdf, 0xa3, 0x80 | children.length], children);
    };
    const ftyp = (major: string, ...brands: string[]) =>
      concat(
        u32(16 + 4 * brands.length),
        "ftyp",
        major,
        [0, 0, 2, 0],
        ...brands,
      );

    const cases: [Uint8Array, string, string, string][] = [
      [text("%PDF-1.7\n%\xe2\xe3\n1 0 obj"), "pdf", "application/pdf", "pdf"],
      [concat("ID3", [4, 0, 0, 0, 0, 0, 0]), "audio", "audio/mpeg", "mp3"],
      [concat([0xff, 0xfb, 0x90, 0x64, 0, 0]), "audio", "audio/mpeg", "mp3"],
      [concat("RIFF", [36, 0, 0, 0], "WAVEfmt "), "audio", "audio/wav", "wav"],
      [concat("OggS", [0, 2, 0, 0]), "audio", "audio/ogg", "ogg"],
      [concat("fLaC", [0, 0, 0, 34]), "audio", "audio/flac", "flac"],
      [ftyp("M4A ", "M4A ", "mp42", "isom"), "audio", "audio/mp4", "m4a"],
      [
        ftyp("isom", "isom", "iso2", "avc1", "mp41"),
        "video",
        "video/mp4",
        "mp4",
      ],
      [ftyp("mp42", "mp42", "isom"), "video", "video/mp4", "mp4"],
      [ftyp("qt  ", "qt  "), "video", "video/quicktime", "mov"],
      [ftyp("mif1", "mif1", "avif", "miaf"), "image", "image/avif", "avif"],
      [ebml("webm"), "video", "video/webm", "webm"],
      [ebml("matroska"), "video", "video/x-matroska", "mkv"],
    ];
    for (const [bytes, kind, mime, ext] of cases) {
      assert.deepEqual(sniffMedia(bytes), { kind, mime, ext }, mime);
    }
  });

  await t.step("refuses everything else, SVG included", () => {
    const refused = [
      new Uint8Array(0),
      text("just some notes\n"),
      text("<!doctype html><script>alert(1)</script>"),
      text('<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>'),
      text('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'),
      concat("PK", [3, 4, 20, 0, 0, 0, 8, 0]),
      concat([0x7f], "ELF", [2, 1, 1, 0]),
      concat("MZ", [0x90, 0, 3, 0]),
      concat("RIFF", [36, 0, 0, 0], "AVI LIST"),
      // UTF-16LE text with a byte-order mark shares the MPEG Layer I sync.
      concat([0xff, 0xfe], [0x20, 0, 0x3c, 0]),
      concat([0x1a, 0x45, 0xdf, 0xa3, 0x87, 0x42, 0x82, 0x84], "abcd"),
      // An EBML header whose DocType claims to be 1 MiB long.
      concat(
        [0x1a, 0x45, 0xdf, 0xa3, 0x01, 0, 0, 0, 0, 0x10, 0, 0x06],
        [0x42, 0x82, 0x10, 0x10, 0, 0],
        new Uint8Array(0x100000),
      ),
      text("%PD"),
    ];
    for (const bytes of refused) assert.equal(sniffMedia(bytes), null);
  });
});

Deno.test("processImage", async (t) => {
  await t.step("applies EXIF orientation and strips EXIF and GPS", async () => {
    const photo = asBytes(
      await noise(400, 200)
        .jpeg()
        .withExif({
          IFD0: { Make: "PhoneCo", Model: "Snapper" },
          IFD3: { GPSLatitudeRef: "N", GPSLatitude: "48/1 51/1 24/1" },
        })
        .withMetadata({ orientation: 6 })
        .toBuffer(),
    );
    const input = await sharp(photo).metadata();
    assert.equal(input.orientation, 6);
    assert.ok(input.exif && hasGpsTag(input.exif), "fixture carries GPS");

    const image = await processImage(photo);
    assert.equal(image.width, 200);
    assert.equal(image.height, 400);
    const { thumbnail, display } = image.variants;
    assert.deepEqual([thumbnail.width, thumbnail.height], [160, 320]);
    assert.deepEqual([display.width, display.height], [200, 400]);
    for (const variant of [thumbnail, display]) {
      const meta = await sharp(variant.bytes).metadata();
      assert.equal(meta.format, "webp");
      assert.equal(meta.exif, undefined);
      assert.equal(meta.xmp, undefined);
      assert.equal(meta.orientation, undefined);
      assert.deepEqual([meta.width, meta.height], [
        variant.width,
        variant.height,
      ]);
    }
  });

  await t.step("fits variants inside their bounds", async () => {
    const image = await processImage(
      asBytes(await solid(3000, 1500).png().toBuffer()),
    );
    assert.deepEqual([image.width, image.height], [3000, 1500]);
    const { thumbnail, display } = image.variants;
    assert.deepEqual([thumbnail.width, thumbnail.height], [320, 160]);
    assert.deepEqual([display.width, display.height], [1280, 640]);
  });

  await t.step("never enlarges a small image", async () => {
    for (
      const encode of [
        (s: Sharp) => s.gif(),
        (s: Sharp) => s.webp(),
      ]
    ) {
      const image = await processImage(
        asBytes(await encode(solid(90, 60)).toBuffer()),
      );
      for (const variant of Object.values(image.variants)) {
        assert.deepEqual([variant.width, variant.height], [90, 60]);
        assert.equal((await sharp(variant.bytes).metadata()).format, "webp");
      }
    }
  });

  await t.step("refuses a PNG or JPEG truncated to half", async () => {
    for (const encoded of [noise(300, 300).png(), noise(300, 300).jpeg()]) {
      const bytes = asBytes(await encoded.toBuffer());
      await rejectsWith(
        processImage(bytes.subarray(0, bytes.length >> 1)),
        "INVALID_MEDIA",
      );
    }
  });

  await t.step("refuses bytes that are not an image", async () => {
    await rejectsWith(processImage(new Uint8Array(0)), "INVALID_MEDIA");
    await rejectsWith(processImage(text("not an image")), "INVALID_MEDIA");
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>';
    await rejectsWith(processImage(text(svg)), "INVALID_MEDIA");
  });

  await t.step(
    "refuses a decompression bomb by its declared size",
    async () => {
      // A 38-byte GIF whose header claims 10000×10000 pixels.
      const le16 = (n: number) => [n & 255, n >> 8];
      const bomb = concat(
        "GIF89a",
        le16(10000),
        le16(10000),
        [0x80, 0, 0, 0, 0, 0, 255, 255, 255],
        [0x2c, 0, 0, 0, 0],
        le16(10000),
        le16(10000),
        [0, 2, 2, 0x4c, 0x01, 0, 0x3b],
      );
      await assert.rejects(processImage(bomb), (error) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.status, 422);
        assert.equal(error.code, "INVALID_MEDIA");
        assert.match(error.message, /megapixels/);
        return true;
      });
    },
  );
});

Deno.test("LocalMediaStorage", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "lectern_media_" });
  const storage = new LocalMediaStorage(`${root}/media`);
  const bytes = text("pretend this is a photo");
  const key = contentKey(await sha256Hex(bytes), "webp", "thumbnail");

  try {
    await t.step("round-trips bytes through nested folders", async () => {
      await storage.put(key, bytes, "image/webp");
      const stored = await storage.get(key);
      assert.ok(stored);
      assert.equal(stored.size, bytes.length);
      assert.deepEqual(
        new Uint8Array(await new Response(stored.body).arrayBuffer()),
        bytes,
      );
      const folder = `${root}/media/${key.slice(0, 5)}`;
      const names = [...Deno.readDirSync(folder)].map((entry) => entry.name);
      assert.deepEqual(names, [key.slice(6)], "no temp files left behind");
    });

    await t.step("overwrites an existing key", async () => {
      await storage.put(key, text("second"), "image/webp");
      const stored = await storage.get(key);
      assert.ok(stored);
      assert.equal(await new Response(stored.body).text(), "second");
    });

    await t.step("exists and delete", async () => {
      assert.equal(await storage.exists(key), true);
      await storage.delete(key);
      assert.equal(await storage.exists(key), false);
      assert.equal(await storage.get(key), null);
      await storage.delete(key);
    });

    await t.step("refuses keys not made by contentKey", async () => {
      const hash = "ab".repeat(32);
      const bad = [
        "../x",
        "/etc/passwd",
        `ab/cd/../../${hash}.webp`,
        `cd/ab/${hash}.webp`,
        `ab/ab/${hash}.webp/../../../x`,
        `ab/ab/${hash}`,
        `ab/ab/${hash.toUpperCase()}.webp`,
        "",
      ];
      for (const badKey of bad) {
        await rejectsWith(
          storage.put(badKey, bytes, "image/webp"),
          "INVALID_MEDIA_KEY",
        );
        await rejectsWith(storage.get(badKey), "INVALID_MEDIA_KEY");
        await rejectsWith(storage.exists(badKey), "INVALID_MEDIA_KEY");
        await rejectsWith(storage.delete(badKey), "INVALID_MEDIA_KEY");
      }
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("contentKey and sha256Hex", async (t) => {
  await t.step("hash the bytes into stable two-level keys", async () => {
    const abc = await sha256Hex(text("abc"));
    assert.equal(
      abc,
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    assert.equal(await sha256Hex(text("abc")), abc);
    assert.equal(contentKey(abc, "png"), `ba/78/${abc}.png`);
    assert.equal(
      contentKey(abc, "webp", "thumbnail"),
      `ba/78/${abc}-thumbnail.webp`,
    );
  });

  await t.step("refuse malformed parts", () => {
    const hash = "0".repeat(64);
    assert.throws(() => contentKey("abc", "png"));
    assert.throws(() => contentKey(hash, "../png"));
    assert.throws(() => contentKey(hash, "png", "a/b"));
  });
});

Deno.test("assertWithinLimit", async (t) => {
  await t.step("allows a file exactly at the limit", () => {
    assertWithinLimit("image", MEDIA_LIMITS.image);
    assertWithinLimit("video", 0);
  });

  await t.step("throws 413 one byte over the limit", () => {
    const size = MEDIA_LIMITS.pdf + 1;
    assert.throws(() => assertWithinLimit("pdf", size), (error) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.status, 413);
      assert.equal(error.code, "PAYLOAD_TOO_LARGE");
      assert.deepEqual(error.details, {
        kind: "pdf",
        maxBytes: 25 * 1024 * 1024,
        size,
      });
      return true;
    });
  });
});
