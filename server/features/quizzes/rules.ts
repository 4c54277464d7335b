import type { Quiz } from "../../../db/schema/mod.ts";

/** An answer saved or submitted this long after `expiresAt` still counts (network latency). */
export const DEADLINE_GRACE_MS = 5_000;

/** A counted attempt as the rules see it: an exam attempt that has finished. */
export interface FinishedAttempt {
  startedAt: Date;
  submittedAt: Date;
  /** Null while an essay waits for a grader. */
  scorePercentage: number | null;
}

export type RetakeDecision =
  | { allowed: true; attemptsRemaining: number | null }
  | {
    allowed: false;
    code: "RETAKE_NOT_ALLOWED" | "ATTEMPTS_EXHAUSTED" | "QUIZ_COOLDOWN";
    message: string;
    retryAt?: Date;
  };

/** Counted attempts left (null: no limit), whatever a cooldown says about when. */
export function attemptsRemaining(
  quiz: Pick<Quiz, "allowRetake" | "attemptsAllowed">,
  used: number,
): number | null {
  const limit = quiz.allowRetake ? quiz.attemptsAllowed : 1;
  return limit === null ? null : Math.max(0, limit - used);
}

/** Whether a learner may start another counted attempt, from the attempts they have finished. */
export function retakeDecision(
  quiz: Pick<Quiz, "allowRetake" | "attemptsAllowed" | "cooldownMinutes">,
  finished: FinishedAttempt[],
  now: Date,
): RetakeDecision {
  const used = finished.length;
  const limit = quiz.allowRetake ? quiz.attemptsAllowed : 1;
  if (used > 0 && !quiz.allowRetake) {
    return {
      allowed: false,
      code: "RETAKE_NOT_ALLOWED",
      message: "This quiz can be taken once, and you have taken it",
    };
  }
  if (limit !== null && used >= limit) {
    return {
      allowed: false,
      code: "ATTEMPTS_EXHAUSTED",
      message: `You have used all ${limit} attempts at this quiz`,
    };
  }
  const last = finished.reduce<Date | null>(
    (latest, a) => (!latest || a.submittedAt > latest ? a.submittedAt : latest),
    null,
  );
  if (last && quiz.cooldownMinutes > 0) {
    const retryAt = new Date(last.getTime() + quiz.cooldownMinutes * 60_000);
    if (retryAt > now) {
      return {
        allowed: false,
        code: "QUIZ_COOLDOWN",
        message: `You can try this quiz again at ${retryAt.toISOString()}`,
        retryAt,
      };
    }
  }
  return {
    allowed: true,
    attemptsRemaining: limit === null ? null : limit - used,
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * The quiz grade from the graded attempts, by the quiz's method (Moodle's "grading method").
 * Attempts waiting for a grader do not count yet. Null when nothing is graded.
 */
export function finalGrade(
  method: Quiz["gradingMethod"],
  finished: FinishedAttempt[],
): number | null {
  const graded = finished.filter((a) => a.scorePercentage !== null)
    .sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
  if (graded.length === 0) return null;
  const scores = graded.map((a) => a.scorePercentage!);
  switch (method) {
    case "highest":
      return Math.max(...scores);
    case "latest":
      return scores[scores.length - 1]!;
    case "first":
      return scores[0]!;
    case "average":
      return round2(scores.reduce((sum, s) => sum + s, 0) / scores.length);
  }
}

/** The time limit in milliseconds for a learner, after their accommodation; null when untimed. */
export function timeLimitMs(
  quiz: Pick<Quiz, "isTimed" | "durationMinutes">,
  multiplier: number,
): number | null {
  if (!quiz.isTimed || quiz.durationMinutes === null) return null;
  return Math.round(quiz.durationMinutes * 60_000 * multiplier);
}

/** Whether a save or submit at `now` is still inside the attempt's time (with the grace period). */
export const withinDeadline = (expiresAt: Date | null, now: Date) =>
  expiresAt === null ||
  now.getTime() <= expiresAt.getTime() + DEADLINE_GRACE_MS;
