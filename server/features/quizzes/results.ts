import { and, count, desc, eq, inArray, ne, sql } from "drizzle-orm";
import type { Db } from "../../../db/client.ts";
import type { Deps } from "../../deps.ts";
import {
  type Program,
  questions,
  type Quiz,
  type QuizAttempt,
  type QuizAttemptAnswer,
  quizAttemptAnswers,
  quizAttempts,
  users,
} from "../../../db/schema/mod.ts";
import { offsetOf, type PageRequest } from "../../lib/pagination.ts";
import { isOwnerOrAdmin } from "../access/service.ts";
import type { Actor } from "../programs/service.ts";
import { finalizeIfExpired } from "./attempts.ts";
import { finishedAttempts } from "./hooks.ts";
import { attemptsRemaining, finalGrade, retakeDecision } from "./rules.ts";
import { correctAnswerOf, scoreQuestion } from "./scoring.ts";
import { getVisibleQuiz } from "./service.ts";
import { snapshotQuestion, toAttemptQuestion } from "./snapshot.ts";

/** The attempt while it runs: questions in the order shown, and what has been saved. */
export function inProgressView(
  attempt: QuizAttempt,
  answers: QuizAttemptAnswer[],
  resumed: boolean,
) {
  return {
    attemptId: attempt.id,
    quizId: attempt.quizId,
    mode: attempt.mode,
    status: attempt.status,
    resumed,
    questions: attempt.snapshot.map(toAttemptQuestion),
    answers: answers.filter((row) => row.response !== null).map((row) => ({
      questionId: row.questionId,
      selectedAnswer: row.response,
    })),
    startedAt: attempt.startedAt.toISOString(),
    expiresAt: attempt.expiresAt?.toISOString() ?? null,
    timeLimitSeconds: attempt.expiresAt
      ? Math.round(
        (attempt.expiresAt.getTime() - attempt.startedAt.getTime()) / 1000,
      )
      : null,
    timeMultiplier: attempt.timeMultiplier,
    serverTime: new Date().toISOString(),
  };
}

/**
 * 002's result shape. Per-question feedback (right answers, explanations) only when the quiz's
 * review setting allows it, or for the program's owner and admins.
 */
export function resultView(
  attempt: QuizAttempt,
  answers: QuizAttemptAnswer[],
  reviewAllowed: boolean,
  certificateId: string | null = null,
) {
  const byId = new Map(answers.map((row) => [row.questionId, row]));
  const marked = answers.filter((row) => row.outcome !== "ungraded");
  const feedback = reviewAllowed
    ? attempt.snapshot.flatMap((snap) => {
      const question = snapshotQuestion(snap);
      const row = byId.get(snap.id);
      if (!row || row.outcome === "ungraded") return [];
      const chosen = scoreQuestion(question, row.response ?? null).feedback;
      return [{
        questionId: snap.id,
        isCorrect: row.outcome === "correct",
        outcome: row.outcome ?? "pending",
        points: row.awarded,
        maxPoints: row.maxPoints,
        selectedAnswer: row.response ?? null,
        correctAnswer: correctAnswerOf(question),
        ...(question.explanation ? { explanation: question.explanation } : {}),
        ...(chosen.length > 0 ? { feedback: chosen } : {}),
        ...(question.generalFeedback
          ? { generalFeedback: question.generalFeedback }
          : {}),
        ...(row.graderComment ? { graderComment: row.graderComment } : {}),
      }];
    })
    : [];
  return {
    attemptId: attempt.id,
    quizId: attempt.quizId,
    mode: attempt.mode,
    status: attempt.status,
    score: attempt.score,
    totalPoints: attempt.totalPoints ?? 0,
    scorePercentage: attempt.scorePercentage,
    passed: attempt.passed,
    correctAnswers: marked.filter((row) => row.outcome === "correct").length,
    incorrectAnswers:
      marked.filter((row) =>
        row.outcome === "incorrect" || row.outcome === "partial" ||
        row.outcome === "unanswered"
      ).length,
    pendingReview: marked.filter((row) => row.outcome === "pending").length,
    timeTaken: attempt.timeTakenSeconds ?? 0,
    finishedBy: attempt.finishedBy,
    reviewAvailable: reviewAllowed,
    feedback,
    certificateGenerated: certificateId !== null,
    certificateId,
  };
}

export const reviewAllowedFor = (
  viewer: Actor,
  quiz: Pick<Quiz, "showAnswersAfterSubmit">,
  program: Pick<Program, "instructorId">,
) => quiz.showAnswersAfterSubmit || isOwnerOrAdmin(viewer, program);

/** Where a learner stands on a quiz: grade by the quiz's method, attempts left, when the next may start. */
export async function learnerStanding(db: Db, userId: string, quiz: Quiz) {
  const finished = await finishedAttempts(db, userId, quiz.id);
  const decision = retakeDecision(quiz, finished, new Date());
  const grade = finalGrade(quiz.gradingMethod, finished);
  const [open] = await db.select({ id: quizAttempts.id }).from(quizAttempts)
    .where(and(
      eq(quizAttempts.userId, userId),
      eq(quizAttempts.quizId, quiz.id),
      eq(quizAttempts.status, "in_progress"),
    ));
  return {
    gradingMethod: quiz.gradingMethod,
    finalGrade: grade,
    passed: grade === null ? null : grade >= quiz.passingScore,
    attemptsUsed: finished.length,
    attemptsRemaining: attemptsRemaining(quiz, finished.length),
    canStart: decision.allowed,
    nextAttemptAt: !decision.allowed && decision.retryAt
      ? decision.retryAt.toISOString()
      : null,
    openAttemptId: open?.id ?? null,
  };
}

