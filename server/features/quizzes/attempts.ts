import { and, asc, eq, isNotNull, lte, ne, sql } from "drizzle-orm";
import type { Db, Tx } from "../../../db/client.ts";
import { executeRaw } from "../../../db/raw.ts";
import type { Deps as AppDeps } from "../../deps.ts";
import {
  accommodations,
  type Program,
  programs,
  type QuestionRow,
  questions,
  type Quiz,
  type QuizAttempt,
  type QuizAttemptAnswer,
  quizAttemptAnswers,
  quizAttempts,
  quizQuestions,
  quizzes,
  users,
} from "../../../db/schema/mod.ts";
import {
  AppError,
  conflict,
  notFound,
  validationFailed,
} from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { paymentRequiredFor } from "../access/errors.ts";
import { canUseFeature, isOwnerOrAdmin } from "../access/service.ts";
import type { Actor } from "../programs/service.ts";
import { inCategory } from "./bank.ts";
import { announceCertificate } from "../certificates/announce.ts";
import { type GradedOutcome, onAttemptGraded } from "./hooks.ts";
import { finishedAttempts } from "./hooks.ts";
import {
  DEADLINE_GRACE_MS,
  retakeDecision,
  timeLimitMs,
  withinDeadline,
} from "./rules.ts";
import { scoreQuestion } from "./scoring.ts";
import {
  type AnswerInput,
  answerRowsIn,
  answerRowsJson,
  answersFromJson,
  rowsFromAnswers,
  withAnswers,
  writeAnswerRows,
} from "./answer_rows.ts";
import { getVisibleQuiz } from "./service.ts";
import {
  buildSnapshot,
  maxPointsOf,
  responseProblem,
  snapshotQuestion,
} from "./snapshot.ts";

type Deps = Pick<
  AppDeps,
  "db" | "config" | "signer" | "storage" | "logger" | "background" | "mail"
>;
export type { AnswerInput };

const round2 = (n: number) => Math.round(n * 100) / 100;

async function timeMultiplierOf(db: Db, userId: string, programId: string) {
  const [row] = await db.select({ m: accommodations.timeMultiplier }).from(
    accommodations,
  ).where(and(
    eq(accommodations.userId, userId),
    eq(accommodations.programId, programId),
  ));
  return row?.m ?? 1;
}

/** The questions for a new attempt: the fixed list in order, or a fresh random draw from the bank. */
async function pickQuestions(
  db: Db,
  quiz: Quiz,
  limit: number | null,
): Promise<QuestionRow[]> {
  if (quiz.drawCount === null) {
    const rows = await db.select({ question: questions }).from(quizQuestions)
      .innerJoin(questions, eq(questions.id, quizQuestions.questionId))
      .where(and(
        eq(quizQuestions.quizId, quiz.id),
        eq(questions.status, "active"),
      )).orderBy(asc(quizQuestions.position));
    const list = rows.map((row) => row.question);
    return limit === null ? list : list.slice(0, limit);
  }
  const conditions = [
    eq(questions.programId, quiz.programId),
    eq(questions.status, "active"),
    ne(questions.type, "description"),
  ];
  if (quiz.drawCategory) {
    conditions.push(inCategory(quiz.drawCategory));
  }
  if (quiz.drawDifficulty) {
    conditions.push(eq(questions.difficulty, quiz.drawDifficulty));
  }
  return await db.select().from(questions).where(and(...conditions))
    .orderBy(sql`random()`).limit(Math.min(quiz.drawCount, limit ?? Infinity));
}

async function openAttemptOf(db: Db | Tx, userId: string, quizId: string) {
  const [open] = await db.select().from(quizAttempts).where(and(
    eq(quizAttempts.userId, userId),
    eq(quizAttempts.quizId, quizId),
    eq(quizAttempts.status, "in_progress"),
  ));
  return open;
}

async function answerRows(db: Db | Tx, attemptId: string) {
  return await db.select().from(quizAttemptAnswers).where(
    eq(quizAttemptAnswers.attemptId, attemptId),
  ).orderBy(asc(quizAttemptAnswers.position));
}

