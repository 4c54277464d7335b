import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;
const PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
];

function serverCommand(env: Record<string, string>) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, "server/main.ts"],
    cwd: ROOT,
    env: { LOG_LEVEL: "info", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  });
}

function freePort(): number {
  const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Reads stdout lines until one matches, so the test knows the server is up. */
async function waitForLine(
  reader: ReadableStreamDefaultReader<string>,
  pattern: RegExp,
  seen: string[],
) {
  let buffer = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) {
      throw new Error(
        `server exited before printing ${pattern}:\n${seen.join("\n")}`,
      );
    }
    buffer += value;
    const lines = buffer.split("\n");
    buffer = lines.pop()!;
    seen.push(...lines);
    if (lines.some((line) => pattern.test(line))) return;
  }
}

Deno.test("the server starts on an empty folder, migrates, answers, and shuts down cleanly on SIGTERM", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "lectern-server-" });
  const port = freePort();
  try {
    const child = serverCommand({ PORT: String(port), DATA_DIR: dataDir })
      .spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    const lines: string[] = [];
    await waitForLine(reader, /users create --role admin/, lines);
    const text = lines.join("\n");
    assert.match(
      text,
      new RegExp(`Lectern listening on http://localhost:${port}`),
    );
    assert.match(text, /applied migrations/);
    assert.match(text, /JWT_SECRET is not set: generated one/);
    const secret = await Deno.readTextFile(`${dataDir}/jwt_secret`);
    assert.ok(
      secret.trim().length >= 32,
      "the development secret is kept for the next start",
    );
    assert.equal((await Deno.stat(`${dataDir}/lectern.db`)).isFile, true);

    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.deepEqual(await ready.json(), { status: "ready" });

    child.kill("SIGTERM");
    const rest: string[] = [];
    await waitForLine(reader, /"stopped"/, rest).catch(() => {});
    reader.releaseLock();
    const status = await child.status;
    await child.stderr.cancel();
    assert.equal(status.code, 0);
    assert.ok(rest.some((line) => line.includes("shutting down")));
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the server refuses to start with a bad variable, or in production without JWT_SECRET", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "lectern-server-" });
  try {
    const bad = await serverCommand({ PORT: "eighty", DATA_DIR: dataDir })
      .output();
    assert.equal(bad.code, 1);
    assert.equal(
      new TextDecoder().decode(bad.stderr).trim(),
      "Invalid configuration: PORT must be a positive whole number",
    );
    const prod = await serverCommand({
      LECTERN_ENV: "production",
      DATA_DIR: dataDir,
      PORT: String(freePort()),
    }).output();
    assert.equal(prod.code, 1);
    assert.match(
      new TextDecoder().decode(prod.stderr),
      /JWT_SECRET is required when LECTERN_ENV=production/,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
