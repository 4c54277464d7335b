import assert from "node:assert/strict";
import { createApp } from "../../server/app.ts";
import { openServices } from "../../server/bootstrap.ts";
import { loadConfig } from "../../server/env.ts";
import { createMemoryLogger } from "../../server/lib/logger.ts";
import { APP_URL, TEST_JWT_SECRET } from "../helpers/context.ts";
import { ok, REPO_ROOT, runCli } from "../helpers/cli.ts";

const DEMO_PROGRAMS = [
  "Data Analysis with SQL",
  "Marketing for Small Schools",
  "Python Foundations",
];

/** `  role  email  password` lines of the human-readable report. */
function accountLines(stdout: string) {
  return stdout.split("\n").map((line) =>
    line.match(/^\s+(admin|instructor|student)\s+(\S+@\S+)\s+(.+?)\s*$/)
  ).filter((m) => m !== null).map((m) => ({
    role: m[1]!,
    email: m[2]!,
    rest: m[3]!,
  }));
}

Deno.test("seed --demo through the CLI: passwords the first time, 'already there' after, and --json", async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "lectern-seed-cli-" });
  try {
    const first = ok(
      await runCli(dataDir, ["seed", "--demo"]),
      "seed --demo",
    );
    const made = accountLines(first);

    await t.step("the first run prints every account with its password", () => {
      assert.match(first, /passwords are shown once/);
      assert.equal(made.filter((a) => a.role === "admin").length, 1);
      assert.equal(made.filter((a) => a.role === "instructor").length, 2);
      assert.ok(made.filter((a) => a.role === "student").length >= 3, first);
      for (const account of made) {
        assert.doesNotMatch(account.rest, /already there/, account.email);
        assert.doesNotMatch(account.rest, /\s/, account.email);
      }
      assert.match(first, /^Made: /m);
      assert.match(first, /program Python Foundations/);
    });

    await t.step("the printed passwords sign in to that database", async () => {
      const services = await openServices(
        loadConfig({
          LECTERN_ENV: "test",
          DATA_DIR: dataDir,
          DATABASE_URL: `file:${dataDir}/lectern.db`,
          JWT_SECRET: TEST_JWT_SECRET,
          APP_URL,
          AUTH_RATE_LIMIT: "10000",
        }),
        { logger: createMemoryLogger() },
      );
      try {
        const app = createApp(services.deps);
        for (const account of made) {
          const res = await app.request("/api/auth/login", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({
              email: account.email,
              password: account.rest,
            }),
          });
          const body = await res.json();
          assert.equal(res.status, 200, JSON.stringify(body));
          assert.equal(body.user.role, account.role);
        }
      } finally {
        await services.close();
      }
    });

    await t.step(
      "a second run says every account is already there",
      async () => {
        const second = ok(
          await runCli(dataDir, ["seed", "--demo"]),
          "seed --demo again",
        );
        const again = accountLines(second);
        assert.deepEqual(
          again.map((a) => [a.role, a.email]),
          made.map((a) => [a.role, a.email]),
        );
        for (const account of again) {
          assert.match(account.rest, /already there/, account.email);
        }
        for (const account of made) {
          assert.ok(
            !second.includes(account.rest),
            "no password is shown again",
          );
        }
        assert.match(second, /Nothing new: the demo school was already there/);
      },
    );

    await t.step("--json prints a report that parses", async () => {
      const out = ok(
        await runCli(dataDir, ["seed", "--demo", "--json"]),
        "seed --demo --json",
      );
      const report = JSON.parse(out) as {
        accounts: { email: string; role: string; password: string | null }[];
        created: string[];
      };
      assert.deepEqual(
        report.accounts.map((a) => [a.role, a.email]),
        made.map((a) => [a.role, a.email]),
      );
      for (const account of report.accounts) {
        assert.equal(account.password, null);
      }
      assert.deepEqual(report.created, []);
    });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

function freePort(): number {
  const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("the server started with --demo on an empty folder seeds the demo school", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "lectern-seed-server-" });
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      "server/main.ts",
      "--demo",
    ],
    cwd: REPO_ROOT,
    env: { LOG_LEVEL: "info", PORT: String(port), DATA_DIR: dataDir },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const lines: string[] = [];
  let buffer = "";
  /** Reads stdout until a line matches. */
  const waitFor = async (pattern: RegExp) => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) {
        throw new Error(
          `server exited before ${pattern}:\n${lines.join("\n")}`,
        );
      }
      buffer += value;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      lines.push(...parts);
      if (parts.some((line) => pattern.test(line))) return;
    }
  };
  let stopped = false;
  try {
    await waitFor(/Lectern listening/);
    const seeded = lines.map((line) => {
      try {
        return JSON.parse(line);
      } catch {
        return null;
      }
    }).find((entry) => entry?.msg === "seeded the demo school");
    assert.ok(seeded, `the seed is logged:\n${lines.join("\n")}`);
    const accounts = seeded.accounts as string[];
    assert.equal(accounts.length, 7, accounts.join("\n"));
    for (const account of accounts) {
      assert.match(account, /^(admin|instructor|student) \S+@\S+ demo-\S+$/);
    }

    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.deepEqual(await ready.json(), { status: "ready" });
    const res = await fetch(`http://127.0.0.1:${port}/api/programs`);
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(
      (body.programs as { title: string }[]).map((p) => p.title).sort(),
      DEMO_PROGRAMS,
    );

    child.kill("SIGTERM");
    stopped = true;
    await waitFor(/"stopped"/).catch(() => {});
    assert.equal((await child.status).code, 0);
  } finally {
    if (!stopped) child.kill("SIGKILL");
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel();
    await child.status;
    await Deno.remove(dataDir, { recursive: true });
  }
});
