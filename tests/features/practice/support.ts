import assert from "node:assert/strict";
import { api, type TestContext } from "../../helpers/context.ts";

const encoder = new TextEncoder();

// ---- ffmpeg ------------------------------------------------------------------------------------

function runs(program: string): boolean {
  try {
    return new Deno.Command(program, {
      args: ["-version"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

/** Whether ffmpeg and ffprobe are on PATH (checked once, when a test file loads). */
export const HAS_FFMPEG = runs("ffmpeg") && runs("ffprobe");

/** LECTERN_REQUIRE_FFMPEG=1 turns a missing ffmpeg from a skip into a failure. */
export const REQUIRE_FFMPEG = Deno.env.get("LECTERN_REQUIRE_FFMPEG") === "1";

/**
 * `ignore:` for a test that needs ffmpeg: skipped without it, unless LECTERN_REQUIRE_FFMPEG=1, in
 * which case the test runs and `assertFfmpeg` fails it.
 */
export const WITHOUT_FFMPEG = !HAS_FFMPEG && !REQUIRE_FFMPEG;

/** First line of a test that needs ffmpeg: a loud failure when it is missing but required. */
export function assertFfmpeg(): void {
  assert.ok(
    HAS_FFMPEG,
    "ffmpeg and ffprobe must be on PATH (LECTERN_REQUIRE_FFMPEG=1 is set)",
  );
}

async function ffmpeg(args: string[], output: string): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "lectern-clip-" });
  try {
    const path = `${dir}/${output}`;
    const result = await new Deno.Command("ffmpeg", {
      args: ["-v", "error", "-y", ...args, path],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(
      result.code,
      0,
      `ffmpeg failed: ${new TextDecoder().decode(result.stderr)}`,
    );
    return await Deno.readFile(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A two-second MPEG-4 video (320x240, 10 fps) with an AAC sine track, made by real ffmpeg. */
export const makeVideoClip = (seconds = 2) =>
  ffmpeg([
    "-f",
    "lavfi",
    "-i",
    `testsrc=duration=${seconds}:size=320x240:rate=10`,
    "-f",
    "lavfi",
    "-i",
    `sine=duration=${seconds}`,
    "-shortest",
    "-c:v",
    "mpeg4",
    "-c:a",
    "aac",
  ], "clip.mp4");

/** A WAV of a sine tone, made by real ffmpeg. */
export const makeAudioClip = (seconds = 2, frequency = 440) =>
  ffmpeg([
    "-f",
    "lavfi",
    "-i",
    `sine=frequency=${frequency}:duration=${seconds}`,
  ], "tone.wav");

// ---- files without ffmpeg --------------------------------------------------------------------------

let wavCounter = 0;

/**
 * `seconds` of 8 kHz 16-bit mono PCM in a RIFF/WAVE container, written by hand: exactly that long
 * to ffprobe. Each call's samples differ, so content addressing never merges two uploads.
 */
export function tinyWav(seconds = 1): Uint8Array {
  const sampleRate = 8000;
  const samples = Math.round(sampleRate * seconds);
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
  const frequency = 220 + (++wavCounter % 500);
  for (let i = 0; i < samples; i++) {
    const value = Math.round(
      Math.sin((2 * Math.PI * frequency * i) / sampleRate) * 12000,
    );
    view.setInt16(44 + i * 2, value, true);
  }
  return bytes;
}

// ---- HTTP ----------------------------------------------------------------------------------------

export interface Sent {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** Multipart POST of one file (field `file`) plus text fields, as a browser form sends it. */
export async function sendForm(
  ctx: TestContext,
  path: string,
  options: {
    token?: string;
    file?: { bytes: Uint8Array; name: string; type?: string };
    fields?: Record<string, string>;
  },
): Promise<Sent> {
  const form = new FormData();
  if (options.file) {
    form.append(
      "file",
      new File(
        [options.file.bytes as Uint8Array<ArrayBuffer>],
        options.file.name,
        { type: options.file.type ?? "application/octet-stream" },
      ),
    );
  }
  for (const [key, value] of Object.entries(options.fields ?? {})) {
    form.append(key, value);
  }
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const response = await ctx.app.request(path, {
    method: "POST",
    headers,
    body: form,
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: response.status, headers: response.headers, body };
}

/** POST /api/videos with a file (a fresh one-second WAV unless given). */
export const uploadRecording = (
  ctx: TestContext,
  token: string,
  fields: Record<string, string> = {},
  file: { bytes: Uint8Array; name: string; type?: string } = {
    bytes: tinyWav(1),
    name: "take.wav",
    type: "audio/wav",
  },
) =>
  sendForm(ctx, "/api/videos", {
    token,
    file,
    fields: { title: "Practice take", ...fields },
  });

/** Uploads and waits for processing; the recording as GET /api/videos/:id shows it to the owner. */
export async function recording(
  ctx: TestContext,
  token: string,
  fields: Record<string, string> = {},
  file?: { bytes: Uint8Array; name: string; type?: string },
) {
  const sent = await uploadRecording(ctx, token, fields, file);
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  await ctx.deps.background.idle();
  const shown = await api(ctx, "GET", `/api/videos/${sent.body.video.id}`, {
    token,
  });
  assert.equal(shown.status, 200, JSON.stringify(shown.body));
  return shown.body.video;
}

/** GET of a served file by absolute URL or path, as raw bytes (a player sends no Authorization). */
export async function fetchFile(
  ctx: TestContext,
  url: string,
  headers: Record<string, string> = {},
) {
  const parsed = new URL(url, "http://lectern.test");
  const response = await ctx.app.request(parsed.pathname + parsed.search, {
    headers,
  });
  return {
    status: response.status,
    headers: response.headers,
    bytes: new Uint8Array(await response.arrayBuffer()),
  };
}

export async function share(
  ctx: TestContext,
  ownerToken: string,
  videoId: string,
  userId: string,
) {
  const res = await api(ctx, "POST", `/api/videos/${videoId}/share`, {
    token: ownerToken,
    body: { userId },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

export async function comment(
  ctx: TestContext,
  token: string,
  videoId: string,
  body: { content: string; timestamp: number; category?: string },
) {
  const res = await api(ctx, "POST", `/api/videos/${videoId}/comments`, {
    token,
    body,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.comment as { id: string; parentId: string | null };
}

export async function reply(
  ctx: TestContext,
  token: string,
  commentId: string,
  content: string,
) {
  const res = await api(ctx, "POST", `/api/comments/${commentId}/replies`, {
    token,
    body: { content },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.comment as { id: string; parentId: string | null };
}

/**
 * An active teacher-student relationship the way people make one: the instructor invites the
 * learner (no instructor profile needed), the learner accepts. Returns the relationship id.
 */
export async function connect(
  ctx: TestContext,
  teacherToken: string,
  student: { token: string; user: { id: string } },
): Promise<string> {
  const asked = await api(ctx, "POST", "/api/relationships/request", {
    token: teacherToken,
    body: { userId: student.user.id },
  });
  assert.equal(asked.status, 201, JSON.stringify(asked.body));
  const id = asked.body.relationship.id as string;
  const accepted = await api(ctx, "PUT", `/api/relationships/${id}/accept`, {
    token: student.token,
  });
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  assert.equal(accepted.body.relationship.status, "active");
  return id;
}

export interface Notice {
  id: string;
  type: string;
  title: string;
  message: string;
  link: string | null;
  relatedId: string | null;
}

/** The caller's notifications through GET /api/notifications (of one type, when named). */
export async function noticesOf(
  ctx: TestContext,
  token: string,
  type?: string,
): Promise<Notice[]> {
  const res = await api(ctx, "GET", "/api/notifications?limit=100", { token });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const all = res.body.notifications as Notice[];
  return type ? all.filter((notice) => notice.type === type) : all;
}
