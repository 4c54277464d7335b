import type { AnswerOutcome } from "../../../db/schema/mod.ts";
import type { NumericalAnswer, Question } from "./question_model.ts";

/**
 * What a learner sends for one question (`selectedAnswer`), by type:
 * single choice and true/false the option's text (true/false also a boolean), multiple answers an
 * array of option texts, short answer and essay a string, numerical a number (or its text),
 * matching an object from each left-hand item to the chosen right-hand option.
 */
export type Response = unknown;

export interface QuestionScore {
  /** Share of the question's points earned, 0..1; null while an essay waits for a grader. */
  fraction: number | null;
  outcome: AnswerOutcome;
  /** Feedback written for what was chosen (per option, right/wrong, per accepted answer). */
  feedback: string[];
  /** The response reduced to one comparable string, for "most chosen wrong answer". */
  responseKey: string | null;
}

export const TRUE_LABEL = "True";
export const FALSE_LABEL = "False";

const EPSILON = 1e-9;
/**
 * Moodle writes thirds as 33.33333% and spreadsheets as 33.33%: weights within 0.01 percentage
 * points of 100% (what the importers accept as adding up) are full marks.
 */
const FULL_MARKS_TOLERANCE = 1e-4;
const clamp01 = (n: number) =>
  n >= 1 - FULL_MARKS_TOLERANCE ? 1 : Math.max(0, n);

function outcomeOf(fraction: number): AnswerOutcome {
  if (fraction >= 1) return "correct";
  if (fraction > EPSILON) return "partial";
  return "incorrect";
}

const isBlank = (response: Response) =>
  response === undefined || response === null ||
  (typeof response === "string" && response.trim() === "") ||
  (Array.isArray(response) && response.length === 0) ||
  (typeof response === "object" && !Array.isArray(response) &&
    Object.keys(response as object).length === 0);

const unanswered = (): QuestionScore => ({
  fraction: 0,
  outcome: "unanswered",
  feedback: [],
  responseKey: null,
});

const graded = (
  fraction: number,
  feedback: (string | undefined)[],
  responseKey: string | null,
): QuestionScore => {
  const bounded = clamp01(fraction);
  return {
    fraction: bounded,
    outcome: outcomeOf(bounded),
    feedback: feedback.filter((f): f is string => !!f),
    responseKey,
  };
};

/** Moodle's short-answer rule: trimmed, inner whitespace collapsed, `*` matches anything. */
export function shortAnswerMatches(
  pattern: string,
  given: string,
  caseSensitive: boolean,
): boolean {
  const tidy = (s: string) => s.trim().replace(/\s+/g, " ");
  const source = tidy(pattern).split("*").map((part) =>
    part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  ).join(".*");
  return new RegExp(`^${source}$`, caseSensitive ? "su" : "isu").test(
    tidy(given),
  );
}

export function numericalMatches(answer: NumericalAnswer, value: number) {
  if (answer.kind === "range") {
    return value >= answer.min - EPSILON && value <= answer.max + EPSILON;
  }
  return Math.abs(value - answer.value) <= answer.tolerance + EPSILON;
}

const DECIMAL_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/** A number as people type it: `3.14`, ` -2 `, `1e3`; not `3,14` (ambiguous), `0x10` nor `12abc`. */
export function parseNumber(response: Response): number | undefined {
  if (typeof response === "number") {
    return Number.isFinite(response) ? response : undefined;
  }
  if (typeof response !== "string") return undefined;
  const text = response.trim();
  if (!DECIMAL_NUMBER.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

export function trueFalseValue(response: Response): boolean | undefined {
  if (typeof response === "boolean") return response;
  if (typeof response !== "string") return undefined;
  const word = response.trim().toLowerCase();
  if (word === "true" || word === "t") return true;
  if (word === "false" || word === "f") return false;
  return undefined;
}

/** Marks one response against one question. Pure: the same inputs always give the same marks. */
export function scoreQuestion(
  question: Question,
  response: Response,
): QuestionScore {
  if (question.type === "description") {
    return {
      fraction: null,
      outcome: "ungraded",
      feedback: [],
      responseKey: null,
    };
  }
  if (isBlank(response)) return unanswered();

  switch (question.type) {
    case "single_choice": {
      const chosen = question.choices.find((c) => c.text === response);
      if (!chosen) return graded(0, [], String(response));
      return graded(chosen.weight, [chosen.feedback], chosen.text);
    }
    case "multiple_answers": {
      const picked = new Set(
        Array.isArray(response) ? response.map(String) : [String(response)],
      );
      const chosen = question.choices.filter((c) => picked.has(c.text));
      const total = chosen.reduce((sum, c) => sum + c.weight, 0);
      return graded(
        total,
        chosen.map((c) => c.feedback),
        chosen.map((c) => c.text).sort().join(" | "),
      );
    }
    case "true_false": {
      const value = trueFalseValue(response);
      if (value === undefined) return graded(0, [], String(response));
      const right = value === question.correct;
      return graded(
        right ? 1 : 0,
        [right ? question.feedbackRight : question.feedbackWrong],
        value ? TRUE_LABEL : FALSE_LABEL,
      );
    }
    case "short_answer": {
      const given = String(response);
      const best = question.answers
        .filter((a) =>
          shortAnswerMatches(a.text, given, question.caseSensitive)
        )
        .sort((a, b) => b.weight - a.weight)[0];
      const tidy = given.trim().replace(/\s+/g, " ");
      const key = question.caseSensitive ? tidy : tidy.toLowerCase();
      return graded(best?.weight ?? 0, [best?.feedback], key);
    }
    case "numerical": {
      const value = parseNumber(response);
      if (value === undefined) return graded(0, [], String(response).trim());
      const best = question.answers
        .filter((a) => numericalMatches(a, value))
        .sort((a, b) => b.weight - a.weight)[0];
      return graded(best?.weight ?? 0, [best?.feedback], String(value));
    }
    case "matching": {
      const given =
        (typeof response === "object" && response !== null
          ? response
          : {}) as Record<string, unknown>;
      const right =
        question.pairs.filter((pair) => given[pair.left] === pair.right).length;
      return graded(right / question.pairs.length, [], null);
    }
    case "essay":
      return {
        fraction: null,
        outcome: "pending",
        feedback: [],
        responseKey: null,
      };
  }
}

/** The right answer as a learner reads it in the review. */
export function correctAnswerOf(question: Question): unknown {
  switch (question.type) {
    case "single_choice": {
      const best = Math.max(...question.choices.map((c) => c.weight));
      return question.choices.find((c) => c.weight === best)?.text ?? null;
    }
    case "multiple_answers":
      return question.choices.filter((c) => c.weight > 0).map((c) => c.text);
    case "true_false":
      return question.correct ? TRUE_LABEL : FALSE_LABEL;
    case "short_answer":
      return [...question.answers].sort((a, b) => b.weight - a.weight)[0]
        ?.text ?? null;
    case "numerical": {
      const best = [...question.answers].sort((a, b) => b.weight - a.weight)[0];
      if (!best) return null;
      return best.kind === "range"
        ? `${best.min}..${best.max}`
        : best.tolerance > 0
        ? `${best.value} ± ${best.tolerance}`
        : best.value;
    }
    case "matching":
      return Object.fromEntries(question.pairs.map((p) => [p.left, p.right]));
    case "essay":
    case "description":
      return null;
  }
}

/** Whether a question carries marks (description items are text only). */
export const isMarked = (question: Question) => question.type !== "description";
