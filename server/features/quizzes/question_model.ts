import * as v from "valibot";

/**
 * The one shape every importer produces and the question bank stores. Weights are fractions of the
 * question's points (1 = full marks, 0.5 = half, -0.25 = a penalty); importers convert Moodle's
 * percentages (`%50%`, `<answer fraction="50">`) into them.
 */
export const QUESTION_TYPES = [
  "single_choice",
  "multiple_answers",
  "true_false",
  "short_answer",
  "numerical",
  "matching",
  "essay",
  "description",
] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

export const DIFFICULTIES = ["easy", "medium", "hard"] as const;
export type Difficulty = (typeof DIFFICULTIES)[number];

/** How question and feedback text is written; Moodle's `[moodle]` format is kept as such. */
export const TEXT_FORMATS = ["plain", "html", "markdown", "moodle"] as const;
export type TextFormat = (typeof TEXT_FORMATS)[number];

const text = (max: number) =>
  v.pipe(
    v.string("Must be a string"),
    v.maxLength(max, `At most ${max} characters`),
  );
const weight = v.pipe(
  v.number("Must be a number"),
  v.minValue(-1, "A weight is between -1 and 1"),
  v.maxValue(1, "A weight is between -1 and 1"),
);
const feedback = v.optional(text(10_000));

export const ChoiceSchema = v.object({
  text: text(10_000),
  weight,
  feedback,
});
export type Choice = v.InferOutput<typeof ChoiceSchema>;

export const ShortAnswerSchema = v.object({
  text: v.pipe(
    text(1000),
    v.minLength(1, "An accepted answer cannot be empty"),
  ),
  weight,
  feedback,
});

/** `value ± tolerance`, or a closed range `min..max`. */
export const NumericalAnswerSchema = v.variant("kind", [
  v.object({
    kind: v.literal("exact"),
    value: v.number("Must be a number"),
    tolerance: v.pipe(
      v.number(),
      v.minValue(0, "Tolerance cannot be negative"),
    ),
    weight,
    feedback,
  }),
  v.object({
    kind: v.literal("range"),
    min: v.number("Must be a number"),
    max: v.number("Must be a number"),
    weight,
    feedback,
  }),
]);
export type NumericalAnswer = v.InferOutput<typeof NumericalAnswerSchema>;

const common = {
  title: v.optional(text(255)),
  text: text(50_000),
  format: v.optional(v.picklist(TEXT_FORMATS), "plain"),
  /** A nested path as Moodle writes it: `Physics/Mechanics/Forces`. */
  category: v.optional(text(500)),
  difficulty: v.optional(
    v.picklist(DIFFICULTIES, "Must be easy, medium or hard"),
  ),
  points: v.optional(
    v.pipe(
      v.number(),
      v.minValue(0, "Points cannot be negative"),
      v.maxValue(1000),
    ),
    1,
  ),
  tags: v.optional(v.array(text(100)), []),
  generalFeedback: feedback,
  explanation: feedback,
};

/** The native JSON format: docs/question-bank.schema.json is generated from this. */
export const QuestionSchema = v.variant("type", [
  v.object({
    ...common,
    type: v.literal("single_choice"),
    choices: v.pipe(
      v.array(ChoiceSchema),
      v.minLength(2, "Needs at least two choices"),
    ),
  }),
  v.object({
    ...common,
    type: v.literal("multiple_answers"),
    choices: v.pipe(
      v.array(ChoiceSchema),
      v.minLength(2, "Needs at least two choices"),
    ),
  }),
  v.object({
    ...common,
    type: v.literal("true_false"),
    correct: v.boolean("Must be true or false"),
    /** Shown to a learner who answered right / wrong. */
    feedbackRight: feedback,
    feedbackWrong: feedback,
  }),
  v.object({
    ...common,
    type: v.literal("short_answer"),
    answers: v.pipe(
      v.array(ShortAnswerSchema),
      v.minLength(1, "Needs at least one accepted answer"),
    ),
    caseSensitive: v.optional(v.boolean(), false),
  }),
  v.object({
    ...common,
    type: v.literal("numerical"),
    answers: v.pipe(
      v.array(NumericalAnswerSchema),
      v.minLength(1, "Needs at least one answer"),
    ),
  }),
  v.object({
    ...common,
    type: v.literal("matching"),
    pairs: v.pipe(
      v.array(v.object({ left: text(1000), right: text(1000) })),
      v.minLength(2, "Needs at least two pairs"),
    ),
    /** Extra right-hand options that match nothing. */
    distractors: v.optional(v.array(text(1000)), []),
  }),
  v.object({ ...common, type: v.literal("essay") }),
  v.object({ ...common, type: v.literal("description") }),
]);
export type Question = v.InferOutput<typeof QuestionSchema>;
/** What an importer may leave out; `QuestionSchema` fills the defaults. */
export type DraftQuestion = v.InferInput<typeof QuestionSchema>;

/** Where something is in the source: `line 12` (GIFT, Aiken, CSV) or `question 3` (XML, JSON). */
export interface ImportIssue {
  location: string;
  message: string;
}

export interface ParsedQuestion {
  question: DraftQuestion;
  location: string;
}

/** What every importer returns: the questions it understood, and everything it did not. */
export interface ParseResult {
  questions: ParsedQuestion[];
  warnings: ImportIssue[];
  errors: ImportIssue[];
}

export const IMPORT_FORMATS = ["gift", "xml", "aiken", "csv", "json"] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** UTF-8 with or without a BOM, any line ends: what every parser receives. */
export const normalizeSource = (source: string): string =>
  source.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