/**
 * Starts an attempt, or returns the learner's open one (a retried start must not burn an attempt).
 * Learners with the exam simulator sit the quiz; others get the program's free questions as a
 * practice attempt that never counts.
 */
export async function startAttempt(deps: Deps, viewer: Actor, quizId: string) {
  const { quiz, program } = await getVisibleQuiz(deps, viewer, quizId);
  const now = new Date();
  await finalizeIfExpired(
    deps,
    await openAttemptOf(deps.db, viewer.id, quiz.id),
    now,
  );
  const open = await openAttemptOf(deps.db, viewer.id, quiz.id);
  if (open) {
    return {
      attempt: open,
      answers: await answerRows(deps.db, open.id),
      resumed: true,
    };
  }

  const exam = await canUseFeature(deps, viewer, program, "examSimulator");
  if (!exam && program.freeQuestionsCount === 0) {
    throw paymentRequiredFor(program, "examSimulator");
  }
  if (exam) {
    const decision = retakeDecision(
      quiz,
      await finishedAttempts(deps.db, viewer.id, quiz.id),
      now,
    );
    if (!decision.allowed) {
      const wait = decision.retryAt
        ? Math.ceil((decision.retryAt.getTime() - now.getTime()) / 1000)
        : undefined;
      throw new AppError(
        decision.code === "QUIZ_COOLDOWN" ? 429 : 409,
        decision.code,
        decision.message,
        decision.retryAt
          ? { retryAt: decision.retryAt.toISOString(), retryAfter: wait }
          : {},
        wait ? { "Retry-After": String(wait) } : {},
      );
    }
  }
  const rows = await pickQuestions(
    deps.db,
    quiz,
    exam ? null : program.freeQuestionsCount,
  );
  if (rows.length === 0) {
    throw conflict("QUIZ_EMPTY", "This quiz has no questions yet");
  }
  const snapshot = buildSnapshot(rows, quiz);
  const multiplier = await timeMultiplierOf(deps.db, viewer.id, program.id);
  const limit = timeLimitMs(quiz, multiplier);
  const attempt: QuizAttempt = {
    id: newId(),
    quizId: quiz.id,
    userId: viewer.id,
    programId: program.id,
    mode: exam ? "exam" : "practice",
    status: "in_progress",
    snapshot,
    timeMultiplier: multiplier,
    startedAt: now,
    expiresAt: limit === null ? null : new Date(now.getTime() + limit),
    submittedAt: null,
    finishedBy: null,
    timeTakenSeconds: null,
    score: null,
    totalPoints: null,
    scorePercentage: null,
    passed: null,
    correctCount: null,
    incorrectCount: null,
    gradedBy: null,
    gradedAt: null,
  };
  const created = await deps.db.transaction(async (tx) => {
    // Two starts racing: the second finds the first's attempt (and the unique index backs this up).
    const raced = await openAttemptOf(tx, viewer.id, quiz.id);
    if (raced) return raced;
    await tx.insert(quizAttempts).values(attempt);
    await tx.insert(quizAttemptAnswers).values(
      snapshot.map((snap, position) => ({
        attemptId: attempt.id,
        questionId: snap.id,
        position,
        maxPoints: maxPointsOf(snapshotQuestion(snap)),
      })),
    );
    return attempt;
  });
  return {
    attempt: created,
    answers: await answerRows(deps.db, created.id),
    resumed: created.id !== attempt.id,
  };
}

/**
 * The attempt with its quiz and the program's owner, by attempt id. Every save, submit and resume
 * reads it, and building the three-table select cost as much as running it: it is prepared once per
 * database.
 */
const prepareAttemptLookup = (db: Db) =>
  db.select({
    attempt: quizAttempts,
    quiz: {
      id: quizzes.id,
      passingScore: quizzes.passingScore,
      gradingMethod: quizzes.gradingMethod,
      certificateRole: quizzes.certificateRole,
      showAnswersAfterSubmit: quizzes.showAnswersAfterSubmit,
    },
    program: { id: programs.id, instructorId: programs.instructorId },
  }).from(quizAttempts)
    .innerJoin(quizzes, eq(quizzes.id, quizAttempts.quizId))
    .innerJoin(programs, eq(programs.id, quizAttempts.programId))
    .where(eq(quizAttempts.id, sql.placeholder("attemptId")))
    .prepare();
