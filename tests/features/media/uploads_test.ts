import assert from "node:assert/strict";
import sharp from "sharp";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import {
  enroll,
  makeProgram,
  makeUserAndLogin,
} from "../../helpers/factories.ts";

const encoder = new TextEncoder();
const asBytes = (buffer: Uint8Array) => new Uint8Array(buffer);

/** A photo-like JPEG with camera EXIF and GPS, like one straight off a phone. */
async function jpegWithExif(width: number, height: number) {
  return asBytes(
    await sharp({
      create: {
        width,
        height,
        channels: 3,
        background: "#000",
        noise: { type: "gaussian", mean: 128, sigma: 40 },
      },
    })
      .jpeg()
      .withExif({
        IFD0: { Make: "PhoneCo", Model: "Snapper" },
        IFD3: { GPSLatitudeRef: "N", GPSLatitude: "48/1 51/1 24/1" },
      })
      .toBuffer(),
  );
}

/** A PNG whose pixels are unique to each call, so content addressing never meets it twice by chance. */
async function uniquePng(width = 64, height = 48) {
  const seed = crypto.getRandomValues(new Uint8Array(3));
  return asBytes(
    await sharp({
      create: {
        width,
        height,
        channels: 3,
        background: { r: seed[0]!, g: seed[1]!, b: seed[2]! },
      },
    }).png().toBuffer(),
  );
}

async function noisyPng(width: number, height: number) {
  return asBytes(
    await sharp({
      create: {
        width,
        height,
        channels: 3,
        background: "#000",
        noise: { type: "gaussian", mean: 128, sigma: 40 },
      },
    }).png().toBuffer(),
  );
}

