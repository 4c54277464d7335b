import { type SQL, sql } from "drizzle-orm";
import type { Tx } from "../../../db/client.ts";
import { executeRaw } from "../../../db/raw.ts";
import type { QuizAttempt, QuizAttemptAnswer } from "../../../db/schema/mod.ts";
import { maxPointsOf, snapshotQuestion } from "./snapshot.ts";

/**
 * An attempt's answer rows, stored one per question from its start. Saving and grading read and
 * write them here, in as few statements as possible: a quiz submit is the busiest write there is.
 */

export interface AnswerInput {
  questionId: string;
  selectedAnswer?: unknown;
}

/** A REAL column through `quote()`: the text reads back as the same double (JSON keeps 15 digits). */
const quotedReal = (text: string) => text === "NULL" ? null : Number(text);

/**
 * An attempt's answer rows, in order, as one JSON value (one value to return instead of ten per
 * row), for `answersFromJson`.
 */
export const answerRowsJson = (attemptId: string): SQL =>
  sql`(select json_group_array(json_array("question_id", "position", "response", "response_key", "saved_at", quote("awarded"), quote("max_points"), "outcome", "grader_comment") order by "position") from "quiz_attempt_answers" where "attempt_id" = ${attemptId})`;

/** The rows of `answerRowsJson`, mapped as drizzle maps these columns (JSON text parsed, ms to Date). */
export function answersFromJson(
  attemptId: string,
  json: string,
): QuizAttemptAnswer[] {
  const rows = JSON.parse(json) as [
    string,
    number,
    string | null,
    string | null,
    number | null,
    string,
    string,
    QuizAttemptAnswer["outcome"],
    string | null,
  ][];
  return rows.map((
    [
      questionId,
      position,
      response,
      responseKey,
      savedAt,
      awarded,
      max,
      outcome,
      graderComment,
    ],
  ) => ({
    attemptId,
    questionId,
    position,
    response: response === null ? null : JSON.parse(response),
    responseKey,
    savedAt: savedAt === null ? null : new Date(savedAt),
    awarded: quotedReal(awarded),
    maxPoints: quotedReal(max)!,
    outcome,
    graderComment,
  }));
}

/** The attempt's answer rows, in order, read inside a grading or saving transaction. */
export async function answerRowsIn(
  tx: Tx,
  attemptId: string,
): Promise<QuizAttemptAnswer[]> {
  const result = await tx.get<{ rows: string }>(
    sql`select ${answerRowsJson(attemptId)} as "rows"`,
  );
  return answersFromJson(attemptId, result.rows);
}

/** Rows per statement: 10 parameters each, far below SQLite's limit of 32,766. */
const ROWS_PER_STATEMENT = 100;
const ROW_PLACEHOLDERS = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/**
 * Writes answer rows: an upsert over rows that exist since the start, up to 100 rows per statement
 * (a submit is a handful of statements, not one per question). Values go in as drizzle would store
 * them: the response as JSON text, the time in milliseconds.
 */
export async function writeAnswerRows(
  tx: Tx,
  attemptId: string,
  rows: QuizAttemptAnswer[],
) {
  for (let from = 0; from < rows.length; from += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(from, from + ROWS_PER_STATEMENT);
    await executeRaw(
      tx,
      `insert into "quiz_attempt_answers" ("attempt_id", "question_id", "position", "max_points", "response", "saved_at", "awarded", "outcome", "response_key", "grader_comment") values ${
        Array(chunk.length).fill(ROW_PLACEHOLDERS).join(", ")
      } on conflict ("attempt_id", "question_id") do update set "response" = excluded."response", "saved_at" = excluded."saved_at", "awarded" = excluded."awarded", "outcome" = excluded."outcome", "response_key" = excluded."response_key"`,
      chunk.flatMap((row) => [
        attemptId,
        row.questionId,
        row.position,
        row.maxPoints,
        row.response === null ? null : JSON.stringify(row.response),
        row.savedAt?.getTime() ?? null,
        row.awarded,
        row.outcome,
        row.responseKey,
        row.graderComment,
      ]),
    );
  }
}

/** The attempt's rows with these answers applied (in memory). */
export function withAnswers(
  rows: QuizAttemptAnswer[],
  answers: AnswerInput[],
  now: Date,
): QuizAttemptAnswer[] {
  const given = new Map(answers.map((a) => [a.questionId, a.selectedAnswer]));
  return rows.map((row) =>
    given.has(row.questionId)
      ? { ...row, response: given.get(row.questionId) ?? null, savedAt: now }
      : row
  );
}

/**
 * The rows of an open attempt once `answers` are applied, without reading them, when `answers`
 * covers every question: nothing saved before then shows (each row's response and time are the new
 * ones, and an open attempt has no marks yet). Undefined when some question is left out.
 */
export function rowsFromAnswers(
  attempt: Pick<QuizAttempt, "id" | "snapshot">,
  answers: AnswerInput[],
  now: Date,
): QuizAttemptAnswer[] | undefined {
  if (answers.length < attempt.snapshot.length) return undefined;
  const given = new Map(answers.map((a) => [a.questionId, a.selectedAnswer]));
  if (!attempt.snapshot.every((snap) => given.has(snap.id))) return undefined;
  return attempt.snapshot.map((snap, position) => ({
    attemptId: attempt.id,
    questionId: snap.id,
    position,
    response: given.get(snap.id) ?? null,
    responseKey: null,
    savedAt: now,
    awarded: null,
    maxPoints: maxPointsOf(snapshotQuestion(snap)),
    outcome: null,
    graderComment: null,
  }));
}
