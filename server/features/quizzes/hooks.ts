import { and, eq, ne } from "drizzle-orm";
import type { Tx } from "../../../db/client.ts";
import {
  events,
  type Quiz,
  type QuizAttempt,
  quizAttempts,
} from "../../../db/schema/mod.ts";
import { recordEvent } from "../events/record.ts";
import { type IssueDeps, issueIfEarned } from "../certificates/issue.ts";
import { finalGrade, type FinishedAttempt } from "./rules.ts";

export interface GradedOutcome {
  /** The quiz grade by the quiz's grading method, after this attempt. */
  finalGrade: number | null;
  /** True the first time the learner's final grade reaches the passing score. */
  passedNow: boolean;
  certificateId: string | null;
}

/** The learner's finished exam attempts at a quiz, as the grading rules read them. */
export async function finishedAttempts(
  tx: Pick<Tx, "select">,
  userId: string,
  quizId: string,
): Promise<FinishedAttempt[]> {
  const rows = await tx.select({
    startedAt: quizAttempts.startedAt,
    submittedAt: quizAttempts.submittedAt,
    scorePercentage: quizAttempts.scorePercentage,
    status: quizAttempts.status,
  }).from(quizAttempts).where(and(
    eq(quizAttempts.userId, userId),
    eq(quizAttempts.quizId, quizId),
    eq(quizAttempts.mode, "exam"),
    ne(quizAttempts.status, "in_progress"),
  ));
  return rows.map((row) => ({
    startedAt: row.startedAt,
    submittedAt: row.submittedAt ?? row.startedAt,
    scorePercentage: row.status === "completed" ? row.scorePercentage : null,
  }));
}

/**
 * Runs inside the transaction that grades an attempt (on submit, at the deadline, or when an
 * essay is marked). Appends `quiz.attempted`, and `quiz.passed` once per learner and quiz when the
 * final grade first reaches the passing score: the certificate rule reacts to that record, in the
 * same transaction (issueIfEarned), so a pass and the certificate it earns commit together.
 */
export async function onAttemptGraded(
  tx: Tx,
  deps: IssueDeps,
  attempt: QuizAttempt,
  quiz: Quiz,
): Promise<GradedOutcome> {
  await recordEvent(tx, "quiz.attempted", {
    userId: attempt.userId,
    programId: attempt.programId,
    subjectId: attempt.id,
    payload: {
      quizId: quiz.id,
      mode: attempt.mode,
      scorePercentage: attempt.scorePercentage,
      passed: attempt.passed,
    },
  });
  if (attempt.mode !== "exam") {
    return { finalGrade: null, passedNow: false, certificateId: null };
  }
  const grade = finalGrade(
    quiz.gradingMethod,
    await finishedAttempts(tx, attempt.userId, quiz.id),
  );
  if (grade === null || grade < quiz.passingScore) {
    return { finalGrade: grade, passedNow: false, certificateId: null };
  }
  const [already] = await tx.select({ id: events.id }).from(events).where(and(
    eq(events.type, "quiz.passed"),
    eq(events.userId, attempt.userId),
    eq(events.subjectId, quiz.id),
  )).limit(1);
  if (already) {
    return { finalGrade: grade, passedNow: false, certificateId: null };
  }
  await recordEvent(tx, "quiz.passed", {
    userId: attempt.userId,
    programId: attempt.programId,
    subjectId: quiz.id,
    payload: { attemptId: attempt.id, finalGrade: grade },
  });
  // Completion rules only ever involve final or required quizzes (and lessons).
  const issued = quiz.certificateRole === "none"
    ? undefined
    : await issueIfEarned(
      tx,
      deps,
      attempt.userId,
      attempt.programId,
      {
        quizAttemptId: attempt.id,
        score: quiz.certificateRole === "final" ? grade : null,
      },
    );
  return {
    finalGrade: grade,
    passedNow: true,
    certificateId: issued?.created ? issued.certificate.id : null,
  };
}
