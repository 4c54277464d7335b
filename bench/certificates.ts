/**
 * `deno task bench certificates`:
 * - render: the certificate PDF alone (pdf-lib, fonts, QR code), names in five scripts in turn;
 *   median and p95 of BENCH_CERT_RENDERS renders (default 100). Aim: median under 50 ms.
 * - issue: certificates issued end to end in this process, one after another as a server does:
 *   the issuing transaction (code, signed credential, record, event), then the PDF rendered,
 *   hashed and stored (BENCH_CERT_ISSUES, default 200). Certificates per second.
 * - verify: the real server, autocannon on GET /healthz, then GET /verify/:code (the HTML page) and
 *   GET /api/certificates/verify/:code for one valid certificate. Aim: the page at least half of
 *   /healthz throughput.
 */
import { openServices } from "../server/bootstrap.ts";
import { loadConfig } from "../server/env.ts";
import { ensurePdf } from "../server/features/certificates/announce.ts";
import { issueCertificate } from "../server/features/certificates/issue.ts";
import { renderCertificatePdf } from "../server/features/certificates/pdf.ts";
import { createProgram } from "../server/features/programs/service.ts";
import { createUser } from "../server/features/users/service.ts";
import { createLogger } from "../server/lib/logger.ts";
import { benchEnv, freePort, load, startServer, verdict } from "./support.ts";

const RENDERS = Number(Deno.env.get("BENCH_CERT_RENDERS") ?? 100);
const ISSUES = Number(Deno.env.get("BENCH_CERT_ISSUES") ?? 200);
const NAMES = [
  "José Müller",
  "Ελένη Παπαδοπούλου",
  "Иван Петров",
  "李雷",
  "أحمد",
];

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function measureRender() {
  const times: number[] = [];
  for (let i = 0; i < RENDERS + 5; i++) {
    const started = performance.now();
    await renderCertificatePdf({
      schoolName: "Lectern School",
      recipientName: NAMES[i % NAMES.length]!,
      programTitle: "Introduction to Thermodynamics",
      issuedAt: new Date(),
      expiresAt: null,
      score: 92,
      code: "CERT-2026-7K3Q-9XWD-M2QA-5ZT8",
      verifyUrl: "https://school.example/verify/CERT-2026-7K3Q-9XWD-M2QA-5ZT8",
    });
    // The first few load and parse the fonts: not what a running server pays per certificate.
    if (i >= 5) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { median: percentile(times, 0.5), p95: percentile(times, 0.95) };
}

async function withDatabase<T>(
  work: (services: Awaited<ReturnType<typeof openServices>>) => Promise<T>,
  env?: Record<string, string>,
): Promise<T> {
  const dataDir = env ? undefined : await Deno.makeTempDir({
    prefix: "lectern-bench-cert-",
  });
  const services = await openServices(
    loadConfig(env ?? benchEnv(dataDir!, freePort())),
    { logger: createLogger("silent") },
  );
  try {
    return await work(services);
  } finally {
    await services.close();
    if (dataDir) await Deno.remove(dataDir, { recursive: true });
  }
}

async function aProgramAndLearners(
  deps: Awaited<ReturnType<typeof openServices>>["deps"],
  learners: number,
) {
  const owner = await createUser(deps.db, {
    email: "cert-bench-owner@school.test",
    name: "Bench Instructor",
    password: null,
    role: "instructor",
    emailVerified: true,
  });
  const program = await createProgram(deps, owner, {
    title: "Introduction to Thermodynamics",
    category: "Development",
    status: "published",
  });
  const users = [];
  for (let i = 0; i < learners; i++) {
    users.push(
      await createUser(deps.db, {
        email: `cert-bench-${i}@school.test`,
        name: NAMES[i % NAMES.length]!,
        password: null,
        emailVerified: true,
      }),
    );
  }
  return { program, users };
}

async function measureIssue() {
  return await withDatabase(async ({ deps }) => {
    const { program, users } = await aProgramAndLearners(deps, ISSUES);
    const started = performance.now();
    for (const user of users) {
      const { certificate } = await deps.db.transaction((tx) =>
        issueCertificate(tx, deps, {
          userId: user.id,
          programId: program.id,
          basis: "manual",
          reason: "benchmark",
        })
      );
      await ensurePdf(deps, certificate);
    }
    const seconds = (performance.now() - started) / 1000;
    return { perSecond: ISSUES / seconds, seconds };
  });
}

async function measureVerify() {
  const server = await startServer();
  try {
    const code = await withDatabase(async ({ deps }) => {
      const { program, users } = await aProgramAndLearners(deps, 1);
      const { certificate } = await deps.db.transaction((tx) =>
        issueCertificate(tx, deps, {
          userId: users[0]!.id,
          programId: program.id,
          basis: "manual",
          reason: "benchmark",
        })
      );
      return certificate.code;
    }, server.env);
    // The server notices another process's writes within a poll interval; let it.
    await new Promise((r) => setTimeout(r, 500));
    const page = await fetch(`${server.base}/verify/${code}`);
    if (!page.ok || !(await page.text()).includes("Valid certificate")) {
      throw new Error(`the verification page did not answer: ${page.status}`);
    }
    const healthz = await load("GET /healthz", `${server.base}/healthz`);
    const html = await load(
      "GET /verify/:code (HTML)",
      `${server.base}/verify/${code}`,
    );
    const json = await load(
      "GET /api/certificates/verify/:code",
      `${server.base}/api/certificates/verify/${code}`,
    );
    return [healthz, html, json];
  } finally {
    await server.stop();
  }
}

export async function runCertificateBench() {
  const render = await measureRender();
  console.log(
    `\ncertificate PDF render (${RENDERS} renders, five scripts): median ${
      render.median.toFixed(1)
    } ms, p95 ${render.p95.toFixed(1)} ms (aim: median < 50 ms, ${
      verdict(render.median < 50)
    })`,
  );
  const issue = await measureIssue();
  console.log(
    `certificate issue end to end (transaction + signature + PDF + store), ${ISSUES} in a row: ${
      issue.perSecond.toFixed(0)
    }/s (${issue.seconds.toFixed(1)} s)`,
  );
  const [healthz, html, json] = await measureVerify();
  console.log("route                                  req/s   p99 ms  errors");
  for (const r of [healthz!, html!, json!]) {
    console.log(
      `${r.title.padEnd(36)} ${r.rps.toFixed(0).padStart(7)}  ${
        String(r.p99).padStart(7)
      }  ${String(r.errors).padStart(6)}`,
    );
  }
  const ratio = html!.rps / healthz!.rps;
  console.log(
    `/verify/:code ÷ /healthz throughput: ${ratio.toFixed(2)} (aim ≥ 0.50, ${
      verdict(ratio >= 0.5)
    }); JSON: ${(json!.rps / healthz!.rps).toFixed(2)}`,
  );
}