const attemptLookups = new WeakMap<
  Db,
  ReturnType<typeof prepareAttemptLookup>
>();
function attemptLookup(db: Db) {
  let lookup = attemptLookups.get(db);
  if (!lookup) attemptLookups.set(db, lookup = prepareAttemptLookup(db));
  return lookup;
}

/** What grading needs of an attempt's program: who owns it. */
export type AttemptProgram = Pick<Program, "id" | "instructorId">;
/** What grading and the result need of an attempt's quiz (libsql's cost grows with every column). */
export type AttemptQuiz = Pick<
  Quiz,
  | "id"
  | "passingScore"
  | "gradingMethod"
  | "certificateRole"
  | "showAnswersAfterSubmit"
>;

/** An attempt its learner may act on; owners and admins of the program may read it too. */
export async function getAttempt(
  deps: Deps,
  viewer: Actor,
  attemptId: string,
  purpose: "read" | "write",
): Promise<
  { attempt: QuizAttempt; quiz: AttemptQuiz; program: AttemptProgram }
> {
  const row = await attemptLookup(deps.db).get({ attemptId });
  if (!row) throw notFound("Attempt");
  const mine = row.attempt.userId === viewer.id;
  if (!mine && (purpose === "write" || !isOwnerOrAdmin(viewer, row.program))) {
    throw notFound("Attempt");
  }
  return row;
}

/** Checks every answer against the attempt's questions; 422 naming each bad one, before any write. */
function checkAnswers(attempt: QuizAttempt, answers: AnswerInput[]) {
  const byId = new Map(attempt.snapshot.map((snap) => [snap.id, snap]));
  const fields: Record<string, string> = {};
  answers.forEach((answer, index) => {
    const snap = byId.get(answer.questionId);
    const problem = snap
      ? responseProblem(snap, answer.selectedAnswer ?? null)
      : "Not a question of this attempt";
    if (problem) fields[`answers.${index}`] = problem;
  });
  if (Object.keys(fields).length > 0) throw validationFailed(fields);
}

async function writeAnswers(
  tx: Tx,
  attemptId: string,
  answers: AnswerInput[],
  now: Date,
) {
  const rows = await answerRowsIn(tx, attemptId);
  const touched = new Set(answers.map((a) => a.questionId));
  await writeAnswerRows(
    tx,
    attemptId,
    withAnswers(rows, answers, now).filter((row) =>
      touched.has(row.questionId)
    ),
  );
}

export function attemptExpiredError(attempt: QuizAttempt) {
  return new AppError(
    409,
    "ATTEMPT_EXPIRED",
    "The time for this attempt is up; it was submitted with the answers saved before the deadline",
    { attemptId: attempt.id, expiresAt: attempt.expiresAt?.toISOString() },
  );
}

/** Saves answers as the learner goes. After the deadline (and its grace) nothing is saved. */
export async function saveAnswers(
  deps: Deps,
  viewer: Actor,
  attemptId: string,
  answers: AnswerInput[],
) {
  const { attempt } = await getAttempt(deps, viewer, attemptId, "write");
  const now = new Date();
  if (attempt.status !== "in_progress") {
    throw conflict("ATTEMPT_FINISHED", "This attempt has been submitted");
  }
  if (!withinDeadline(attempt.expiresAt, now)) {
    await finalizeIfExpired(deps, attempt, now);
    throw attemptExpiredError(attempt);
  }
  checkAnswers(attempt, answers);
  await deps.db.transaction(async (tx) => {
    const [still] = await tx.select({ status: quizAttempts.status }).from(
      quizAttempts,
    ).where(eq(quizAttempts.id, attempt.id));
    if (still?.status !== "in_progress") {
      throw conflict("ATTEMPT_FINISHED", "This attempt has been submitted");
    }
    await writeAnswers(tx, attempt.id, answers, now);
  });
  return { attempt, savedAt: now, saved: answers.length };
}

export interface Finalized {
  attempt: QuizAttempt;
  answers: QuizAttemptAnswer[];
  outcome: GradedOutcome | null;
}

