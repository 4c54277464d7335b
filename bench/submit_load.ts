/**
 * `deno task bench submit`: `POST /api/quizzes/:id/submit` under load. On a fresh database it makes
 * a program with BENCH_SUBMIT_QUIZZES quizzes of the same 20 single-choice questions (retakes
 * allowed, no attempt limit, no cooldown), BENCH_SUBMIT_LEARNERS learners with exam access (no
 * argon2: accounts without a password, sessions from `startSession`), and starts one attempt per
 * learner and quiz through the API. Autocannon then submits each open attempt exactly once, with 20
 * answers, and stops when all are submitted (`amount`), so every measured request grades an open
 * attempt; the finished attempts are counted in the database afterwards. Aim: ≥ 1,000 submits/s.
 */
import { and, count, eq } from "drizzle-orm";
import { quizAttemptAnswers, quizAttempts } from "../db/schema/mod.ts";
import { openServices } from "../server/bootstrap.ts";
import { loadConfig } from "../server/env.ts";
import { startSession } from "../server/features/auth/service.ts";
import { grantAccess } from "../server/features/enrollments/service.ts";
import { createProgram } from "../server/features/programs/service.ts";
import { createUser } from "../server/features/users/service.ts";
import { createLogger } from "../server/lib/logger.ts";
import {
  type BenchServer,
  CONNECTIONS,
  load,
  pool,
  profileDuring,
  type RouteResult,
  rssMb,
  startServer,
  verdict,
} from "./support.ts";

const LEARNERS = Number(Deno.env.get("BENCH_SUBMIT_LEARNERS") ?? 200);
const QUIZZES = Number(Deno.env.get("BENCH_SUBMIT_QUIZZES") ?? 50);
const QUESTIONS = 20;
const AIM_RPS = 1000;

/** Question k: four options, the right one first in the bank (the quiz shuffles them). */
const questionBank = Array.from({ length: QUESTIONS }, (_, k) => ({
  type: "single_choice",
  text: `Benchmark question ${k + 1}: which of these is option ${k + 1}A?`,
  explanation: `Option ${k + 1}A is the one named in the question.`,
  choices: ["A", "B", "C", "D"].map((letter, i) => ({
    text: `Option ${k + 1}${letter}`,
    weight: i === 0 ? 1 : 0,
    feedback: i === 0 ? "Right" : `No, that is ${k + 1}${letter}`,
  })),
}));
const rightAnswer = new Map(
  questionBank.map((q) => [q.text, q.choices[0]!.text]),
);

interface OpenAttempt {
  quizId: string;
  token: string;
  body: string;
}

interface Setup {
  attempts: OpenAttempt[];
  seedSeconds: number;
  startSeconds: number;
}