const attemptSummary = (
  attempt: QuizAttempt,
  quizTitle: string,
  user?: { id: string; name: string; email: string },
) => ({
  id: attempt.id,
  quizId: attempt.quizId,
  quizTitle,
  mode: attempt.mode,
  status: attempt.status,
  score: attempt.score,
  totalPoints: attempt.totalPoints,
  scorePercentage: attempt.scorePercentage,
  passed: attempt.passed,
  attemptedAt: attempt.startedAt.toISOString(),
  submittedAt: attempt.submittedAt?.toISOString() ?? null,
  timeTaken: attempt.timeTakenSeconds,
  finishedBy: attempt.finishedBy,
  ...(user ? { user } : {}),
});

/**
 * Per question, over the finished exam attempts: how many answered it, % fully correct, the
 * average share of its points, and the wrong answer chosen most often. All SQL aggregates.
 */
export async function questionStats(db: Db, quizId: string) {
  const finished = and(
    eq(quizAttempts.quizId, quizId),
    eq(quizAttempts.mode, "exam"),
    ne(quizAttempts.status, "in_progress"),
    ne(quizAttemptAnswers.outcome, "ungraded"),
  );
  const totals = await db.select({
    questionId: quizAttemptAnswers.questionId,
    title: questions.title,
    text: questions.text,
    answered: count(),
    correct: sql<
      number
    >`sum(CASE WHEN ${quizAttemptAnswers.outcome} = 'correct' THEN 1 ELSE 0 END)`,
    averageShare: sql<
      number | null
    >`avg(CASE WHEN ${quizAttemptAnswers.maxPoints} > 0 AND ${quizAttemptAnswers.awarded} IS NOT NULL THEN ${quizAttemptAnswers.awarded} / ${quizAttemptAnswers.maxPoints} END)`,
  }).from(quizAttemptAnswers)
    .innerJoin(quizAttempts, eq(quizAttempts.id, quizAttemptAnswers.attemptId))
    .leftJoin(questions, eq(questions.id, quizAttemptAnswers.questionId))
    .where(finished)
    .groupBy(quizAttemptAnswers.questionId);
  const wrong = await db.select({
    questionId: quizAttemptAnswers.questionId,
    answer: quizAttemptAnswers.responseKey,
    times: count(),
  }).from(quizAttemptAnswers)
    .innerJoin(quizAttempts, eq(quizAttempts.id, quizAttemptAnswers.attemptId))
    .where(and(
      finished,
      inArray(quizAttemptAnswers.outcome, ["incorrect", "partial"]),
      sql`${quizAttemptAnswers.responseKey} IS NOT NULL`,
    ))
    .groupBy(quizAttemptAnswers.questionId, quizAttemptAnswers.responseKey)
    .orderBy(desc(count()), quizAttemptAnswers.responseKey);
  const mostWrong = new Map<string, { answer: string; count: number }>();
  for (const row of wrong) {
    if (!mostWrong.has(row.questionId) && row.answer !== null) {
      mostWrong.set(row.questionId, { answer: row.answer, count: row.times });
    }
  }
  return totals.map((row) => ({
    questionId: row.questionId,
    title: row.title ?? row.text?.slice(0, 80) ?? null,
    answered: row.answered,
    percentCorrect: row.answered > 0
      ? Math.round((Number(row.correct) / row.answered) * 10_000) / 100
      : 0,
    averageScore: row.averageShare === null
      ? null
      : Math.round(Number(row.averageShare) * 10_000) / 100,
    mostChosenWrongAnswer: mostWrong.get(row.questionId) ?? null,
  }));
}

/**
 * A quiz's attempts: the learner's own; the program's owner and admins see everyone's (optionally
 * one learner's or one status, e.g. `pending_review` for essays to mark) with per-question statistics.
 */
export async function listAttempts(
  deps: Deps,
  viewer: Actor,
  quizId: string,
  filter: { userId?: string; status?: QuizAttempt["status"] },
  page: PageRequest,
) {
  const { quiz, program } = await getVisibleQuiz(deps, viewer, quizId);
  const [open] = await deps.db.select().from(quizAttempts).where(and(
    eq(quizAttempts.userId, viewer.id),
    eq(quizAttempts.quizId, quiz.id),
    eq(quizAttempts.status, "in_progress"),
  ));
  await finalizeIfExpired(deps, open);
  const staff = isOwnerOrAdmin(viewer, program);
  const conditions = [eq(quizAttempts.quizId, quiz.id)];
  if (!staff) conditions.push(eq(quizAttempts.userId, viewer.id));
  else if (filter.userId) {
    conditions.push(eq(quizAttempts.userId, filter.userId));
  }
  if (filter.status) conditions.push(eq(quizAttempts.status, filter.status));
  const where = and(...conditions);
  const [rows, [total]] = await Promise.all([
    deps.db.select({
      attempt: quizAttempts,
      user: { id: users.id, name: users.name, email: users.email },
    }).from(quizAttempts).innerJoin(users, eq(users.id, quizAttempts.userId))
      .where(where).orderBy(desc(quizAttempts.startedAt), desc(quizAttempts.id))
      .limit(page.limit).offset(offsetOf(page)),
    deps.db.select({ n: count() }).from(quizAttempts).where(where),
  ]);
  return {
    attempts: rows.map((row) =>
      attemptSummary(row.attempt, quiz.title, staff ? row.user : undefined)
    ),
    total: total?.n ?? 0,
    standing: await learnerStanding(deps.db, viewer.id, quiz),
    ...(staff ? { questionStats: await questionStats(deps.db, quiz.id) } : {}),
  };
}
