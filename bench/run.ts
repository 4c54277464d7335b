/**
 * `deno task bench [http] [import] [submit] [certificates]`: the benchmarks, all of them when none is named.
 *
 * - http: starts the real server on a temporary database and measures it with autocannon. Prints
 *   req/s and p99 latency for GET /healthz, GET /api/auth/me, POST /api/auth/login, the catalog
 *   and search, the /me-to-healthz throughput ratio, and the server's resident memory idle and
 *   after load.
 * - import: a 50,000-question GIFT file through the real CLI import, timed, with its peak RSS
 *   (bench/gift_import.ts).
 * - submit: POST /api/quizzes/:id/submit under load, every request grading an open attempt
 *   (bench/submit_load.ts).
 *
 * - certificates: PDF render time, certificates issued per second, and the verification page's
 *   throughput against /healthz (bench/certificates.ts).
 *
 * BENCH_SECONDS (default 10) and BENCH_CONNECTIONS (default 50) tune the runs.
 */
import { openServices } from "../server/bootstrap.ts";
import { loadConfig } from "../server/env.ts";
import { createUser } from "../server/features/users/service.ts";
import { createLogger } from "../server/lib/logger.ts";
import { seedCatalog } from "./catalog_seed.ts";
import { printImportResult, runImportBench } from "./gift_import.ts";
import { printSubmitResult, runSubmitBench } from "./submit_load.ts";
import { runCertificateBench } from "./certificates.ts";
import {
  CONNECTIONS,
  load,
  type RouteResult,
  rssMb,
  SECONDS,
  startServer,
} from "./support.ts";

const PROGRAMS = Number(Deno.env.get("BENCH_PROGRAMS") ?? 10_000);
const LESSONS_PER_PROGRAM = 10;
const PASSWORD = "benchmark passphrase 2026";

async function runHttpBench() {
  const server = await startServer();
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const idleRss = await rssMb(server.pid);

    const services = await openServices(loadConfig(server.env), {
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
    const login = await fetch(`${server.base}/api/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: loginBody,
    });
    const { token } = await login.json();

    const run = (
      title: string,
      path: string,
      options: Record<string, unknown> = {},
    ) => load(title, `${server.base}${path}`, options);

    const results: RouteResult[] = [];
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
      `\nLectern benchmark: ${SECONDS}s per route, ${CONNECTIONS} connections (login: 8), LOG_LEVEL=${server.env.LOG_LEVEL}`,
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
    console.log(
      `/api/programs ÷ /healthz throughput: ${ratio(3)} (aim ≥ 0.33)`,
    );
    console.log(`/api/search ÷ /healthz throughput: ${ratio(4)}`);
    console.log(
      `server RSS: idle ${idleRss.toFixed(0)} MB (aim < 120 MB), after load ${
        loadedRss.toFixed(0)
      } MB`,
    );
  } finally {
    await server.stop();
  }
}

const BENCHMARKS: Record<string, () => Promise<void>> = {
  http: runHttpBench,
  import: async () => printImportResult(await runImportBench()),
  submit: async () => printSubmitResult(await runSubmitBench()),
  certificates: runCertificateBench,
};

const chosen = Deno.args.length ? Deno.args : Object.keys(BENCHMARKS);
const unknown = chosen.filter((name) => !(name in BENCHMARKS));
if (unknown.length) {
  console.error(
    `unknown benchmark ${unknown.join(", ")}; choose from ${
      Object.keys(BENCHMARKS).join(", ")
    } (none: all)`,
  );
  Deno.exit(2);
}
for (const name of chosen) await BENCHMARKS[name]!();
