/**
 * `deno task bench`: starts the real server on a temporary database and measures it with autocannon.
 * Prints req/s and p99 latency for GET /healthz, GET /api/auth/me and POST /api/auth/login, the
 * /me-to-healthz throughput ratio, and the server's resident memory idle and after load.
 * BENCH_SECONDS (default 10) and BENCH_CONNECTIONS (default 50) tune the run.
 */
import autocannon from "autocannon";
import { openServices } from "../server/bootstrap.ts";
import { loadConfig } from "../server/env.ts";
import { createUser } from "../server/features/users/service.ts";
import { createLogger } from "../server/lib/logger.ts";
import { seedCatalog } from "./catalog_seed.ts";

/** The part of autocannon's result this script reads (the package ships no types). */
interface AutocannonResult {
  errors: number;
  non2xx: number;
  duration: number;
  requests: { total: number };
  latency: { p99: number };
}

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 10);
const CONNECTIONS = Number(Deno.env.get("BENCH_CONNECTIONS") ?? 50);
const PROGRAMS = Number(Deno.env.get("BENCH_PROGRAMS") ?? 10_000);
const LESSONS_PER_PROGRAM = 10;
const ROOT = new URL("..", import.meta.url).pathname;
const PASSWORD = "benchmark passphrase 2026";

const dataDir = await Deno.makeTempDir({ prefix: "lectern-bench-" });
const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
const port = (listener.addr as Deno.NetAddr).port;
listener.close();
const env = {
  PORT: String(port),
  DATA_DIR: dataDir,
  LECTERN_ENV: "production",
  JWT_SECRET: "bench-secret-that-is-long-enough-for-hs256",
  AUTH_RATE_LIMIT: "100000000",
  LOG_LEVEL: Deno.env.get("BENCH_LOG_LEVEL") ?? "info",
};

const rssMb = async (pid: number) => {
  const { stdout } = await new Deno.Command("ps", {
    args: ["-o", "rss=", "-p", String(pid)],
  }).output();
  return Number(new TextDecoder().decode(stdout).trim()) / 1024;
};

async function waitUntilReady() {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("server did not become ready");
}

const server = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-ffi",
    "--allow-sys",
    "server/main.ts",
  ],
  cwd: ROOT,
  env,
  stdout: "null",
  stderr: "inherit",
}).spawn();

try {
  await waitUntilReady();
  await new Promise((r) => setTimeout(r, 1000));
  const idleRss = await rssMb(server.pid);

  const services = await openServices(loadConfig(env), {
    logger: createLogger("silent"),
  });
  const user = await createUser(services.deps.db, {
    email: "load-test@school.test",
    name: "Bench",
    password: PASSWORD,
    emailVerified: true,
  });
  const seedStarted = performance.now();
  await seedCatalog(services.deps.db, PROGRAMS, LESSONS_PER_PROGRAM);
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  await services.close();
  // The server notices another process's writes within a poll interval; let it.
  await new Promise((r) => setTimeout(r, 500));
  const loginBody = JSON.stringify({ email: user.email, password: PASSWORD });
  const login = await fetch(`http://127.0.0.1:${port}/api/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: loginBody,
  });
  const { token } = await login.json();

  const run = (
    title: string,
    path: string,
    options: Record<string, unknown> = {},
  ) =>
    new Promise<{ title: string; rps: number; p99: number; errors: number }>(
      (resolve, reject) => {
        autocannon({
          url: `http://127.0.0.1:${port}${path}`,
          duration: SECONDS,
          connections: CONNECTIONS,
          ...options,
        }, (err: Error | null, result: AutocannonResult) => {
          if (err) return reject(err);
          const errors = result.errors + result.non2xx;
          resolve({
            title,
            rps: result.requests.total / result.duration,
            p99: result.latency.p99,
            errors,
          });
        });
      },
    );

  const results: Awaited<ReturnType<typeof run>>[] = [];
  results.push(await run("GET /healthz", "/healthz"));
  results.push(
    await run("GET /api/auth/me", "/api/auth/me", {
      headers: { authorization: `Bearer ${token}` },
    }),
  );
  results.push(
    await run("POST /api/auth/login", "/api/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: loginBody,
      connections: Math.min(CONNECTIONS, 8),
    }),
  );
  results.push(await run("GET /api/programs", "/api/programs"));
  results.push(
    await run(
      "GET /api/search",
      "/api/search?q=quantum%20typo&type=programs",
    ),
  );
  const loadedRss = await rssMb(server.pid);

  console.log(
    `\nLectern benchmark: ${SECONDS}s per route, ${CONNECTIONS} connections (login: 8), LOG_LEVEL=${env.LOG_LEVEL}`,
  );
  console.log("route                     req/s      p99 ms   errors");
  for (const r of results) {
    console.log(
      `${r.title.padEnd(24)} ${r.rps.toFixed(0).padStart(7)}  ${
        String(r.p99).padStart(9)
      }  ${String(r.errors).padStart(7)}`,
    );
  }
  const ratio = (i: number) => (results[i]!.rps / results[0]!.rps).toFixed(2);
  console.log(
    `\ncatalog: ${PROGRAMS} programs, ${
      PROGRAMS * LESSONS_PER_PROGRAM
    } lessons, seeded in ${seedSeconds.toFixed(0)} s`,
  );
  console.log(`/api/auth/me ÷ /healthz throughput: ${ratio(1)} (aim ≥ 0.50)`);
  console.log(`/api/programs ÷ /healthz throughput: ${ratio(3)} (aim ≥ 0.33)`);
  console.log(`/api/search ÷ /healthz throughput: ${ratio(4)}`);
  console.log(
    `server RSS: idle ${idleRss.toFixed(0)} MB (aim < 120 MB), after load ${
      loadedRss.toFixed(0)
    } MB`,
  );
} finally {
  server.kill("SIGTERM");
  await server.status;
  await Deno.remove(dataDir, { recursive: true });
}