/**
 * Marks every question and closes the attempt, in one transaction. Safe to race: whoever finds it
 * still open grades it; the others read the result. `known` is the attempt and its quiz as the
 * caller just read them: while the attempt is still open nothing in it but its status can have
 * changed (only grading writes an attempt, and its snapshot never changes), so the transaction then
 * checks the status alone instead of reading the attempt and its snapshot again.
 */
async function finalize(
  deps: Deps,
  attemptId: string,
  now: Date,
  finishedBy: "submit" | "deadline",
  lastAnswers: AnswerInput[] = [],
  known?: { attempt: QuizAttempt; quiz: AttemptQuiz },
): Promise<Finalized> {
  const finalized = await deps.db.transaction(
    async (tx): Promise<Finalized> => {
      let attempt: QuizAttempt | undefined;
      let quiz: AttemptQuiz | undefined;
      // The rows once the last answers are in, when known without reading them.
      let rows: QuizAttemptAnswer[] | undefined;
      if (known?.attempt.status === "in_progress") {
        const answered = rowsFromAnswers(known.attempt, lastAnswers, now);
        // The status, and the saved rows when some question is not answered now, in one statement.
        const still = await tx.get<
          { status: string; rows: string | null } | undefined
        >(
          sql`select "status", ${
            answered ? sql`null` : answerRowsJson(attemptId)
          } as "rows" from "quiz_attempts" where "id" = ${attemptId}`,
        );
        if (still?.status === "in_progress") {
          attempt = known.attempt;
          quiz = known.quiz;
          rows = answered ??
            withAnswers(
              answersFromJson(attemptId, still.rows!),
              lastAnswers,
              now,
            );
        }
      }
      if (!attempt) {
        [attempt] = await tx.select().from(quizAttempts).where(
          eq(quizAttempts.id, attemptId),
        );
      }
      if (!attempt) throw notFound("Attempt");
      if (attempt.status !== "in_progress") {
        return {
          attempt,
          answers: await answerRowsIn(tx, attempt.id),
          outcome: null,
        };
      }
      rows ??= withAnswers(
        await answerRowsIn(tx, attempt.id),
        lastAnswers,
        now,
      );
      const byId = new Map(rows.map((row) => [row.questionId, row]));
      const marked: QuizAttemptAnswer[] = [];
      let score = 0;
      let total = 0;
      let correct = 0;
      let incorrect = 0;
      let pending = 0;
      for (const snap of attempt.snapshot) {
        const question = snapshotQuestion(snap);
        const row = byId.get(snap.id);
        const marks = scoreQuestion(question, row?.response ?? null);
        const max = maxPointsOf(question);
        const awarded = marks.fraction === null
          ? null
          : round2(marks.fraction * max);
        if (marks.outcome !== "ungraded") total += max;
        if (awarded !== null) score += awarded;
        if (marks.outcome === "correct") correct++;
        else if (marks.outcome === "pending") pending++;
        else if (marks.outcome !== "ungraded") incorrect++;
        if (row) {
          marked.push({
            ...row,
            awarded,
            outcome: marks.outcome,
            responseKey: marks.responseKey,
          });
        }
      }
      await writeAnswerRows(tx, attempt.id, marked);
      quiz ??= (await tx.select().from(quizzes).where(
        eq(quizzes.id, attempt.quizId),
      ))[0]!;
      const endedAt = finishedBy === "deadline" && attempt.expiresAt &&
          attempt.expiresAt < now
        ? attempt.expiresAt
        : now;
      const percentage = total > 0 ? round2((score / total) * 100) : 100;
      const done = pending === 0;
      const update = {
        status: done ? "completed" as const : "pending_review" as const,
        submittedAt: endedAt,
        finishedBy,
        timeTakenSeconds: Math.max(
          0,
          Math.round((endedAt.getTime() - attempt.startedAt.getTime()) / 1000),
        ),
        score: round2(score),
        totalPoints: round2(total),
        scorePercentage: done ? percentage : null,
        passed: done ? percentage >= quiz.passingScore : null,
        correctCount: correct,
        incorrectCount: incorrect,
      };
      // The columns as drizzle stores them (milliseconds, booleans as 0/1), without its builder.
      await executeRaw(
        tx,
        `update "quiz_attempts" set "status" = ?, "submitted_at" = ?, "finished_by" = ?, "time_taken_seconds" = ?, "score" = ?, "total_points" = ?, "score_percentage" = ?, "passed" = ?, "correct_count" = ?, "incorrect_count" = ? where "id" = ?`,
        [
          update.status,
          update.submittedAt.getTime(),
          update.finishedBy,
          update.timeTakenSeconds,
          update.score,
          update.totalPoints,
          update.scorePercentage,
          update.passed === null ? null : update.passed ? 1 : 0,
          update.correctCount,
          update.incorrectCount,
          attempt.id,
        ],
      );
      const closed = { ...attempt, ...update };
      const outcome = done
        ? await onAttemptGraded(tx, deps, closed, quiz)
        : null;
      return { attempt: closed, answers: marked, outcome };
    },
  );
  if (finalized.outcome?.certificateId) {
    announceCertificate(deps, finalized.outcome.certificateId);
  }
  return finalized;
}

