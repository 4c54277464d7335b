import { sql } from "drizzle-orm";
import type { DbOrTx, Tx } from "../../../db/client.ts";
import type { Quiz, QuizAttempt } from "../../../db/schema/mod.ts";
import { recordEvent, recordEventOnce } from "../events/record.ts";
import { type IssueDeps, issueIfEarned } from "../certificates/issue.ts";
import { finalGrade, type FinishedAttempt } from "./rules.ts";

export interface GradedOutcome {
  /** The quiz grade by the quiz's grading method, after this attempt. */
  finalGrade: number | null;
  /** True the first time the learner's final grade reaches the passing score. */
  passedNow: boolean;
  certificateId: string | null;
}

/**
 * The learner's finished exam attempts at a quiz, as the grading rules read them. Plain SQL (it runs
 * on every start and in every grading transaction); the values are mapped as drizzle maps them.
 */
export async function finishedAttempts(
  tx: Pick<DbOrTx, "all">,
  userId: string,
  quizId: string,
): Promise<FinishedAttempt[]> {
  const rows = await tx.all<{
    started_at: number;
    submitted_at: number | null;
    score_percentage: number | null;
    status: string;
  }>(
    sql`select "started_at", "submitted_at", "score_percentage", "status" from "quiz_attempts" where "user_id" = ${userId} and "quiz_id" = ${quizId} and "mode" = 'exam' and "status" <> 'in_progress'`,
  );
  return rows.map((row) => {
    const startedAt = new Date(row.started_at);
    return {
      startedAt,
      submittedAt: row.submitted_at === null
        ? startedAt
        : new Date(row.submitted_at),
      scorePercentage: row.status === "completed" ? row.score_percentage : null,
    };
  });
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
  quiz: Pick<
    Quiz,
    "id" | "passingScore" | "gradingMethod" | "certificateRole"
  >,
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
  // Recorded only if the learner has no `quiz.passed` for this quiz yet (one statement).
  const passed = await recordEventOnce(tx, "quiz.passed", {
    userId: attempt.userId,
    programId: attempt.programId,
    subjectId: quiz.id,
    payload: { attemptId: attempt.id, finalGrade: grade },
  });
  if (passed === null) {
    return { finalGrade: grade, passedNow: false, certificateId: null };
  }
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