async function api(
  server: BenchServer,
  method: string,
  path: string,
  token: string,
  body?: unknown,
) {
  const response = await fetch(`${server.base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = await response.json();
  if (!response.ok) {
    throw new Error(
      `${method} ${path}: ${response.status} ${JSON.stringify(json)}`,
    );
  }
  return json;
}

async function setUp(server: BenchServer): Promise<Setup> {
  const seedStarted = performance.now();
  const services = await openServices(loadConfig(server.env), {
    logger: createLogger("silent"),
  });
  const { deps } = services;
  const client = { userAgent: "bench", ip: "127.0.0.1" };
  const instructor = await createUser(deps.db, {
    email: "submit-bench-instructor@school.test",
    name: "Submit Bench",
    password: null,
    role: "instructor",
    emailVerified: true,
  });
  const instructorToken = (await startSession(deps, instructor, client)).token;
  const program = await createProgram(deps, instructor, {
    title: "Submit benchmark",
    category: "Development",
    description: "Quizzes submitted under load",
    status: "published",
    pricing: {
      chatbot: 9.99,
      documentation: 14.99,
      examSimulator: 19.99,
      bundle: 34.99,
    },
  });
  const tokens: string[] = [];
  for (let i = 0; i < LEARNERS; i++) {
    const learner = await createUser(deps.db, {
      email: `submit-learner-${i}@school.test`,
      name: `Learner ${i}`,
      password: null,
      emailVerified: true,
    });
    await deps.db.transaction((tx) =>
      grantAccess(tx, {
        userId: learner.id,
        programId: program.id,
        accessType: "bundle",
        source: "admin",
      })
    );
    tokens.push((await startSession(deps, learner, client)).token);
  }
  await services.close();
  // The server notices another process's writes within a poll interval; let it.
  await new Promise((r) => setTimeout(r, 500));

  const settings = {
    programId: program.id,
    allowRetake: true,
    attemptsAllowed: null,
    cooldownMinutes: 0,
    shuffleQuestions: true,
    shuffleOptions: true,
    passingScore: 70,
  };
  const first = await api(server, "POST", "/api/quizzes", instructorToken, {
    title: "Submit benchmark 1",
    questions: questionBank,
    ...settings,
  });
  const questionIds = first.quiz.questionIds as string[];
  if (questionIds.length !== QUESTIONS) {
    throw new Error(`the quiz has ${questionIds.length} questions`);
  }
  const quizIds: string[] = [first.quiz.id];
  for (let q = 1; q < QUIZZES; q++) {
    const quiz = await api(server, "POST", "/api/quizzes", instructorToken, {
      title: `Submit benchmark ${q + 1}`,
      questionIds,
      ...settings,
    });
    quizIds.push(quiz.quiz.id);
  }
  const seedSeconds = (performance.now() - seedStarted) / 1000;

  // One open attempt per learner and quiz, started through the API.
  const startStarted = performance.now();
  const pairs = quizIds.flatMap((quizId) =>
    tokens.map((token) => ({ quizId, token }))
  );
  let n = 0;
  const attempts = await pool(pairs, 8, async ({ quizId, token }) => {
    const started = await api(
      server,
      "POST",
      `/api/quizzes/${quizId}/start`,
      token,
    );
    if (started.resumed) throw new Error("an attempt was resumed, not new");
    // Right on 16 of 20 questions (80%, a pass at 70), wrong on the rest, varied by attempt.
    const wrongFrom = n++ % QUESTIONS;
    const answers = (started.questions as {
      id: string;
      questionText: string;
      options: string[];
    }[]).map((question, i) => {
      const right = rightAnswer.get(question.questionText)!;
      const wrong = (i - wrongFrom + QUESTIONS) % QUESTIONS < 4;
      return {
        questionId: question.id,
        selectedAnswer: wrong
          ? question.options.find((option) => option !== right)!
          : right,
      };
    });
    return {
      quizId,
      token,
      body: JSON.stringify({ attemptId: started.attemptId, answers }),
    };
  });
  const startSeconds = (performance.now() - startStarted) / 1000;
  return { attempts, seedSeconds, startSeconds };
}

export interface SubmitBenchResult {
  learners: number;
  quizzes: number;
  attempts: number;
  seedSeconds: number;
  startSeconds: number;
  route: RouteResult;
  completed: number;
  stillOpen: number;
  gradedAnswers: number;
  idleRss: number;
  loadedRss: number;
  met: boolean;
}

export async function runSubmitBench(): Promise<SubmitBenchResult> {
  const server = await startServer();
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const idleRss = await rssMb(server.pid);
    const { attempts, seedSeconds, startSeconds } = await setUp(server);

    // Each request takes the next open attempt; autocannon stops after exactly that many.
    let next = 0;
    const route = await profileDuring(server, "submit", () =>
      load(
        "POST /api/quizzes/:id/submit",
        `${server.base}/`,
        {
          amount: attempts.length,
          connections: Math.min(CONNECTIONS, attempts.length),
          requests: [{
            method: "POST",
            setupRequest: (request: Record<string, unknown>) => {
              const attempt = attempts[next++];
              if (!attempt) throw new Error("ran out of open attempts");
              return {
                ...request,
                method: "POST",
                path: `/api/quizzes/${attempt.quizId}/submit`,
                headers: {
                  "content-type": "application/json",
                  authorization: `Bearer ${attempt.token}`,
                },
                body: attempt.body,
              };
            },
          }],
        },
      ));
    const loadedRss = await rssMb(server.pid);

    // Every attempt must have been graded by one of the measured requests.
    const services = await openServices(loadConfig(server.env), {
      logger: createLogger("silent"),
      migrate: false,
    });
    const statuses = await services.deps.db.select({
      status: quizAttempts.status,
      n: count(),
    }).from(quizAttempts).groupBy(quizAttempts.status);
    const [graded] = await services.deps.db.select({ n: count() }).from(
      quizAttemptAnswers,
    ).innerJoin(quizAttempts, eq(quizAttempts.id, quizAttemptAnswers.attemptId))
      .where(and(
        eq(quizAttempts.status, "completed"),
        eq(quizAttemptAnswers.outcome, "correct"),
      ));
    await services.close();
    const byStatus = Object.fromEntries(statuses.map((s) => [s.status, s.n]));
    const completed = byStatus.completed ?? 0;
    const stillOpen = byStatus.in_progress ?? 0;
    return {
      learners: LEARNERS,
      quizzes: QUIZZES,
      attempts: attempts.length,
      seedSeconds,
      startSeconds,
      route,
      completed,
      stillOpen,
      gradedAnswers: graded?.n ?? 0,
      idleRss,
      loadedRss,
      met: route.rps >= AIM_RPS && route.errors === 0 &&
        completed === attempts.length,
    };
  } finally {
    await server.stop();
  }
}

export function printSubmitResult(r: SubmitBenchResult): void {
  const { route } = r;
  console.log(
    `\nSubmit under load: ${r.learners} learners × ${r.quizzes} quizzes = ${r.attempts} open attempts of ${QUESTIONS} single-choice questions; ${
      Math.min(CONNECTIONS, r.attempts)
    } connections`,
  );
  console.log(
    `set-up ${
      r.seedSeconds.toFixed(1)
    } s; ${r.attempts} starts through the API in ${
      r.startSeconds.toFixed(1)
    } s (${(r.attempts / r.startSeconds).toFixed(0)}/s, 8 at a time)`,
  );
  console.log(
    "route                          req/s   p50 ms   p99 ms   errors",
  );
  console.log(
    `${route.title.padEnd(29)} ${route.rps.toFixed(0).padStart(6)}  ${
      String(route.p50).padStart(7)
    }  ${String(route.p99).padStart(7)}  ${String(route.errors).padStart(7)}`,
  );
  console.log(
    `${route.total} submits in ${route.seconds.toFixed(1)} s, status codes ${
      JSON.stringify(route.statusCodes)
    }; afterwards ${r.completed} attempts completed, ${r.stillOpen} still open, ${r.gradedAnswers} answers marked correct`,
  );
  console.log(
    `submits/s ${route.rps.toFixed(0)} (aim ≥ ${AIM_RPS}: ${
      verdict(r.met)
    }); server RSS idle ${r.idleRss.toFixed(0)} MB, after load ${
      r.loadedRss.toFixed(0)
    } MB`,
  );
}

if (import.meta.main) printSubmitResult(await runSubmitBench());
