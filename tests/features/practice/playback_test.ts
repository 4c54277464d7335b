import assert from "node:assert/strict";
import { signPath } from "../../../server/lib/signed_urls.ts";
import { sha256Hex } from "../../../server/lib/storage.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { makeUserAndLogin } from "../../helpers/factories.ts";
import {
  assertFfmpeg,
  fetchFile,
  makeVideoClip,
  recording,
  share,
  tinyWav,
  WITHOUT_FFMPEG,
} from "./support.ts";

const HOUR_MS = 3_600_000;

/** The path and query of a signed link, with one query parameter replaced. */
function withParam(url: string, name: string, value: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set(name, value);
  return parsed.pathname + parsed.search;
}

Deno.test("practice playback: signed links and range requests", async (t) => {
  const ctx = await createTestContext();
  try {
    const owner = await makeUserAndLogin(ctx, { name: "Owner Ola" });
    const friend = await makeUserAndLogin(ctx, { name: "Friend Fay" });
    const stranger = await makeUserAndLogin(ctx, { name: "Stranger Sam" });
    const secret = ctx.deps.config.jwtSecret;

    const original = tinyWav(1.25); // 20,044 bytes
    const size = original.length;
    const video = await recording(ctx, owner.token, { title: "Scales" }, {
      bytes: original,
      name: "scales.wav",
      type: "audio/wav",
    });
    await share(ctx, owner.token, video.id, friend.user.id);
    const url: string = video.url;
    const mediaId = new URL(url).pathname.split("/").pop()!;

    await t.step("the recording's url is a signed, expiring link", () => {
      const parsed = new URL(url);
      assert.equal(parsed.origin, "http://lectern.test");
      assert.match(parsed.pathname, /^\/media\/signed\/[0-9A-Z]{26}$/);
      const expires = Number(parsed.searchParams.get("expires"));
      assert.ok(parsed.searchParams.get("signature"), "a signature");
      assert.equal(expires * 1000, Date.parse(video.urlExpiresAt));
      const left = expires * 1000 - Date.now();
      assert.ok(left > 0.9 * HOUR_MS && left <= HOUR_MS, `${left} ms left`);
      assert.equal(video.size, size);
      assert.equal(video.mime, "audio/wav");
    });

    await t.step(
      "without Range: 200, the whole file, Accept-Ranges",
      async () => {
        const res = await fetchFile(ctx, url);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("accept-ranges"), "bytes");
        // Players on a front end's own origin must be allowed to use it.
        assert.equal(
          res.headers.get("cross-origin-resource-policy"),
          "cross-origin",
        );
        assert.equal(res.headers.get("content-type"), "audio/wav");
        assert.equal(res.headers.get("content-length"), String(size));
        assert.equal(res.headers.get("content-range"), null);
        assert.equal(res.headers.get("etag"), `"${await sha256Hex(original)}"`);
        assert.match(res.headers.get("cache-control") ?? "", /^private/);
        assert.deepEqual(res.bytes, original);
      },
    );

    await t.step("HEAD: the headers without the bytes", async () => {
      const parsed = new URL(url);
      const res = await ctx.app.request(parsed.pathname + parsed.search, {
        method: "HEAD",
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-length"), String(size));
      assert.equal(res.headers.get("accept-ranges"), "bytes");
      assert.equal((await res.arrayBuffer()).byteLength, 0);
    });

    await t.step(
      "the owner, signed in, also gets ranges from /media/:id",
      async () => {
        const res = await ctx.app.request(`/media/${mediaId}`, {
          headers: {
            Authorization: `Bearer ${owner.token}`,
            Range: "bytes=10-19",
          },
        });
        assert.equal(res.status, 206);
        assert.equal(res.headers.get("content-range"), `bytes 10-19/${size}`);
        assert.deepEqual(
          new Uint8Array(await res.arrayBuffer()),
          original.slice(10, 20),
        );
        const past = await ctx.app.request(`/media/${mediaId}`, {
          headers: {
            Authorization: `Bearer ${owner.token}`,
            Range: `bytes=${size}-`,
          },
        });
        await past.body?.cancel();
        assert.equal(past.status, 416);
        assert.equal(past.headers.get("content-range"), `bytes */${size}`);
      },
    );

    await t.step(
      "a shared person plays the same link they were given",
      async () => {
        const seen = await api(ctx, "GET", `/api/videos/${video.id}`, {
          token: friend.token,
        });
        assert.equal(seen.status, 200);
        const res = await fetchFile(ctx, seen.body.video.url);
        assert.equal(res.status, 200);
        assert.deepEqual(res.bytes, original);
      },
    );

    const ranges: {
      name: string;
      range: string;
      start: number;
      end: number;
    }[] = [
      { name: "the first ten bytes", range: "bytes=0-9", start: 0, end: 9 },
      {
        name: "a range in the middle",
        range: "bytes=1000-1999",
        start: 1000,
        end: 1999,
      },
      {
        name: "an open range",
        range: "bytes=100-",
        start: 100,
        end: size - 1,
      },
      { name: "a suffix", range: "bytes=-10", start: size - 10, end: size - 1 },
      {
        name: "a range running past the end, cut at the end",
        range: `bytes=${size - 5}-${size + 100}`,
        start: size - 5,
        end: size - 1,
      },
      {
        name: "a suffix longer than the file, the whole file",
        range: `bytes=-${size + 50}`,
        start: 0,
        end: size - 1,
      },
      {
        name: "the last byte alone",
        range: `bytes=${size - 1}-${size - 1}`,
        start: size - 1,
        end: size - 1,
      },
    ];
    for (const { name, range, start, end } of ranges) {
      await t.step(`${name} (${range}): 206 with exact bytes`, async () => {
        const res = await fetchFile(ctx, url, { Range: range });
        assert.equal(res.status, 206);
        assert.equal(
          res.headers.get("content-range"),
          `bytes ${start}-${end}/${size}`,
        );
        assert.equal(
          res.headers.get("content-length"),
          String(end - start + 1),
        );
        assert.equal(res.headers.get("accept-ranges"), "bytes");
        assert.deepEqual(res.bytes, original.slice(start, end + 1));
      });
    }

    for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`]) {
      await t.step(
        `past the end (${range}): 416 with bytes */size`,
        async () => {
          const res = await fetchFile(ctx, url, { Range: range });
          assert.equal(res.status, 416);
          assert.equal(res.headers.get("content-range"), `bytes */${size}`);
          const body = JSON.parse(new TextDecoder().decode(res.bytes));
          assert.equal(body.error.code, "RANGE_NOT_SATISFIABLE");
        },
      );
    }

    await t.step(
      "If-Range: the same tag gets the range, another the whole",
      async () => {
        const etag = `"${await sha256Hex(original)}"`;
        const same = await fetchFile(ctx, url, {
          Range: "bytes=0-9",
          "If-Range": etag,
        });
        assert.equal(same.status, 206);
        assert.deepEqual(same.bytes, original.slice(0, 10));
        const other = await fetchFile(ctx, url, {
          Range: "bytes=0-9",
          "If-Range": '"something-else"',
        });
        assert.equal(other.status, 200);
        assert.deepEqual(other.bytes, original);
      },
    );

    await t.step("a changed signature: 404", async () => {
      const signature = new URL(url).searchParams.get("signature")!;
      const flipped = (signature[0] === "A" ? "B" : "A") + signature.slice(1);
      const res = await fetchFile(ctx, withParam(url, "signature", flipped));
      assert.equal(res.status, 404);
      const missing = new URL(url);
      missing.searchParams.delete("signature");
      assert.equal(
        (await fetchFile(ctx, missing.pathname + missing.search)).status,
        404,
      );
      assert.equal(
        (await fetchFile(ctx, new URL(url).pathname)).status,
        404,
        "no query at all",
      );
    });

    await t.step("a changed expiry (later or earlier): 404", async () => {
      const expires = Number(new URL(url).searchParams.get("expires"));
      for (const changed of [expires + 1, expires + 86_400, expires - 1]) {
        const res = await fetchFile(
          ctx,
          withParam(url, "expires", String(changed)),
        );
        assert.equal(res.status, 404, `expires=${changed}`);
      }
      assert.equal(
        (await fetchFile(ctx, withParam(url, "expires", "soon"))).status,
        404,
      );
    });

    await t.step("another media id with the same signature: 404", async () => {
      const other = await recording(ctx, owner.token, { title: "Other" });
      const otherId = new URL(other.url).pathname.split("/").pop()!;
      assert.notEqual(otherId, mediaId);
      const query = new URL(url).search;
      const res = await fetchFile(ctx, `/media/signed/${otherId}${query}`);
      assert.equal(res.status, 404);
      // ...while its own link works.
      assert.equal((await fetchFile(ctx, other.url)).status, 200);
    });

    await t.step("an expired link: 403 LINK_EXPIRED", async () => {
      const old = signPath(
        secret,
        `/media/signed/${mediaId}`,
        Date.now() - 2 * HOUR_MS,
      );
      const res = await fetchFile(ctx, old.path);
      assert.equal(res.status, 403);
      const body = JSON.parse(new TextDecoder().decode(res.bytes));
      assert.equal(body.error.code, "LINK_EXPIRED");
      const ranged = await fetchFile(ctx, old.path, { Range: "bytes=0-9" });
      assert.equal(ranged.status, 403, "a range does not get round it");
    });

    await t.step("a link signed with another secret: 404", async () => {
      const forged = signPath(
        "another-secret-that-is-long-enough-for-hs256",
        `/media/signed/${mediaId}`,
      );
      assert.equal((await fetchFile(ctx, forged.path)).status, 404);
    });

    await t.step(
      "the recording's signature does not open its thumbnail",
      async () => {
        const parsed = new URL(url);
        const res = await fetchFile(
          ctx,
          `${parsed.pathname}/thumbnail${parsed.search}`,
        );
        assert.equal(res.status, 404);
      },
    );

    await t.step(
      "audio has no thumbnail, even through a valid link",
      async () => {
        assert.equal(video.thumbnailUrl, null);
        const signed = signPath(secret, `/media/signed/${mediaId}/thumbnail`);
        assert.equal((await fetchFile(ctx, signed.path)).status, 404);
      },
    );

    await t.step(
      "private recordings are never served by /media/:id without auth",
      async () => {
        for (
          const path of [`/media/${mediaId}`, `/media/${mediaId}/thumbnail`]
        ) {
          assert.equal((await fetchFile(ctx, path)).status, 404, path);
          const ranged = await fetchFile(ctx, path, { Range: "bytes=0-9" });
          assert.equal(ranged.status, 404, `${path} with a Range`);
        }
        const signed = new URL(url);
        assert.equal(
          (await fetchFile(ctx, `/media/${mediaId}${signed.search}`)).status,
          404,
          "a signature means nothing on /media/:id",
        );
        for (const who of [stranger, friend]) {
          const res = await ctx.app.request(`/media/${mediaId}`, {
            headers: { Authorization: `Bearer ${who.token}` },
          });
          await res.body?.cancel();
          assert.equal(res.status, 404, "signed in but not the owner");
        }
      },
    );

    await t.step({
      name: "a video's thumbnail link serves a WebP through its own signature",
      ignore: WITHOUT_FFMPEG,
      fn: async () => {
        assertFfmpeg();
        const clip = await recording(ctx, owner.token, { title: "Clip" }, {
          bytes: await makeVideoClip(),
          name: "clip.mp4",
          type: "video/mp4",
        });
        assert.ok(clip.thumbnailUrl, "a thumbnail link");
        const thumb = new URL(clip.thumbnailUrl);
        assert.match(
          thumb.pathname,
          /^\/media\/signed\/[0-9A-Z]{26}\/thumbnail$/,
        );
        const res = await fetchFile(ctx, clip.thumbnailUrl);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), "image/webp");
        const text = new TextDecoder().decode(res.bytes.slice(0, 12));
        assert.equal(text.slice(0, 4), "RIFF");
        assert.equal(text.slice(8, 12), "WEBP");
        const tampered = withParam(
          clip.thumbnailUrl,
          "expires",
          String(Number(thumb.searchParams.get("expires")) + 60),
        );
        assert.equal((await fetchFile(ctx, tampered)).status, 404);
        // The thumbnail's signature does not open the recording either.
        const recordingPath = thumb.pathname.replace(/\/thumbnail$/, "");
        assert.equal(
          (await fetchFile(ctx, recordingPath + thumb.search)).status,
          404,
        );
        const expired = signPath(
          secret,
          thumb.pathname,
          Date.now() - 2 * HOUR_MS,
        );
        const old = await fetchFile(ctx, expired.path);
        assert.equal(old.status, 403);
      },
    });

    await t.step("a deleted recording's link stops working", async () => {
      const doomed = await recording(ctx, owner.token, { title: "Doomed" });
      assert.equal((await fetchFile(ctx, doomed.url)).status, 200);
      const deleted = await api(ctx, "DELETE", `/api/videos/${doomed.id}`, {
        token: owner.token,
      });
      assert.equal(deleted.status, 200);
      assert.equal((await fetchFile(ctx, doomed.url)).status, 404);
    });
  } finally {
    await ctx.close();
  }
});