/** Closes an open attempt whose time is up, with what was saved. Returns whether it did. */
export async function finalizeIfExpired(
  deps: Deps,
  attempt: QuizAttempt | undefined,
  now = new Date(),
): Promise<boolean> {
  if (!attempt || attempt.status !== "in_progress") return false;
  if (withinDeadline(attempt.expiresAt, now)) return false;
  await finalize(deps, attempt.id, now, "deadline");
  return true;
}

/**
 * Submits an attempt: answers sent within the time are saved, then everything is marked. After the
 * deadline the answers sent now are ignored and the attempt is marked with what was saved. A
 * repeated submit returns the same result.
 */
export async function submitAttempt(
  deps: Deps,
  viewer: Actor,
  quizId: string,
  attemptId: string,
  answers: AnswerInput[],
): Promise<
  Finalized & {
    quiz: AttemptQuiz;
    program: AttemptProgram;
    lateAnswersIgnored: boolean;
  }
> {
  const { attempt, quiz, program } = await getAttempt(
    deps,
    viewer,
    attemptId,
    "write",
  );
  if (attempt.quizId !== quizId) throw notFound("Attempt");
  const now = new Date();
  const inTime = withinDeadline(attempt.expiresAt, now);
  if (attempt.status === "in_progress" && inTime) {
    checkAnswers(attempt, answers);
  }
  const result = await finalize(
    deps,
    attempt.id,
    now,
    inTime ? "submit" : "deadline",
    inTime ? answers : [],
    { attempt, quiz },
  );
  return {
    ...result,
    quiz,
    program,
    lateAnswersIgnored: !inTime && answers.length > 0,
  };
}

/** The periodic sweep: closes every attempt whose deadline (and grace) has passed. */
export async function finalizeExpiredAttempts(deps: Deps, now = new Date()) {
  const cutoff = new Date(now.getTime() - DEADLINE_GRACE_MS);
  const expired = await deps.db.select({ id: quizAttempts.id }).from(
    quizAttempts,
  )
    .where(and(
      eq(quizAttempts.status, "in_progress"),
      isNotNull(quizAttempts.expiresAt),
      lte(quizAttempts.expiresAt, cutoff),
    )).limit(500);
  for (const { id } of expired) await finalize(deps, id, now, "deadline");
  return expired.length;
}

/**
 * An instructor marks the essays of an attempt. When nothing is left to mark the attempt is
 * graded for good (pass, events, certificate); a graded attempt cannot be marked again.
 */
