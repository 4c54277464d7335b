import assert from "node:assert/strict";
import sharp from "sharp";
import { api, createTestContext } from "../../helpers/context.ts";
import { makeUserAndLogin } from "../../helpers/factories.ts";
import {
  assertFfmpeg,
  fetchFile,
  makeAudioClip,
  makeVideoClip,
  noticesOf,
  tinyWav,
  uploadRecording,
  WITHOUT_FFMPEG,
} from "./support.ts";

const encoder = new TextEncoder();

/** An `ftyp` box a sniffer takes for MP4, then bytes no decoder can read. */
function fakeMp4(): Uint8Array {
  const header = new Uint8Array(24);
  const view = new DataView(header.buffer);
  view.setUint32(0, 24);
  header.set(encoder.encode("ftypisom"), 4);
  view.setUint32(12, 0x200);
  header.set(encoder.encode("isommp41"), 16);
  const garbage = crypto.getRandomValues(new Uint8Array(4096));
  const bytes = new Uint8Array(header.length + garbage.length);
  bytes.set(header);
  bytes.set(garbage, header.length);
  return bytes;
}

const near = (actual: number | null, expected: number, within = 0.2) =>
  actual !== null && Math.abs(actual - expected) <= within;

Deno.test({
  name: "practice processing with real ffmpeg",
  ignore: WITHOUT_FFMPEG,
  fn: async (t) => {
    assertFfmpeg();
    const ctx = await createTestContext();
    try {
      const owner = await makeUserAndLogin(ctx, { name: "Owner Oz" });
      const show = async (id: string) => {
        const res = await api(ctx, "GET", `/api/videos/${id}`, {
          token: owner.token,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return res.body.video;
      };
      const [videoBytes, audioBytes] = await Promise.all([
        makeVideoClip(),
        makeAudioClip(),
      ]);
      const ids: Record<string, string> = {};

      await t.step(
        "a two-second video: ready, its duration, a WebP thumbnail",
        async () => {
          const sent = await uploadRecording(ctx, owner.token, {
            title: "Etude in video",
          }, { bytes: videoBytes, name: "etude.mp4", type: "video/mp4" });
          assert.equal(sent.status, 201, JSON.stringify(sent.body));
          assert.equal(sent.body.video.kind, "video");
          assert.equal(sent.body.video.mime, "video/mp4");
          ids.video = sent.body.video.id;
          await ctx.deps.background.idle();
          const video = await show(ids.video!);
          assert.equal(video.status, "ready");
          assert.equal(video.statusDetail, null);
          assert.ok(near(video.duration, 2), `duration ${video.duration}`);
          assert.ok(video.thumbnailUrl, "a thumbnail link");
          const thumb = await fetchFile(ctx, video.thumbnailUrl);
          assert.equal(thumb.status, 200);
          assert.equal(thumb.headers.get("content-type"), "image/webp");
          const meta = await sharp(thumb.bytes).metadata();
          assert.equal(meta.format, "webp");
          assert.ok(
            meta.width! > 0 && meta.width! <= 320,
            `width ${meta.width}`,
          );
          const played = await fetchFile(ctx, video.url);
          assert.equal(played.status, 200);
          assert.deepEqual(played.bytes, videoBytes);
        },
      );

      await t.step(
        "a two-second WAV: ready, its duration, no thumbnail",
        async () => {
          const sent = await uploadRecording(ctx, owner.token, {
            title: "Etude in sound",
          }, { bytes: audioBytes, name: "etude.wav", type: "audio/wav" });
          assert.equal(sent.status, 201, JSON.stringify(sent.body));
          assert.equal(sent.body.video.kind, "audio");
          ids.audio = sent.body.video.id;
          await ctx.deps.background.idle();
          const audio = await show(ids.audio!);
          assert.equal(audio.status, "ready");
          assert.equal(audio.statusDetail, null);
          assert.ok(near(audio.duration, 2), `duration ${audio.duration}`);
          assert.equal(audio.thumbnailUrl, null);
        },
      );

      await t.step("an MP4 header with garbage after it: error", async () => {
        const sent = await uploadRecording(ctx, owner.token, {
          title: "Broken",
        }, { bytes: fakeMp4(), name: "broken.mp4", type: "video/mp4" });
        assert.equal(sent.status, 201, "the sniffer takes it for MP4");
        ids.broken = sent.body.video.id;
        await ctx.deps.background.idle();
        const broken = await show(ids.broken!);
        assert.equal(broken.status, "error");
        assert.match(broken.statusDetail, /could not be read/);
        assert.equal(broken.duration, null);
        assert.equal(broken.thumbnailUrl, null);
      });

      await t.step(
        "a real clip cut short (its index lost): error",
        async () => {
          const half = videoBytes.slice(0, Math.floor(videoBytes.length / 2));
          const sent = await uploadRecording(ctx, owner.token, {
            title: "Cut short",
          }, { bytes: half, name: "cut.mp4", type: "video/mp4" });
          assert.equal(sent.status, 201, JSON.stringify(sent.body));
          await ctx.deps.background.idle();
          assert.equal((await show(sent.body.video.id)).status, "error");
        },
      );

      await t.step(
        "the owner hears the outcome of each: submission_ready",
        async () => {
          const notices = await noticesOf(ctx, owner.token, "submission_ready");
          const about = (id: string) =>
            notices.filter((n) => n.relatedId === id);
          for (const id of [ids.video!, ids.audio!]) {
            assert.equal(about(id).length, 1, "told once");
            assert.equal(about(id)[0]!.title, "Your recording is ready");
          }
          assert.equal(about(ids.broken!).length, 1);
          assert.equal(
            about(ids.broken!)[0]!.title,
            "Your recording could not be processed",
          );
        },
      );

      await t.step("?status= lists by outcome", async () => {
        const list = async (status: string) => {
          const res = await api(ctx, "GET", `/api/videos?status=${status}`, {
            token: owner.token,
          });
          assert.equal(res.status, 200);
          return (res.body.videos as { id: string }[]).map((v) => v.id).sort();
        };
        assert.deepEqual(await list("ready"), [ids.video!, ids.audio!].sort());
        assert.equal((await list("error")).length, 2);
        assert.ok((await list("error")).includes(ids.broken!));
        assert.deepEqual(await list("processing"), []);
        const bad = await api(ctx, "GET", "/api/videos?status=done", {
          token: owner.token,
        });
        assert.equal(bad.status, 422);
      });
    } finally {
      await ctx.deps.background.idle();
      await ctx.close();
    }
  },
});

Deno.test("practice uploads: only audio and video, with a title", async (t) => {
  const ctx = await createTestContext();
  try {
    const owner = await makeUserAndLogin(ctx);
    const png = new Uint8Array(
      await sharp({
        create: { width: 8, height: 8, channels: 3, background: "#c33" },
      }).png().toBuffer(),
    );
    const refused: {
      name: string;
      file: { bytes: Uint8Array; name: string; type: string };
    }[] = [
      {
        name: "plain text",
        file: {
          bytes: encoder.encode("not a recording at all\n"),
          name: "notes.txt",
          type: "text/plain",
        },
      },
      {
        name: "a PNG image",
        file: { bytes: png, name: "cover.png", type: "image/png" },
      },
      {
        name: "plain text named and typed as MP4",
        file: {
          bytes: encoder.encode("hello there, this is text"),
          name: "take.mp4",
          type: "video/mp4",
        },
      },
      {
        name: "a PDF",
        file: {
          bytes: encoder.encode("%PDF-1.4\n%%EOF\n"),
          name: "score.pdf",
          type: "application/pdf",
        },
      },
    ];
    for (const { name, file } of refused) {
      await t.step(`${name}: 415`, async () => {
        const res = await uploadRecording(ctx, owner.token, {}, file);
        assert.equal(res.status, 415, JSON.stringify(res.body));
        assert.equal(res.body.error.code, "UNSUPPORTED_MEDIA_TYPE");
      });
    }

    await t.step("nothing refused was kept", async () => {
      const res = await api(ctx, "GET", "/api/videos", { token: owner.token });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.videos, []);
      const stored = await Array.fromAsync(
        Deno.readDir(`${ctx.dataDir}/media`),
      ).catch((error) => {
        if (error instanceof Deno.errors.NotFound) return [];
        throw error;
      });
      assert.deepEqual(stored, [], "no bytes stored either");
    });

    await t.step("no file or no title: 422; a JSON body: 415", async () => {
      const noTitle = await uploadRecording(ctx, owner.token, { title: "  " });
      assert.equal(noTitle.status, 422, JSON.stringify(noTitle.body));
      const badFlag = await uploadRecording(ctx, owner.token, {
        isPublic: "yes",
      });
      assert.equal(badFlag.status, 422, JSON.stringify(badFlag.body));
      const json = await api(ctx, "POST", "/api/videos", {
        token: owner.token,
        body: { title: "No file" },
      });
      assert.equal(json.status, 415);
      const form = new FormData();
      form.append("title", "No file");
      const noFile = await ctx.app.request("/api/videos", {
        method: "POST",
        headers: { Authorization: `Bearer ${owner.token}` },
        body: form,
      });
      await noFile.body?.cancel();
      assert.equal(noFile.status, 422);
    });
    await ctx.deps.background.idle();
  } finally {
    await ctx.close();
  }
});

Deno.test("practice processing without ffmpeg: ready, and says why there is no duration", async () => {
  const missing = "/nonexistent/lectern-test/bin";
  const ctx = await createTestContext({
    FFMPEG_PATH: `${missing}/ffmpeg`,
    FFPROBE_PATH: `${missing}/ffprobe`,
  });
  try {
    const owner = await makeUserAndLogin(ctx);
    const sent = await uploadRecording(ctx, owner.token, { title: "Offline" }, {
      bytes: tinyWav(1),
      name: "offline.wav",
      type: "audio/wav",
    });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    await ctx.deps.background.idle();
    const res = await api(ctx, "GET", `/api/videos/${sent.body.video.id}`, {
      token: owner.token,
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.video.status, "ready");
    assert.equal(res.body.video.duration, null);
    assert.equal(res.body.video.thumbnailUrl, null);
    assert.match(res.body.video.statusDetail, /ffmpeg/i);
    // It still plays.
    const played = await fetchFile(ctx, res.body.video.url);
    assert.equal(played.status, 200);
    // ...and can be commented on anywhere in its first day (its length is unknown).
    const noted = await api(
      ctx,
      "POST",
      `/api/videos/${sent.body.video.id}/comments`,
      { token: owner.token, body: { content: "later on", timestamp: 3600 } },
    );
    assert.equal(noted.status, 201, JSON.stringify(noted.body));
    const tooLate = await api(
      ctx,
      "POST",
      `/api/videos/${sent.body.video.id}/comments`,
      { token: owner.token, body: { content: "way later", timestamp: 86_401 } },
    );
    assert.equal(tooLate.status, 422);
  } finally {
    await ctx.deps.background.idle();
    await ctx.close();
  }
});

Deno.test({
  name:
    "practice processing with ffprobe but no ffmpeg keeps the measured duration",
  ignore: WITHOUT_FFMPEG,
  fn: async () => {
    assertFfmpeg();
    const ctx = await createTestContext({
      FFMPEG_PATH: "/nonexistent/lectern-test/bin/ffmpeg",
    });
    try {
      const owner = await makeUserAndLogin(ctx);
      const sent = await uploadRecording(ctx, owner.token, {
        title: "Half tools",
      }, {
        bytes: await makeVideoClip(),
        name: "clip.mp4",
        type: "video/mp4",
      });
      assert.equal(sent.status, 201, JSON.stringify(sent.body));
      await ctx.deps.background.idle();
      const res = await api(ctx, "GET", `/api/videos/${sent.body.video.id}`, {
        token: owner.token,
      });
      assert.equal(res.body.video.status, "ready");
      assert.equal(res.body.video.thumbnailUrl, null);
      assert.match(res.body.video.statusDetail ?? "", /ffmpeg/);
      assert.ok(
        near(res.body.video.duration, 2),
        `duration ${res.body.video.duration}`,
      );
    } finally {
      await ctx.deps.background.idle();
      await ctx.close();
    }
  },
});
