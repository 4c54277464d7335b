import type {
  QuestionRow,
  Quiz,
  SnapshotQuestion,
} from "../../../db/schema/mod.ts";
import { rowToQuestion } from "./bank.ts";
import type { Question } from "./question_model.ts";
import { CONTRACT_TYPE_NAMES } from "./schemas.ts";
import {
  FALSE_LABEL,
  parseNumber,
  TRUE_LABEL,
  trueFalseValue,
} from "./scoring.ts";

/** Fisher-Yates with the platform CSPRNG: learners cannot predict the order from earlier attempts. */
export function shuffle<T>(items: readonly T[]): T[] {
  const out = [...items];
  const random = new Uint32Array(out.length);
  crypto.getRandomValues(random);
  for (let i = out.length - 1; i > 0; i--) {
    const j = random[i]! % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The questions and option orders an attempt shows, fixed at its start. */
export function buildSnapshot(
  rows: QuestionRow[],
  quiz: Pick<Quiz, "shuffleQuestions" | "shuffleOptions">,
): SnapshotQuestion[] {
  const ordered = quiz.shuffleQuestions ? shuffle(rows) : rows;
  return ordered.map((row) => {
    const question = rowToQuestion(row);
    const snap: SnapshotQuestion = { id: row.id, question };
    if (
      question.type === "single_choice" || question.type === "multiple_answers"
    ) {
      const order = range(question.choices.length);
      snap.optionOrder = quiz.shuffleOptions ? shuffle(order) : order;
    }
    if (question.type === "matching") {
      // Always shuffled: in pair order the right-hand column would give the answers away.
      snap.matchOptions = shuffle([
        ...new Set([
          ...question.pairs.map((p) => p.right),
          ...question.distractors,
        ]),
      ]);
    }
    return snap;
  });
}

export const snapshotQuestion = (snap: SnapshotQuestion) =>
  snap.question as unknown as Question;

/** Points a question is worth in an attempt; description items carry none. */
export const maxPointsOf = (question: Question) =>
  question.type === "description" ? 0 : question.points;

/** The options a learner picks from, in the order this attempt shows them. */
export function optionsOf(snap: SnapshotQuestion): string[] | undefined {
  const question = snapshotQuestion(snap);
  switch (question.type) {
    case "single_choice":
    case "multiple_answers":
      return (snap.optionOrder ?? range(question.choices.length)).map((i) =>
        question.choices[i]!.text
      );
    case "true_false":
      return [TRUE_LABEL, FALSE_LABEL];
    case "matching":
      return snap.matchOptions;
    default:
      return undefined;
  }
}

/** A question as the learner sees it during the attempt: 002's shape, no answers. */
export function toAttemptQuestion(snap: SnapshotQuestion) {
  const question = snapshotQuestion(snap);
  const options = optionsOf(snap);
  return {
    id: snap.id,
    questionText: question.text,
    questionType: CONTRACT_TYPE_NAMES[question.type],
    format: question.format,
    title: question.title ?? null,
    ...(options ? { options } : {}),
    ...(question.type === "matching"
      ? { prompts: question.pairs.map((p) => p.left) }
      : {}),
    points: maxPointsOf(question),
  };
}

const MAX_TEXT = { short_answer: 1_000, essay: 50_000 } as const;

/** Why a response does not fit its question (undefined when it does). Null clears an answer. */
export function responseProblem(
  snap: SnapshotQuestion,
  response: unknown,
): string | undefined {
  if (response === null) return undefined;
  const question = snapshotQuestion(snap);
  const options = optionsOf(snap) ?? [];
  switch (question.type) {
    case "single_choice":
      return typeof response === "string" && options.includes(response)
        ? undefined
        : "Must be the text of one of the options";
    case "multiple_answers":
      return Array.isArray(response) &&
          response.every((r) => typeof r === "string" && options.includes(r)) &&
          new Set(response).size === response.length
        ? undefined
        : "Must be a list of distinct option texts";
    case "true_false":
      return trueFalseValue(response) === undefined
        ? "Must be true or false"
        : undefined;
    case "short_answer":
    case "essay":
      return typeof response === "string" &&
          response.length <= MAX_TEXT[question.type]
        ? undefined
        : `Must be text of at most ${MAX_TEXT[question.type]} characters`;
    case "numerical":
      return parseNumber(response) === undefined
        ? "Must be a number"
        : undefined;
    case "matching": {
      if (
        typeof response !== "object" || Array.isArray(response)
      ) return "Must be an object from each prompt to one of the options";
      const prompts = new Set(question.pairs.map((p) => p.left));
      for (const [left, right] of Object.entries(response)) {
        if (!prompts.has(left)) return `"${left}" is not one of the prompts`;
        if (typeof right !== "string" || !options.includes(right)) {
          return `The match for "${left}" must be one of the options`;
        }
      }
      return undefined;
    }
    case "description":
      return "This item takes no answer";
  }
}