export async function gradeAttempt(
  deps: Deps,
  actor: Actor,
  attemptId: string,
  grades: {
    questionId: string;
    points: number;
    comment?: string | undefined;
  }[],
) {
  const { attempt, program } = await getAttempt(deps, actor, attemptId, "read");
  if (!isOwnerOrAdmin(actor, program)) throw notFound("Attempt");
  if (attempt.status !== "pending_review") {
    throw conflict(
      attempt.status === "in_progress"
        ? "ATTEMPT_NOT_SUBMITTED"
        : "ATTEMPT_ALREADY_GRADED",
      attempt.status === "in_progress"
        ? "This attempt has not been submitted yet"
        : "This attempt has been graded; its result is final",
    );
  }
  const rows = await answerRows(deps.db, attempt.id);
  const byId = new Map(rows.map((row) => [row.questionId, row]));
  const fields: Record<string, string> = {};
  grades.forEach((grade, index) => {
    const row = byId.get(grade.questionId);
    if (!row || row.outcome !== "pending") {
      fields[`grades.${index}.questionId`] =
        "Not a question waiting for a grade in this attempt";
    } else if (grade.points > row.maxPoints) {
      fields[`grades.${index}.points`] = `At most ${row.maxPoints} points`;
    }
  });
  if (Object.keys(fields).length > 0) throw validationFailed(fields);

  const result = await deps.db.transaction(async (tx) => {
    const [current] = await tx.select().from(quizAttempts).where(
      eq(quizAttempts.id, attempt.id),
    );
    if (current?.status !== "pending_review") {
      throw conflict(
        "ATTEMPT_ALREADY_GRADED",
        "This attempt has been graded; its result is final",
      );
    }
    for (const grade of grades) {
      const max = byId.get(grade.questionId)!.maxPoints;
      await tx.update(quizAttemptAnswers).set({
        awarded: round2(grade.points),
        outcome: grade.points >= max
          ? "correct"
          : grade.points > 0
          ? "partial"
          : "incorrect",
        graderComment: grade.comment ?? null,
      }).where(and(
        eq(quizAttemptAnswers.attemptId, attempt.id),
        eq(quizAttemptAnswers.questionId, grade.questionId),
      ));
    }
    const marked = await answerRows(tx, attempt.id);
    const stillPending = marked.some((row) => row.outcome === "pending");
    const score = round2(
      marked.reduce((sum, row) => sum + (row.awarded ?? 0), 0),
    );
    const total = current.totalPoints ?? 0;
    const percentage = total > 0 ? round2((score / total) * 100) : 100;
    const [quiz] = await tx.select().from(quizzes).where(
      eq(quizzes.id, attempt.quizId),
    );
    const update = {
      score,
      correctCount: marked.filter((row) => row.outcome === "correct").length,
      incorrectCount: marked.filter((row) =>
        row.outcome === "incorrect" || row.outcome === "partial" ||
        row.outcome === "unanswered"
      ).length,
      ...(stillPending ? {} : {
        status: "completed" as const,
        scorePercentage: percentage,
        passed: percentage >= quiz!.passingScore,
        gradedBy: actor.id === "cli" ? null : actor.id,
        gradedAt: new Date(),
      }),
    };
    await tx.update(quizAttempts).set(update).where(
      eq(quizAttempts.id, attempt.id),
    );
    const graded = { ...current, ...update };
    const outcome = stillPending
      ? null
      : await onAttemptGraded(tx, deps, graded, quiz!);
    return { attempt: graded, answers: marked, outcome, quiz: quiz! };
  });
  if (result.outcome?.certificateId) {
    announceCertificate(deps, result.outcome.certificateId);
  }
  return result;
}

/** Sets (or with multiplier 1, clears) a learner's extra time in a program. */
export async function setAccommodation(
  deps: Deps,
  actor: Actor,
  program: Program,
  input: { userId: string; timeMultiplier: number; note?: string | undefined },
) {
  const [user] = await deps.db.select({ id: users.id }).from(users).where(
    eq(users.id, input.userId),
  );
  if (!user) throw notFound("User");
  if (input.timeMultiplier === 1) {
    await deps.db.delete(accommodations).where(and(
      eq(accommodations.userId, input.userId),
      eq(accommodations.programId, program.id),
    ));
    return;
  }
  const row = {
    userId: input.userId,
    programId: program.id,
    timeMultiplier: input.timeMultiplier,
    note: input.note ?? null,
    setBy: actor.id === "cli" ? null : actor.id,
    updatedAt: new Date(),
  };
  await deps.db.insert(accommodations).values(row).onConflictDoUpdate({
    target: [accommodations.userId, accommodations.programId],
    set: {
      timeMultiplier: row.timeMultiplier,
      note: row.note,
      setBy: row.setBy,
      updatedAt: row.updatedAt,
    },
  });
}