/** A one-page PDF with a correct cross-reference table, written by hand. */
function tinyPdf(label = "Lectern") {
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
  ];
  const stream = `BT /F1 12 Tf 20 100 Td (${label}) Tj ET`;
  objects.push(
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
  );
  let body = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(body.length);
    body += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) {
    body += `${String(offset).padStart(10, "0")} 00000 n \n`;
  }
  body += `trailer\n<< /Size ${
    objects.length + 1
  } /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return encoder.encode(body);
}

/** 0.1 s of a 440 Hz tone: 8 kHz, 16-bit mono PCM in a RIFF/WAVE container. */
function tinyWav() {
  const sampleRate = 8000;
  const samples = 800;
  const bytes = new Uint8Array(44 + samples * 2);
  const view = new DataView(bytes.buffer);
  const ascii = (offset: number, text: string) =>
    bytes.set(encoder.encode(text), offset);
  ascii(0, "RIFF");
  view.setUint32(4, 36 + samples * 2, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  ascii(36, "data");
  view.setUint32(40, samples * 2, true);
  for (let i = 0; i < samples; i++) {
    const value = Math.round(
      Math.sin((2 * Math.PI * 440 * i) / sampleRate) * 12000,
    );
    view.setInt16(44 + i * 2, value, true);
  }
  return bytes;
}

interface Sent {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

async function toSent(response: Response): Promise<Sent> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: response.status, headers: response.headers, body };
}

/** Multipart upload of one file (`field`) plus text fields, the way a browser form sends it. */
async function sendForm(
  ctx: TestContext,
  method: string,
  path: string,
  options: {
    token?: string;
    field?: string;
    file?: { bytes: Uint8Array; name: string; type?: string };
    fields?: Record<string, string>;
  },
): Promise<Sent> {
  const form = new FormData();
  if (options.file) {
    form.append(
      options.field ?? "file",
      new File(
        [options.file.bytes as Uint8Array<ArrayBuffer>],
        options.file.name,
        {
          type: options.file.type ?? "application/octet-stream",
        },
      ),
    );
  }
  for (const [key, value] of Object.entries(options.fields ?? {})) {
    form.append(key, value);
  }
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  return await toSent(
    await ctx.app.request(path, { method, headers, body: form }),
  );
}

const upload = (
  ctx: TestContext,
  token: string,
  programId: string,
  file: { bytes: Uint8Array; name: string; type?: string },
  fields: Record<string, string> = {},
) =>
  sendForm(ctx, "POST", `/api/programs/${programId}/media`, {
    token,
    file,
    fields,
  });

/** GET a served file (absolute URL or path), returning its raw bytes. */
async function fetchFile(
  ctx: TestContext,
  url: string,
  options: { token?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const response = await ctx.app.request(new URL(url, "http://x").pathname, {
    headers,
  });
  return {
    status: response.status,
    headers: response.headers,
    bytes: new Uint8Array(await response.arrayBuffer()),
  };
}

/** Every stored file under DATA_DIR/media, as paths relative to it. */
async function storedFiles(ctx: TestContext): Promise<string[]> {
  const root = `${ctx.dataDir}/media`;
  const found: string[] = [];
  const walk = async (dir: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else found.push(path.slice(root.length + 1));
    }
  };
  await walk(root);
  return found.sort();
}

const MEDIA_URL = /^http:\/\/lectern\.test\/media\/[0-9A-Z]{26}$/;

Deno.test("program media uploads, serving and avatars", async (t) => {
  const ctx = await createTestContext();
  try {
    const owner = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Owner Olga",
    });
    const program = await makeProgram(ctx, owner.user, {
      title: "Media Program",
    });
    const admin = await makeUserAndLogin(ctx, { role: "admin" });
    const otherInstructor = await makeUserAndLogin(ctx, {
      role: "instructor",
    });
    const outsider = await makeUserAndLogin(ctx);
    const reader = await makeUserAndLogin(ctx);
    await enroll(ctx, reader.user.id, program.id, "documentation");
    const chatter = await makeUserAndLogin(ctx);
    await enroll(ctx, chatter.user.id, program.id, "chatbot");

    let privateImage: Sent["body"]["media"];

    await t.step(
      "a PNG is stored as an image with WebP thumbnail and display variants",
      async () => {
        const png = await noisyPng(400, 300);
        const res = await upload(ctx, owner.token, program.id, {
          bytes: png,
          name: "diagram.png",
          type: "image/png",
        }, { title: "  Diagram  " });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        const media = res.body.media;
        assert.equal(media.kind, "image");
        assert.equal(media.mime, "image/webp");
        assert.equal(media.size, png.length);
        assert.equal(media.title, "Diagram");
        assert.equal(media.originalName, "diagram.png");
        assert.equal(media.visibility, "private", "private by default");
        assert.deepEqual([media.width, media.height], [400, 300]);
        assert.match(media.url, MEDIA_URL);
        assert.deepEqual(Object.keys(media.variants).sort(), [
          "display",
          "thumbnail",
        ]);
        assert.equal(media.variants.thumbnail.url, `${media.url}/thumbnail`);
        assert.equal(media.variants.display.url, `${media.url}/display`);
        assert.deepEqual(
          [media.variants.thumbnail.width, media.variants.thumbnail.height],
          [320, 240],
        );
        assert.deepEqual(
          [media.variants.display.width, media.variants.display.height],
          [400, 300],
          "never enlarged",
        );
        assert.equal(new Date(media.createdAt).toISOString(), media.createdAt);
        privateImage = media;
      },
    );

    await t.step("a JPEG is accepted whatever its declared name", async () => {
      const jpeg = await jpegWithExif(120, 80);
      const res = await upload(ctx, owner.token, program.id, {
        bytes: jpeg,
        name: "photo.bin",
        type: "application/octet-stream",
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.media.kind, "image");
      assert.equal(res.body.media.mime, "image/webp");
      assert.deepEqual(
        [res.body.media.width, res.body.media.height],
        [120, 80],
      );
    });

    await t.step(
      "a hand-written PDF is stored as a pdf and served byte for byte",
      async () => {
        const pdf = tinyPdf("Handout");
        const res = await upload(ctx, owner.token, program.id, {
          bytes: pdf,
          name: "handout.pdf",
          type: "application/pdf",
        }, { visibility: "public" });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        const media = res.body.media;
        assert.equal(media.kind, "pdf");
        assert.equal(media.mime, "application/pdf");
        assert.equal(media.size, pdf.length);
        assert.deepEqual(media.variants, {});
        assert.equal(media.width, null);
        assert.equal(media.height, null);
        const served = await fetchFile(ctx, media.url);
        assert.equal(served.status, 200);
        assert.equal(served.headers.get("content-type"), "application/pdf");
        assert.equal(served.headers.get("content-length"), String(pdf.length));
        assert.deepEqual(served.bytes, pdf);
        const thumbnail = await fetchFile(ctx, `${media.url}/thumbnail`);
        assert.equal(thumbnail.status, 404, "a PDF has no image variants");
      },
    );

    await t.step("a hand-built WAV is stored as audio/wav", async () => {
      const wav = tinyWav();
      const res = await upload(ctx, owner.token, program.id, {
        bytes: wav,
        name: "tone.wav",
        type: "audio/wav",
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.media.kind, "audio");
      assert.equal(res.body.media.mime, "audio/wav");
      assert.equal(res.body.media.size, wav.length);
      const served = await fetchFile(ctx, res.body.media.url, {
        token: owner.token,
      });
      assert.equal(served.status, 200);
      assert.equal(served.headers.get("content-type"), "audio/wav");
      assert.deepEqual(served.bytes, wav);
    });

    await t.step(
      "a text file named x.png and declared image/png is 415",
      async () => {
        const before = await storedFiles(ctx);
        const res = await upload(ctx, owner.token, program.id, {
          bytes: encoder.encode("just some notes, not a picture\n"),
          name: "x.png",
          type: "image/png",
        });
        assert.equal(res.status, 415, JSON.stringify(res.body));
        assert.equal(res.body.success, false);
        assert.equal(res.body.error.code, "UNSUPPORTED_MEDIA_TYPE");
        assert.deepEqual(await storedFiles(ctx), before, "nothing stored");
      },
    );

    await t.step(
      "HTML and SVG files are 415, however they are named",
      async () => {
        const cases = [
          [
            "page.html",
            "text/html",
            "<!doctype html><script>alert(1)</script>",
          ],
          [
            "logo.svg",
            "image/svg+xml",
            '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
          ],
          [
            "logo.png",
            "image/png",
            '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
          ],
        ] as const;
        for (const [name, type, content] of cases) {
          const res = await upload(ctx, owner.token, program.id, {
            bytes: encoder.encode(content),
            name,
            type,
          });
          assert.equal(res.status, 415, name);
          assert.equal(res.body.error.code, "UNSUPPORTED_MEDIA_TYPE", name);
        }
      },
    );

    await t.step(
      "an image-looking file over the 10 MiB image limit is 413 PAYLOAD_TOO_LARGE",
      async () => {
        const big = new Uint8Array(10 * 1024 * 1024 + 1);
        big.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
        const res = await upload(ctx, owner.token, program.id, {
          bytes: big,
          name: "huge.png",
          type: "image/png",
        });
        assert.equal(res.status, 413, JSON.stringify(res.body));
        assert.equal(res.body.error.code, "PAYLOAD_TOO_LARGE");
        assert.deepEqual(res.body.error.details, {
          kind: "image",
          maxBytes: 10 * 1024 * 1024,
          size: big.length,
        });
      },
    );

    await t.step(
      "a PNG truncated to half its bytes is 422 INVALID_MEDIA",
      async () => {
        const png = await noisyPng(300, 300);
        const res = await upload(ctx, owner.token, program.id, {
          bytes: png.subarray(0, png.length >> 1),
          name: "half.png",
          type: "image/png",
        });
        assert.equal(res.status, 422, JSON.stringify(res.body));
        assert.equal(res.body.error.code, "INVALID_MEDIA");
      },
    );

    await t.step(
      "uploads need a signed-in owner or admin, multipart, a file and valid fields",
      async () => {
        const file = { bytes: tinyPdf("x"), name: "x.pdf" };
        const anonymous = await sendForm(
          ctx,
          "POST",
          `/api/programs/${program.id}/media`,
          { file },
        );
        assert.equal(anonymous.status, 401);
        for (const who of [outsider, reader]) {
          const res = await upload(ctx, who.token, program.id, file);
          assert.equal(res.status, 403, "students cannot upload");
        }
        const notTheirs = await upload(
          ctx,
          otherInstructor.token,
          program.id,
          file,
        );
        assert.equal(notTheirs.status, 403, "another instructor's program");
        const byAdmin = await upload(ctx, admin.token, program.id, file);
        assert.equal(byAdmin.status, 201, "admins may upload anywhere");
        const missing = await upload(
          ctx,
          owner.token,
          "01ZZZZZZZZZZZZZZZZZZZZZZZZ",
          file,
        );
        assert.equal(missing.status, 404);
        const gone = await makeProgram(ctx, owner.user, { title: "Gone" });
        await api(ctx, "DELETE", `/api/programs/${gone.id}`, {
          token: owner.token,
        });
        const toDeleted = await upload(ctx, owner.token, gone.id, file);
        assert.equal(toDeleted.status, 404, "a deleted program takes no files");
        const noFile = await sendForm(
          ctx,
          "POST",
          `/api/programs/${program.id}/media`,
          { token: owner.token, fields: { title: "nothing" } },
        );
        assert.equal(noFile.status, 422);
        assert.ok(noFile.body.error.details.fields.file);
        const badVisibility = await upload(ctx, owner.token, program.id, file, {
          visibility: "everyone",
        });
        assert.equal(badVisibility.status, 422);
        assert.ok(badVisibility.body.error.details.fields.visibility);
        const longTitle = await upload(ctx, owner.token, program.id, file, {
          title: "t".repeat(201),
        });
        assert.equal(longTitle.status, 422);
        assert.ok(longTitle.body.error.details.fields.title);
        const json = await api(
          ctx,
          "POST",
          `/api/programs/${program.id}/media`,
          {
            token: owner.token,
            body: { file: "aGVsbG8=" },
          },
        );
        assert.equal(json.status, 415);
        assert.equal(json.body.error.code, "UNSUPPORTED_MEDIA_TYPE");
      },
    );

    await t.step(
      "served image variants are WebP without EXIF, and private media is cached privately",
      async () => {
        const jpeg = await jpegWithExif(600, 400);
        const input = await sharp(jpeg).metadata();
        assert.ok(input.exif, "the fixture carries EXIF");
        const res = await upload(ctx, owner.token, program.id, {
          bytes: jpeg,
          name: "gps.jpg",
          type: "image/jpeg",
        });
        assert.equal(res.status, 201);
        const media = res.body.media;
        for (
          const [url, size] of [
            [media.variants.display.url, [600, 400]],
            [media.variants.thumbnail.url, [320, 213]],
            [media.url, [600, 400]],
          ] as const
        ) {
          const served = await fetchFile(ctx, url, { token: owner.token });
          assert.equal(served.status, 200, url);
          assert.equal(served.headers.get("content-type"), "image/webp");
          assert.equal(
            served.headers.get("content-length"),
            String(served.bytes.length),
          );
          assert.match(
            served.headers.get("cache-control") ?? "",
            /^private\b/,
            url,
          );
          assert.doesNotMatch(
            served.headers.get("cache-control") ?? "",
            /public|immutable/,
          );
          const meta = await sharp(served.bytes).metadata();
          assert.equal(meta.format, "webp");
          assert.equal(meta.exif, undefined, `${url} has no EXIF`);
          assert.equal(meta.xmp, undefined);
          assert.deepEqual([meta.width, meta.height], size, url);
          assert.ok(
            !new TextDecoder("latin1").decode(served.bytes).includes("PhoneCo"),
          );
        }
        const originals = (await storedFiles(ctx)).filter((path) =>
          /\.(jpg|png)$/.test(path)
        );
        assert.deepEqual(
          originals,
          [],
          "the original image (with its EXIF) is never stored",
        );
      },
    );

    await t.step(
      "public media is served to anyone with a long immutable Cache-Control",
      async () => {
        const res = await upload(ctx, owner.token, program.id, {
          bytes: await uniquePng(),
          name: "cover.png",
          type: "image/png",
        }, { visibility: "public" });
        assert.equal(res.status, 201);
        assert.equal(res.body.media.visibility, "public");
        for (const url of Object.values(res.body.media.variants)) {
          const served = await fetchFile(ctx, (url as { url: string }).url);
          assert.equal(served.status, 200);
          assert.equal(served.headers.get("content-type"), "image/webp");
          const cache = served.headers.get("cache-control") ?? "";
          assert.match(cache, /\bpublic\b/);
          assert.match(cache, /\bimmutable\b/);
          const maxAge = Number(cache.match(/max-age=(\d+)/)?.[1]);
          assert.ok(maxAge >= 30 * 24 * 3600, cache);
        }
      },
    );

    await t.step(
      "private media: 404 for anonymous, outsiders and chatbot-only learners; 200 for owner, admin and documentation learners",
      async () => {
        const urls = [
          privateImage.url,
          privateImage.variants.thumbnail.url,
          privateImage.variants.display.url,
        ];
        for (const url of urls) {
          for (
            const token of [
              undefined,
              outsider.token,
              chatter.token,
              otherInstructor.token,
            ]
          ) {
            const denied = await fetchFile(ctx, url, token ? { token } : {});
            assert.equal(denied.status, 404, `${url} as ${token ?? "anon"}`);
            assert.equal(
              denied.headers.get("cache-control"),
              null,
              "a refusal is not cached as the file",
            );
          }
          for (const who of [owner, admin, reader]) {
            const allowed = await fetchFile(ctx, url, { token: who.token });
            assert.equal(allowed.status, 200, `${url} as ${who.user.role}`);
            assert.equal(allowed.headers.get("content-type"), "image/webp");
            assert.match(
              allowed.headers.get("cache-control") ?? "",
              /^private\b/,
            );
            assert.ok(allowed.bytes.length > 0);
          }
        }
        const unknown = await fetchFile(
          ctx,
          "/media/01ZZZZZZZZZZZZZZZZZZZZZZZZ",
        );
        assert.equal(unknown.status, 404);
      },
    );

    await t.step(
      "an ETag comes with every file and If-None-Match answers 304 without a body",
      async () => {
        for (
          const url of [privateImage.url, privateImage.variants.thumbnail.url]
        ) {
          const first = await fetchFile(ctx, url, { token: owner.token });
          const etag = first.headers.get("etag");
          assert.ok(etag, url);
          assert.match(etag, /^"[^"]+"$/, "a strong, quoted ETag");
          const again = await fetchFile(ctx, url, {
            token: owner.token,
            headers: { "If-None-Match": etag },
          });
          assert.equal(again.status, 304, url);
          assert.equal(again.bytes.length, 0);
          assert.equal(again.headers.get("etag"), etag);
          const stale = await fetchFile(ctx, url, {
            token: owner.token,
            headers: { "If-None-Match": '"something-else"' },
          });
          assert.equal(stale.status, 200);
          assert.ok(stale.bytes.length > 0);
          const denied = await fetchFile(ctx, url, {
            headers: { "If-None-Match": etag },
          });
          assert.equal(
            denied.status,
            404,
            "a known ETag does not reveal a private file",
          );
        }
        const thumb = await fetchFile(
          ctx,
          privateImage.variants.thumbnail.url,
          {
            token: owner.token,
          },
        );
        const display = await fetchFile(
          ctx,
          privateImage.variants.display.url,
          {
            token: owner.token,
          },
        );
        assert.notEqual(
          thumb.headers.get("etag"),
          display.headers.get("etag"),
          "each variant has its own ETag",
        );
      },
    );

    await t.step(
      "If-None-Match also matches in a list of tags and by weak comparison (RFC 9110)",
      async () => {
        const url = privateImage.variants.display.url;
        const first = await fetchFile(ctx, url, { token: owner.token });
        const etag = first.headers.get("etag")!;
        for (
          const header of [
            `"other", ${etag}`,
            `W/${etag}`,
            "*",
          ]
        ) {
          const again = await fetchFile(ctx, url, {
            token: owner.token,
            headers: { "If-None-Match": header },
          });
          assert.equal(again.status, 304, `If-None-Match: ${header}`);
        }
      },
    );

    await t.step(
      "served files are inline and carry nosniff, so a browser never second-guesses the type",
      async () => {
        const served = await fetchFile(ctx, privateImage.url, {
          token: owner.token,
        });
        assert.equal(served.status, 200);
        assert.equal(served.headers.get("x-content-type-options"), "nosniff");
        assert.equal(served.headers.get("content-disposition"), "inline");
      },
    );

    await t.step(
      "GET lists a program's media for its owner and admins only",
      async () => {
        const own = await makeProgram(ctx, owner.user, { title: "Listed" });
        const a = await upload(ctx, owner.token, own.id, {
          bytes: tinyPdf("A"),
          name: "a.pdf",
        });
        const b = await upload(ctx, owner.token, own.id, {
          bytes: tinyWav(),
          name: "b.wav",
        });
        const list = await api(ctx, "GET", `/api/programs/${own.id}/media`, {
          token: owner.token,
        });
        assert.equal(list.status, 200);
        assert.equal(list.body.success, true);
        assert.deepEqual(
          list.body.media.map((m: { id: string }) => m.id).sort(),
          [a.body.media.id, b.body.media.id].sort(),
          "only this program's media",
        );
        const byAdmin = await api(ctx, "GET", `/api/programs/${own.id}/media`, {
          token: admin.token,
        });
        assert.equal(byAdmin.status, 200);
        assert.equal(byAdmin.body.media.length, 2);
        for (const who of [otherInstructor, reader]) {
          const denied = await api(
            ctx,
            "GET",
            `/api/programs/${own.id}/media`,
            {
              token: who.token,
            },
          );
          assert.equal(denied.status, 403);
        }
        const anonymous = await api(
          ctx,
          "GET",
          `/api/programs/${own.id}/media`,
        );
        assert.equal(anonymous.status, 401);
      },
    );

    await t.step(
      "DELETE removes the file: it is no longer served or listed, and the lesson that showed it has media null",
      async () => {
        const own = await makeProgram(ctx, owner.user, { title: "Deleting" });
        const res = await upload(ctx, owner.token, own.id, {
          bytes: await uniquePng(),
          name: "slide.png",
        }, { visibility: "public" });
        const mediaId = res.body.media.id;
        const module = await api(
          ctx,
          "POST",
          `/api/programs/${own.id}/modules`,
          {
            token: owner.token,
            body: { title: "Week 1" },
          },
        );
        assert.equal(module.status, 201);
        const lesson = await api(
          ctx,
          "POST",
          `/api/programs/${own.id}/modules/${module.body.module.id}/lessons`,
          {
            token: owner.token,
            body: { title: "Slides", content: "See the slide", mediaId },
          },
        );
        assert.equal(lesson.status, 201, JSON.stringify(lesson.body));
        assert.equal(lesson.body.lesson.media.id, mediaId);
        assert.equal(
          (await fetchFile(ctx, res.body.media.url)).status,
          200,
        );

        const notTheirs = await api(
          ctx,
          "DELETE",
          `/api/programs/${own.id}/media/${mediaId}`,
          { token: otherInstructor.token },
        );
        assert.equal(notTheirs.status, 403);

        const removed = await api(
          ctx,
          "DELETE",
          `/api/programs/${own.id}/media/${mediaId}`,
          { token: owner.token },
        );
        assert.equal(removed.status, 200);
        assert.equal(removed.body.success, true);

        for (
          const url of [
            res.body.media.url,
            res.body.media.variants.thumbnail.url,
            res.body.media.variants.display.url,
          ]
        ) {
          assert.equal((await fetchFile(ctx, url)).status, 404, url);
          assert.equal(
            (await fetchFile(ctx, url, { token: owner.token })).status,
            404,
          );
        }
        const read = await api(
          ctx,
          "GET",
          `/api/programs/${own.id}/lessons/${lesson.body.lesson.id}`,
          { token: owner.token },
        );
        assert.equal(read.status, 200);
        assert.equal(read.body.lesson.media, null);
        const outline = await api(
          ctx,
          "GET",
          `/api/programs/${own.id}/curriculum`,
        );
        assert.equal(outline.body.curriculum[0].lessonList[0].hasMedia, false);
        const list = await api(ctx, "GET", `/api/programs/${own.id}/media`, {
          token: owner.token,
        });
        assert.deepEqual(list.body.media, []);
        const twice = await api(
          ctx,
          "DELETE",
          `/api/programs/${own.id}/media/${mediaId}`,
          { token: owner.token },
        );
        assert.equal(twice.status, 404);
        const other = await makeProgram(ctx, owner.user, { title: "Other" });
        const kept = await upload(ctx, owner.token, own.id, {
          bytes: tinyPdf("kept"),
          name: "kept.pdf",
        });
        const crossProgram = await api(
          ctx,
          "DELETE",
          `/api/programs/${other.id}/media/${kept.body.media.id}`,
          { token: owner.token },
        );
        assert.equal(
          crossProgram.status,
          404,
          "a file is removed only through its own program",
        );
        assert.equal(
          (await fetchFile(ctx, kept.body.media.url, { token: owner.token }))
            .status,
          200,
        );
        const reattach = await api(
          ctx,
          "PUT",
          `/api/programs/${own.id}/lessons/${lesson.body.lesson.id}`,
          { token: owner.token, body: { mediaId } },
        );
        assert.equal(reattach.status, 422, "a removed file cannot be attached");
      },
    );

    await t.step(
      "the same bytes uploaded twice are stored once on disk",
      async () => {
        const png = await uniquePng(90, 70);
        const pdf = tinyPdf(`dedupe ${crypto.randomUUID()}`);
        const before = await storedFiles(ctx);
        const first = await upload(ctx, owner.token, program.id, {
          bytes: png,
          name: "one.png",
        });
        const firstPdf = await upload(ctx, owner.token, program.id, {
          bytes: pdf,
          name: "one.pdf",
        });
        const afterFirst = await storedFiles(ctx);
        assert.equal(
          afterFirst.length - before.length,
          3,
          "two image variants and one PDF",
        );
        const second = await upload(ctx, owner.token, program.id, {
          bytes: png,
          name: "two.png",
        });
        const secondPdf = await upload(ctx, admin.token, program.id, {
          bytes: pdf,
          name: "two.pdf",
        });
        assert.equal(second.status, 201);
        assert.equal(secondPdf.status, 201);
        assert.notEqual(second.body.media.id, first.body.media.id);
        assert.notEqual(secondPdf.body.media.id, firstPdf.body.media.id);
        assert.deepEqual(await storedFiles(ctx), afterFirst, "no new files");
        const a = await fetchFile(ctx, first.body.media.url, {
          token: owner.token,
        });
        const b = await fetchFile(ctx, second.body.media.url, {
          token: owner.token,
        });
        assert.equal(a.status, 200);
        assert.deepEqual(a.bytes, b.bytes);
        for (const path of afterFirst) {
          assert.match(
            path,
            /^[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}(-[a-z]+)?\.[a-z0-9]+$/,
            "content-addressed names",
          );
        }
      },
    );

    await t.step(
      "PUT /api/users/profile with an avatar image sets a served /media/…/thumbnail URL",
      async () => {
        const student = await makeUserAndLogin(ctx, { name: "Avatar Ann" });
        const res = await sendForm(ctx, "PUT", "/api/users/profile", {
          token: student.token,
          field: "avatar",
          file: {
            bytes: await jpegWithExif(500, 500),
            name: "me.jpg",
            type: "image/jpeg",
          },
          fields: { bio: "Hello from a form" },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const avatar = res.body.user.avatar;
        assert.match(
          avatar,
          /^http:\/\/lectern\.test\/media\/[0-9A-Z]{26}\/thumbnail$/,
        );
        assert.equal(res.body.user.bio, "Hello from a form");
        const served = await fetchFile(ctx, avatar);
        assert.equal(served.status, 200, "anyone may see an avatar");
        assert.equal(served.headers.get("content-type"), "image/webp");
        assert.match(served.headers.get("cache-control") ?? "", /immutable/);
        const meta = await sharp(served.bytes).metadata();
        assert.equal(meta.format, "webp");
        assert.equal(meta.exif, undefined);
        assert.deepEqual([meta.width, meta.height], [320, 320]);
        const profile = await api(ctx, "GET", "/api/users/profile", {
          token: student.token,
        });
        assert.equal(profile.body.user.avatar, avatar);
      },
    );

    await t.step(
      "an avatar that is a PDF (or text) is 415 and the profile is unchanged",
      async () => {
        const student = await makeUserAndLogin(ctx, { name: "Kept Name" });
        const before = await api(ctx, "GET", "/api/users/profile", {
          token: student.token,
        });
        for (
          const file of [
            { bytes: tinyPdf("me"), name: "me.pdf", type: "application/pdf" },
            {
              bytes: encoder.encode("hello"),
              name: "me.png",
              type: "image/png",
            },
            { bytes: tinyWav(), name: "me.wav", type: "audio/wav" },
          ]
        ) {
          const res = await sendForm(ctx, "PUT", "/api/users/profile", {
            token: student.token,
            field: "avatar",
            file,
            fields: { name: "Changed Name" },
          });
          assert.equal(res.status, 415, file.name);
          assert.equal(res.body.error.code, "UNSUPPORTED_MEDIA_TYPE");
        }
        const filesBefore = await storedFiles(ctx);
        const invalid = await sendForm(ctx, "PUT", "/api/users/profile", {
          token: student.token,
          field: "avatar",
          file: { bytes: await uniquePng(), name: "me.png", type: "image/png" },
          fields: { preferences: JSON.stringify({ theme: "neon" }) },
        });
        assert.equal(invalid.status, 422);
        assert.deepEqual(
          await storedFiles(ctx),
          filesBefore,
          "a rejected form stores no avatar",
        );
        const after = await api(ctx, "GET", "/api/users/profile", {
          token: student.token,
        });
        assert.deepEqual(after.body.user, before.body.user);
      },
    );

    await t.step(
      "JSON PUT /api/users/profile still works next to multipart",
      async () => {
        const student = await makeUserAndLogin(ctx);
        const res = await api(ctx, "PUT", "/api/users/profile", {
          token: student.token,
          body: {
            name: "Json Jane",
            avatar: "https://cdn.example.test/jane.png",
          },
        });
        assert.equal(res.status, 200);
        assert.equal(res.body.user.name, "Json Jane");
        assert.equal(res.body.user.avatar, "https://cdn.example.test/jane.png");
        const form = await sendForm(ctx, "PUT", "/api/users/profile", {
          token: student.token,
          fields: {
            name: "Form Jane",
            preferences: JSON.stringify({ theme: "dark" }),
          },
        });
        assert.equal(form.status, 200, JSON.stringify(form.body));
        assert.equal(form.body.user.name, "Form Jane");
        assert.equal(form.body.user.preferences.theme, "dark");
        assert.equal(
          form.body.user.avatar,
          "https://cdn.example.test/jane.png",
          "no file, no avatar change",
        );
      },
    );
  } finally {
    await ctx.close();
  }

  await t.step(
    "a multipart body over UPLOAD_LIMIT_BYTES is 413 PAYLOAD_TOO_LARGE",
    async () => {
      const small = await createTestContext({ UPLOAD_LIMIT_BYTES: "50000" });
      try {
        const owner = await makeUserAndLogin(small, { role: "instructor" });
        const program = await makeProgram(small, owner.user);
        const pdf = new Uint8Array(60_000);
        pdf.set(encoder.encode("%PDF-1.4\n"));
        const res = await upload(small, owner.token, program.id, {
          bytes: pdf,
          name: "big.pdf",
        });
        assert.equal(res.status, 413, JSON.stringify(res.body));
        assert.equal(res.body.error.code, "PAYLOAD_TOO_LARGE");
        assert.deepEqual(await storedFiles(small), []);
        const fits = await upload(small, owner.token, program.id, {
          bytes: tinyPdf(),
          name: "small.pdf",
        });
        assert.equal(fits.status, 201, "a file under the limit still goes in");
      } finally {
        await small.close();
      }
    },
  );
});
